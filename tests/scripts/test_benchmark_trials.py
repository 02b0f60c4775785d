"""scripts/benchmark_trials.py runs end to end in a reduced form (so it cannot rot)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import PATIENCE

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "benchmark_trials.py"


@pytest.mark.slow
def test_reduced_trials_benchmark_reports_both_parts(tmp_path):
    out = tmp_path / "trials.json"
    cmd = [sys.executable, str(SCRIPT), "--trials", "3", "--per-model", "3", "--replicas", "1"]
    cmd += ["--min-epochs", "100", "--max-epochs", "200", "--rung", "100", "--bootstrap", "0"]
    cmd += ["--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PATIENCE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    one, three = report["stacked"]
    assert (one["trials_per_model"], three["trials_per_model"]) == (1, 3)
    assert one["trials_per_hour"] > 0 and three["speedup"] > 0
    assert len(one["losses"]) == len(three["losses"]) == 3
    full, rungs = report["early_termination"]["full"], report["early_termination"]["rungs"]
    assert full == three  # the K=3 scan of part (a) is reused
    # bootstrap 0, eta 3: a trial behind the best recorded at the 100-epoch rung stops
    assert rungs["stopped_by_rungs"] >= 1
    assert rungs["replica_epochs"] < full["replica_epochs"]
    assert "trials/h" in proc.stdout and "stopped at a rung" in proc.stdout
