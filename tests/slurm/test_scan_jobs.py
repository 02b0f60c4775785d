"""``submit_scan.sh`` on a real (local) SLURM: a tiny scan (3 replicas, 2 folds, ≤ 60 epochs)
of 4 trials shared by 2 workers of a job array, then the report job."""

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.slurm.helpers import ROOT, job_logs, submit, wait

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
TRIALS, WORKERS = 4, 2


def tiny_scan_card(folder: Path) -> Path:
    """The shipped scan runcard made tiny (as ``tests/cli/test_hyperscan.py`` does)."""
    replacements = {
        "replicas:": "replicas: 3",
        "  stopping:": "  stopping: {min_epochs: 30, max_epochs: 60, min_patience: 0.1, "
        "max_patience: 0.3}",
        "  threshold:": "  threshold: 1.0e+9",  # 60 epochs fit badly: train every fold anyway
        # ... and reach no acceptable epoch (positivity, chi2 < 10), which fails a trial
        "  positivity: {initial": "  positivity: {initial: 184.8, multiplier: null, "
        "threshold: 1.0e+9}",
        "  threshold_chi2:": "  threshold_chi2: 1.0e+9",
    }
    lines, partitions = [], 0
    for line in (ROOT / "runcards" / "hyperscan.yml").read_text().splitlines():
        partitions += line.startswith("  - datasets:")
        if partitions > 2 and line.startswith("  - datasets:"):
            continue  # 2 folds
        key = next((k for k in replacements if line.startswith(k)), None)
        lines.append(line if key is None else replacements[key])
    path = folder / "tinyscan.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_scan_workers_then_report(slurm_env, tmp_path):
    tiny_scan_card(tmp_path)
    args = ["tinyscan.yml", TRIALS, WORKERS, "out"]
    jobs = submit("submit_scan.sh", args, slurm_env, cwd=tmp_path)
    assert set(jobs) == {"array", "report"}, jobs
    out = tmp_path / "out"
    seconds = wait(list(jobs.values()), slurm_env, logs=out)
    print(f"scan workers + report: {seconds:.0f} s")
    logs = job_logs(out)
    for task in range(WORKERS):
        assert (out / f"slurm-{jobs['array']}_{task}.out").is_file(), logs
    scan = out / "tinyscan"
    lines = (scan / "tries.jsonl").read_text().splitlines() if scan.exists() else []
    records = [json.loads(line) for line in lines if line.strip()]  # every line is whole JSON
    tids = Counter(r["tid"] for r in records if "tid" in r and "result" in r)
    assert len(tids) == TRIALS and set(tids.values()) == {1}, f"trials: {tids}\n{logs}"
    for name in ("best_trials.txt", "best_runcard.yml"):
        assert (scan / "report" / name).is_file(), logs
