"""Each serving benchmark's `--quick` smoke run exits 0 and prints its table with targets (no timings asserted:
the figures depend on the machine). The rebuild and encoder benchmarks are not run here (minutes each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {  # script: a target its table must state
    "startup": "≤ 1.3x floor and ≤ 5 s",
    "query": "≤ 1.5x floor and ≤ 10 ms",
    "rest": "≤ floor + 5 ms",
    "load": "≥ 100/s",
    "browser": "≤ 1 s",
}


@pytest.mark.slow
@pytest.mark.parametrize("script", [
    pytest.param(name, marks=[pytest.mark.browser] if name == "browser" else []) for name in SCRIPTS])
def test_quick_run_prints_figure_floor_ratio_target_table(script):
    if script == "browser" and not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium: bench/browser.py needs Debian's chromium")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{script}.py"), "--quick"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    header = next((line for line in done.stdout.splitlines() if line.startswith("| figure")), None)
    assert header is not None, done.stdout
    assert [cell.strip() for cell in header.strip("|").split("|")][:5] == [
        "figure", "measured", "floor (same run)", "ratio", "target"]
    assert SCRIPTS[script] in done.stdout, done.stdout


@pytest.mark.slow
def test_scale_small_run_prints_its_table_with_the_targets():
    """bench/scale.py end to end on one small size: build, a fresh measuring process, the table."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"), "--sizes", "2000", "--questions", "12"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("2,000 | Flat"))
    assert "mapped)" in row and row.count(" ms") >= 4, row
    assert "target (1M) |  |  | ≤ 30 s | ≤ 5 s | ≤ 4 GB" in done.stdout, done.stdout


@pytest.mark.slow
def test_models_small_run_sets_mpnet_beside_the_default_model(mpnet_folder):
    """bench/models.py end to end on a few documents: both models measured, the default one as the floor."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "models.py"), "--docs", "64", "--repeats", "1"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| figure" in done.stdout and "MiniLM (floor)" in done.stdout, done.stdout
    dimension = next(line for line in done.stdout.splitlines() if line.startswith("| dimension"))
    assert [cell.strip() for cell in dimension.strip("|").split("|")][1:] == ["384.0", "768.0", "2.00"], dimension
    assert "throughput, 64 bundled summaries" in done.stdout, done.stdout
