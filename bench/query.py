"""Query: warm `Retriever.search` p50/p95 on the eval questions beside the bare encode of the same questions.

    python bench/query.py [--repeats 3] [--quick] [--index DIR]

Floor: `retriever.encoder.encode([question])`, the retriever's own encoder on the same questions. Encoding the
question is the one step a search cannot skip; the ratio is what parsing, FAISS, BM25, fusion and citing add.
Target: search p50 ≤ 1.5× the bare encode and ≤ 10 ms on the bundled corpus. Then (informational) torch
(sentence-transformers, `rag.index.encoders.sentence_transformer.Encoder`) against ONNX
(`rag.index.encoders.onnx_runtime.OnnxEncoder`) encode p50
side by side; torch is imported only there, after the retriever's figures.

The 100,000-document run with uniformly random vectors that this script used to make is gone: scale is issue
10's benchmark (random vectors say little about real neighbourhoods).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.served_app import Row, ensure_index, ms, percentile, print_table, question_passes, timed  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args, asked, repeats = question_passes(__doc__, argv)

    from rag import Retriever

    index = ensure_index(args.index)
    retriever = Retriever.load(index)
    encoder_name = type(retriever.encoder).__name__
    print(f"encoder in the retriever: {encoder_name}; torch imported: {'torch' in sys.modules}")
    times = timed({"search": retriever.search, "encode": lambda q: retriever.encoder.encode([q])}, asked, repeats)
    search, encode = times["search"], times["encode"]
    s50, s95, e50 = percentile(search, 0.5), percentile(search, 0.95), percentile(encode, 0.5)
    ratio = s50 / e50
    rows = [Row("Retriever.search p50", ms(s50), f"{ms(e50)} (encode p50)", f"{ratio:.2f}x",
                "≤ 1.5x floor and ≤ 10 ms", ratio <= 1.5 and s50 <= 0.010),
            Row("Retriever.search p95", ms(s95), f"{ms(percentile(encode, 0.95))} (encode p95)",
                f"{s95 / percentile(encode, 0.95):.2f}x")]

    # torch vs ONNX, informational; torch enters the process only here.
    from rag.errors import RagError
    from rag.index.encoders.onnx_export import onnx_model_for
    from rag.index.encoders.onnx_runtime import OnnxEncoder
    from rag.index.encoders.sentence_transformer import Encoder
    from rag.settings import Settings

    settings = Settings.from_env()
    model = settings.model
    torch_encoder = Encoder(model, model_cache=settings.model_cache)
    try:
        onnx_encoder = OnnxEncoder(onnx_model_for(model, settings.onnx_cache, model_cache=settings.model_cache),
                                   threads=settings.encoder_threads).load()
    except RagError as exc:  # informational: say why, keep the retriever's figures
        t50 = percentile(timed({"torch": lambda q: torch_encoder.encode([q])}, asked, repeats)["torch"], 0.5)
        rows.append(Row("ONNX encode p50 (OnnxEncoder)", f"unavailable: {exc.line()}", f"{ms(t50)} (torch)"))
    else:
        times = timed({"torch": lambda q: torch_encoder.encode([q]), "onnx": lambda q: onnx_encoder.encode([q])},
                      asked, repeats)
        t50, o50 = percentile(times["torch"], 0.5), percentile(times["onnx"], 0.5)
        rows.append(Row("ONNX encode p50 (OnnxEncoder)", ms(o50), f"{ms(t50)} (torch Encoder)",
                        f"{o50 / t50:.2f}x"))
    print_table(f"Query: {len(asked)} eval questions x {repeats}, warm, bundled corpus (index {index})", rows,
                notes=(f"floor: the same questions encoded by the retriever's own encoder ({encoder_name}).",
                       f"torch vs ONNX: model {model}, each encoder at its default threads."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
