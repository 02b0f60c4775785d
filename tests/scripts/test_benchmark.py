"""scripts/benchmark.py runs end to end in a reduced form (so it cannot rot)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import PATIENCE

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "benchmark.py"


@pytest.mark.slow
def test_reduced_benchmark_reports_rates_and_ratios(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(SCRIPT), "--replicas", "1", "2", "--epochs", "20"]
    cmd += ["--backends", "tensorflow", "--separate-max", "2", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PATIENCE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    rows = {(r["mode"], r["replicas"]): r for r in report["rows"]}
    assert set(rows) == {("stacked", 1), ("stacked", 2), ("separate", 2)}
    for row in rows.values():
        assert "error" not in row, row
        assert row["replica_epochs_per_s"] > 0 and row["peak_rss_mb"] > 0
    (ratio,) = report["ratios"]
    assert ratio["stacked_over_sequential"] > 0 and ratio["stacked_over_separate"] > 0
    assert "rep-epochs/s" in proc.stdout


@pytest.mark.slow
def test_benchmark_runs_on_jax_without_tensorflow(tmp_path, jax_only_env):
    """As on our GPU machines (JAX, no TensorFlow): rows, the device's name, no error."""
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(SCRIPT), "--replicas", "1", "2", "--epochs", "20"]
    cmd += ["--backends", "jax", "--separate-max", "1", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PATIENCE, env=jax_only_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    assert [(r["backend"], r["replicas"]) for r in rows] == [("jax", 1), ("jax", 2)]
    for row in rows:
        assert "error" not in row, row
        assert row["device"].split(":")[0] in ("cpu", "gpu") and row["replica_epochs_per_s"] > 0


@pytest.mark.slow
def test_nnpdf40_problem_is_benchmarked_as_the_runcard_problems_are(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(SCRIPT), "--problem", "nnpdf40", "--replicas", "2"]
    cmd += ["--epochs", "3", "--backends", "jax", "--separate-max", "1", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PATIENCE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = json.loads(out.read_text())["rows"]
    assert "error" not in row, row
    assert row["problem"] == "nnpdf40" and 4500 <= row["points"] <= 4800
    assert row["replica_epochs_per_s"] > 0 and row["peak_rss_mb"] > 0


def test_ratios_skip_a_configuration_that_timed_nothing():
    """A reference that timed no epoch (rate 0) gives no ratio instead of dividing by zero."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from benchmark import _ratios
    finally:
        sys.path.remove(str(SCRIPT.parent))
    rows = [
        {"backend": "jax", "mode": "stacked", "replicas": 1, "replica_epochs_per_s": 100.0},
        {"backend": "jax", "mode": "stacked", "replicas": 10, "replica_epochs_per_s": 800.0},
        {"backend": "tensorflow", "mode": "n3fit", "replicas": 10, "replica_epochs_per_s": 0.0},
    ]
    (ratio,) = _ratios(rows)
    assert ratio == {"backend": "jax", "replicas": 10, "stacked_over_sequential": 8.0}
