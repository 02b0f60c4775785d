"""``write_report`` on small fixed logs: the cost section, the wall_s column and cost.json
against hand sums, and a log written before costs were recorded."""

import json
import shutil
from pathlib import Path

import pytest

from n3fit_gpu.outputs.scan_report import cost_summary
from n3fit_gpu.scan.report import write_report

ROOT = Path(__file__).resolve().parents[2]
V1_LOG = ROOT / "tests" / "search" / "data" / "trials_v1.jsonl"  # 3 trials, trial 1 failed
COSTS = {
    0: {"wall_s": 1800.0, "cpu_s": 3600.0, "device_s": 3600.0, "device": "cpu",
        "replica_epochs": 100, "energy_j": 1.8e6, "energy_sources": ["rapl:package-0"]},
    2: {"wall_s": 5400.0, "cpu_s": 900.0, "device_s": 5400.0, "device": "Fake GPU",
        "replica_epochs": 40, "energy_j": None, "energy_sources": [], "shared_with": 2},
}  # fmt: skip


def scan_folder(folder: Path, costs: dict[int, dict]) -> Path:
    """A scan folder of the shipped scan runcard and the committed log, ``costs`` added."""
    folder.mkdir()
    shutil.copy(ROOT / "runcards" / "hyperscan.yml", folder / "hyperscan.yml")
    meta = {"runcard": "hyperscan.yml", "runcard_sha256": "-", "seed": 0}
    (folder / "scan.json").write_text(json.dumps(meta))
    lines = []
    for line in V1_LOG.read_text().splitlines():
        doc = json.loads(line)
        doc["params"] = {"epochs": 1000 + doc["tid"]}  # a point of this runcard's space
        if doc["tid"] in costs:
            doc["result"]["cost"] = costs[doc["tid"]]
        lines.append(json.dumps(doc))
    (folder / "tries.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_report_totals_equal_the_hand_sum(tmp_path):
    root = scan_folder(tmp_path / "scan", COSTS)
    text = write_report(root)
    report = json.loads((root / "report" / "cost.json").read_text())
    assert [(t["tid"], t["loss"], t["cost"]) for t in report["trials"]] == [
        (0, 4.5, COSTS[0]),
        (1, None, None),
        (2, pytest.approx(1.899183), COSTS[2]),
    ]
    assert report["totals"] == {
        "trials": 3,
        "trials_without_cost": 1,
        "wall_s": 7200.0,
        "cpu_s": 4500.0,
        "device_s": 9000.0,
        "replica_epochs": 140,
        "devices": ["Fake GPU", "cpu"],
        "energy_j": 1.8e6,
        "trials_without_energy": 1,
        "energy_sources": ["rapl:package-0"],
    }
    lines = (root / "report" / "best_trials.txt").read_text().splitlines()
    assert lines[0].split() == ["rank", "trial", "loss", "folds", "stopped", "wall_s", "epochs"]
    assert lines[2].split()[:6] == ["1", "2", "1.899", "2", "-", "5400"]
    assert "stopped or failed: 1 fail (no reason recorded) of 3 trials" in lines
    assert text.splitlines() == lines
    summary = "\n".join(lines[lines.index("") + 1 :])
    assert "cost of 2 trials (1 more without a cost record)" in summary
    assert "wall            2 h" in summary and "cpu             1.25 h" in summary
    assert "device          2.5 h on Fake GPU, cpu" in summary
    assert "replica-epochs  140" in summary
    assert "energy          0.5 kWh\n                  from rapl:package-0" in summary
    assert "trials without a reading: 1" in summary
    assert "RAPL counts the whole CPU package" in summary


def test_report_of_a_log_without_costs(tmp_path):
    root = scan_folder(tmp_path / "scan", {})
    write_report(root)
    lines = (root / "report" / "best_trials.txt").read_text().splitlines()
    assert "wall_s" not in lines[0]
    assert lines[-1] == "cost: none of the 3 trials has a cost record (logged before costs were)"
    totals = json.loads((root / "report" / "cost.json").read_text())["totals"]
    assert totals["trials_without_cost"] == 3 and totals["energy_j"] is None
    assert (root / "report" / "best_runcard.yml").is_file()


def test_cost_summary_without_energy():
    docs = [{"tid": 0, "result": {"status": "ok", "loss": 1.0, "cost": COSTS[2]}}]
    assert cost_summary(docs).splitlines()[-1] == (
        "  energy          not readable where the trials ran (no RAPL/NVML access)"
    )
