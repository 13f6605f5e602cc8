"""Rebuild at scale benchmark: `python bench/resume.py [--before CHECKOUT]` prints, on 5,000 synthetic documents,

- a full rebuild through the CLI, then one SIGKILLed half-way (by wall time) and resumed: the resumed run's
  time against the full run's (the ratio; 0.5 plus fixed costs if nothing embedded were lost);
- bytes written (`wchar` of /proc/self/io: every write call, fsync'd files included) by a one-document change,
  a FAISS type change and a BM25 setting change, with this checkout and, given --before, with another one
  (e.g. /work/main, without hard links) on the same index.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rebuild import _change_one_record  # noqa: E402
from bench.synthetic import write_synthetic  # noqa: E402
from rag.index.encoders.onnx_export import onnx_model_for  # noqa: E402
from rag.settings import Settings  # noqa: E402

SYNTHETIC = 5000
# The CLI in a new interpreter that reports its own write counters on exit (stderr, last line).
_CLI = ("import sys\nfrom embeddings.rebuild import main\nrc = main(sys.argv[1:])\n"
        "io = dict(line.split(': ') for line in open('/proc/self/io').read().split('\\n') if line)\n"
        "print('IO', io['wchar'], io['write_bytes'], file=sys.stderr)\nsys.exit(rc)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="another checkout to compare bytes written with")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    settings = Settings.from_env()
    # the one-time export is not part of any figure
    onnx_model_for(settings.model, settings.onnx_cache, model_cache=settings.model_cache)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "corpus").mkdir()
        write_synthetic(work / "corpus" / "synthetic.jsonl", SYNTHETIC)
        full, _ = _rebuild(work, ROOT)
        print(f"full rebuild, {SYNTHETIC} documents, CLI: {full:.1f} s")
        _remove_index(work)
        process = subprocess.Popen(_command(work, ROOT), cwd=work, env=_env(ROOT), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(full / 2)
        process.send_signal(signal.SIGKILL)
        process.wait()
        kept = len(list((work / "index.work").glob("*.json")))
        resumed, output = _rebuild(work, ROOT, quiet=False)
        line = next(line for line in output.splitlines() if line.startswith("full rebuild"))
        print(f"killed at {full / 2:.1f} s ({kept} chunks kept), resumed run: {resumed:.1f} s, "
              f"ratio to the full run {resumed / full:.2f}\n  {line}")
        for label, checkout in (("this checkout", ROOT), ("--before", args.before)):
            if checkout is not None:
                _bytes(work, checkout, label)


def _bytes(work: Path, checkout: Path, label: str) -> None:
    """Bytes written by three kinds of rebuild, run by `checkout`'s code on the same index."""
    _change_one_record(work / "corpus" / "synthetic.jsonl", seed=int(time.time()) % 1000)
    one = _rebuild(work, checkout)[1]
    retype = _rebuild(work, checkout, "--index-type", "HNSW32")[1]
    bm25 = _rebuild(work, checkout, env={"RAG_BM25_B": str(0.3 + (time.time() % 1) / 10)})[1]
    _rebuild(work, checkout, "--index-type", "Flat")  # back, for the next checkout
    size = sum(f.stat().st_size for f in (work / "index").resolve().rglob("*") if f.is_file())
    print(f"bytes written ({label}: {checkout}); index {size / 1e6:.1f} MB")
    for name, io in (("one document changed", one), ("FAISS type Flat -> HNSW32", retype),
                     ("BM25 b changed", bm25)):
        wchar, disk = _io(io)
        print(f"  {name:26} {wchar / 1e6:7.1f} MB written ({disk / 1e6:7.1f} MB reached the block layer)")


def _rebuild(work: Path, checkout: Path, *args: str, quiet: bool = True, env: dict | None = None
             ) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(_command(work, checkout, *args, *(("--quiet",) if quiet else ())), cwd=work,
                            env={**_env(checkout), **(env or {})}, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout + result.stderr


def _command(work: Path, checkout: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", _CLI, "--corpus", str(work / "corpus"), "--out", str(work / "index"), *args]


def _env(checkout: Path) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("RAG_")}, "PYTHONPATH": str(checkout)}


def _io(output: str) -> tuple[int, int]:
    line = next(line for line in reversed(output.splitlines()) if line.startswith("IO "))
    wchar, disk = line.split()[1:]
    return int(wchar), int(disk)


def _remove_index(work: Path) -> None:
    for item in work.iterdir():
        if item.name.startswith("index"):
            shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()


if __name__ == "__main__":
    main()
