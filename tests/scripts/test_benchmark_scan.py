"""scripts/benchmark_scan.py runs end to end in a reduced form (so it cannot rot)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import PATIENCE

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "benchmark_scan.py"
REDUCED = [
    "--workers", "3", "--trials-per-worker", "2", "--trial-seconds", "0.01", "0.02",
    "--store-sizes", "5", "20", "--cycles", "2", "--other-claims", "2", "--tpe-repeats", "1",
    "--sim-workers", "8", "--sim-trials-per-worker", "2",
]  # fmt: skip


@pytest.mark.slow
def test_reduced_scan_benchmark_reports_every_part(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *REDUCED, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert [row["sampler"] for row in report["utilization"]] == ["random", "tpe"]
    for row in report["utilization"]:
        assert row["trials"] == 6 and row["duplicates"] == 0 and 0 < row["utilization"] <= 1
    sizes = [row["trials_in_store"] for row in report["store_overhead"]]
    assert sizes == [5, 20] and report["store_flatness"] >= 1
    for row in report["store_overhead"]:
        for key in ("read_ms", "claim_ms", "append_ms", "store_ms", "tpe_suggest_ms"):
            assert row[key] > 0
    sim = report["simulation"]
    assert sim["workers"] == 8 and sim["trials"] == sim["finished_in_log"] == 16
    assert 0 < sim["implied_utilization"] <= 1 and sim["store_ms_per_trial"] > 0
    assert "(c) simulated workers" in proc.stdout
