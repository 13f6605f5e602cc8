"""Rebuild benchmark: `python bench/rebuild.py` prints, each figure beside a floor measured in the same run:

- full-rebuild embedding throughput, ONNX against sentence-transformers (torch), on the bundled corpus and on
  5,000 synthetic documents (target: ONNX >= torch), with each encoder's bare `encode` as its floor;
- one document changed, through the CLI in a new interpreter (target <= 3 s), on a 71-document corpus and on
  the 5,000; floor: a new interpreter that loads the ONNX model and encodes one text;
- no-op rebuild through the CLI (target < 1.5 s); floor: a new interpreter that only starts.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import synthetic_records, write_synthetic  # noqa: E402
from rag.documents.corpus import load_corpus  # noqa: E402
from rag.index.build import rebuild  # noqa: E402
from rag.index.encoders.choose import choose  # noqa: E402
from rag.index.encoders.onnx_export import onnx_model_for  # noqa: E402
from rag.index.encoders.onnx_runtime import OnnxEncoder  # noqa: E402
from rag.index.encoders.sentence_transformer import Encoder  # noqa: E402
from rag.settings import Settings  # noqa: E402

SYNTHETIC = 5000
SMALL = 71  # the bundled 20 documents and 51 synthetic ones: the corpus size issue 9 timed one change on
RUNS = 5  # CLI runs per figure (median)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they are measured
    settings = Settings.from_env()
    started = time.perf_counter()
    folder = onnx_model_for(settings.model, settings.onnx_cache, model_cache=settings.model_cache)
    print(f"ONNX model {folder} ready in {time.perf_counter() - started:.1f} s (export + check only the first time)")
    onnx_encoder = choose(settings).encoder  # the ONNX encoder as the rebuild makes it (threads: all cores)
    torch_encoder, onnx_encoder = Encoder(settings.model, model_cache=settings.model_cache), onnx_encoder.load()
    torch_encoder.encode(["warm up"]), onnx_encoder.encode(["warm up"])
    floors = {"start": _median(lambda: _run([sys.executable, "-c", "pass"])),
              "encode one": _median(lambda: _run([sys.executable, "-c",
                                                  "from rag.index.encoders.onnx_runtime import OnnxEncoder; "
                                                  f"OnnxEncoder({str(folder)!r}, threads={settings.encoder_threads})"
                                                  ".encode(['one changed document'])"]))}
    print(f"floors: interpreter start {floors['start']:.2f} s; new interpreter + ONNX load + encode one text "
          f"{floors['encode one']:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        bundled = Path(tmp) / "bundled"
        shutil.copytree(ROOT / "corpus", bundled / "corpus")
        throughput("bundled corpus", bundled, torch_encoder, onnx_encoder)

        small = Path(tmp) / "small"
        shutil.copytree(ROOT / "corpus", small / "corpus")
        count = SMALL - len(load_corpus(small / "corpus"))
        write_synthetic(small / "corpus" / "synthetic.jsonl", count)
        cli_times(f"{SMALL}-document corpus (bundled + {count} synthetic)", small, floors)

        synthetic = Path(tmp) / "synthetic"
        (synthetic / "corpus").mkdir(parents=True)
        write_synthetic(synthetic / "corpus" / "synthetic.jsonl", SYNTHETIC)
        throughput(f"synthetic corpus ({SYNTHETIC} documents)", synthetic, torch_encoder, onnx_encoder)
        cli_times(f"synthetic corpus ({SYNTHETIC} documents)", synthetic, floors)


def throughput(label: str, work: Path, torch_encoder: Encoder, onnx_encoder: OnnxEncoder) -> None:
    """Full rebuilds with each encoder (embedding time only, as the summary reports it) beside bare encodes."""
    settings = Settings.from_env(corpus_dir=work / "corpus", index_dir=work / "index")
    texts = [d.embedding_text for d in load_corpus(settings.corpus_dir).documents]
    print(f"{label}:")
    rates = {}
    for name, encoder in (("torch", torch_encoder), ("onnx", onnx_encoder)):
        started = time.perf_counter()
        encoder.encode(texts)
        bare = len(texts) / (time.perf_counter() - started)
        report = rebuild(settings, full=True, encoder=encoder, progress=False)
        rates[name] = report.embedded / report.embed_seconds
        print(f"  {name:5} full rebuild: embedding {rates[name]:7.1f} docs/s (whole rebuild "
              f"{len(texts) / report.seconds:7.1f} docs/s); floor: bare encode {bare:7.1f} docs/s, "
              f"ratio {rates[name] / bare:.2f}")
    print(f"  ONNX / torch embedding throughput: {rates['onnx'] / rates['torch']:.2f} (target >= 1.0)")


def cli_times(label: str, work: Path, floors: dict[str, float]) -> None:
    """One changed document and a no-op, each through `python -m embeddings.rebuild` in a new interpreter,
    on an index the CLI built (with the encoder it chooses: ONNX when verified)."""
    settings = Settings.from_env(corpus_dir=work / "corpus", index_dir=work / "index")
    _cli(settings)  # builds the index when there is none (the throughput runs left one)
    path = next(settings.corpus_dir.glob("*.jsonl"))
    changed = []
    for revision in range(RUNS):
        _change_one_record(path, seed=revision + 1)
        changed.append(_cli(settings))
    noop = [_cli(settings) for _ in range(RUNS)]
    one, none = statistics.median(changed), statistics.median(noop)
    print(f"{label}:")
    print(f"  one document changed, CLI {one:5.2f} s median of {RUNS}; floor {floors['encode one']:.2f} s, "
          f"ratio {one / floors['encode one']:.2f} (target <= 3 s)")
    print(f"  no-op rebuild, CLI        {none:5.2f} s median of {RUNS}; floor {floors['start']:.2f} s, "
          f"ratio {none / floors['start']:.2f} (target < 1.5 s)")


def _cli(settings: Settings, *args: str) -> float:
    return _run([sys.executable, "-m", "embeddings.rebuild", "--quiet", "--corpus", str(settings.corpus_dir),
                 "--out", str(settings.index_dir), *args])


def _run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - started


def _median(measure) -> float:
    return statistics.median(measure() for _ in range(RUNS))


def _change_one_record(path: Path, seed: int = 1) -> None:
    """Rewrite the summary of record 17 (same id: the id depends on collection, date and title)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    replacement = synthetic_records(1, seed=seed)[0].get("summary") or "A corrected summary."
    record = json.loads(lines[17])
    record["summary"] = replacement + f" (revision {seed})"
    lines[17] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
