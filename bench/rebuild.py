"""Rebuild benchmark: `python bench/rebuild.py` prints full-rebuild throughput against bare
SentenceTransformer.encode (target ratio >= 0.9), no-op wall time including interpreter start (target
< 1.5 s) and one-document-changed time, on the bundled corpus and on 5,000 synthetic documents."""

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
from rag.index.encoder import Encoder  # noqa: E402
from rag.settings import Settings  # noqa: E402

SYNTHETIC = 5000
NOOP_RUNS = 5


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they are measured
    encoder = Encoder()
    encoder.encode(["warm up"])
    with tempfile.TemporaryDirectory() as tmp:
        bundled = Path(tmp) / "bundled"
        shutil.copytree(ROOT / "corpus", bundled / "corpus")
        measure("bundled corpus", bundled, encoder)
        synthetic = Path(tmp) / "synthetic"
        (synthetic / "corpus").mkdir(parents=True)
        write_synthetic(synthetic / "corpus" / "synthetic.jsonl", SYNTHETIC)
        measure(f"synthetic corpus ({SYNTHETIC} documents)", synthetic, encoder, change_one=True)


def measure(label: str, work: Path, encoder: Encoder, change_one: bool = False) -> None:
    settings = Settings(corpus_dir=work / "corpus", index_dir=work / "index")
    texts = [d.embedding_text for d in load_corpus(settings.corpus_dir).documents]

    started = time.perf_counter()
    encoder.model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
    bare = len(texts) / (time.perf_counter() - started)
    report = rebuild(settings, full=True, encoder=encoder, progress=False)
    full = len(texts) / report.seconds
    print(f"{label}:")
    print(f"  bare SentenceTransformer.encode  {bare:8.1f} docs/s")
    print(f"  full rebuild (parse+embed+write) {full:8.1f} docs/s   ratio {full / bare:.2f} (target >= 0.9)")

    noop = [_cli_seconds(settings) for _ in range(NOOP_RUNS)]
    print(f"  no-op rebuild, new interpreter   {statistics.median(noop):8.2f} s median of {NOOP_RUNS} "
          "(target < 1.5 s)")
    if change_one:
        _change_one_record(settings.corpus_dir / "synthetic.jsonl")
        runs = [_cli_seconds(settings)]
        _change_one_record(settings.corpus_dir / "synthetic.jsonl", seed=2)
        inproc = rebuild(settings, encoder=encoder, progress=False)
        assert (inproc.changed, inproc.added, inproc.removed) == (1, 0, 0), inproc
        print(f"  one document changed, CLI        {runs[0]:8.2f} s (new interpreter, includes loading the model)")
        print(f"  one document changed, in-process {inproc.seconds:8.2f} s (model already loaded)")


def _cli_seconds(settings: Settings) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "embeddings.rebuild", "--quiet", "--corpus", str(settings.corpus_dir),
                    "--out", str(settings.index_dir)], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - started


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
