"""A scan worker on a cheap toy objective (a quadratic and a short sleep), for the tests that
start, kill and restart worker processes::

    python tests/search/toy_worker.py SCAN_FOLDER --trials 24 --worker-id w0 --lease 2 --sleep 0.5

The scan folder holds ``tries.jsonl`` and ``claims/``, as a real scan folder does.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from n3fit_gpu.search.kfold import FoldResult, KFoldSettings, TrialResult, run_folds
from n3fit_gpu.search.space import LogUniform, Uniform
from n3fit_gpu.search.store import TrialLog
from n3fit_gpu.search.worker import WorkerSettings, run_worker


def toy_space(label: str = "x") -> dict:
    """A two-dimensional space; ``label`` names the first dimension (to tell scans apart)."""
    return {label: Uniform(-2.0, 2.0), "learning_rate": LogUniform(1e-4, 1.0)}


def toy_objective(label: str = "x", sleep: float = 0.0):
    """``point -> TrialResult``: loss ``x^2 + (log10 lr + 2)^2`` on one fold, after ``sleep`` s."""

    def objective(point: dict) -> TrialResult:
        time.sleep(sleep)
        loss = point[label] ** 2 + (math.log10(point["learning_rate"]) + 2) ** 2
        fold = FoldResult(np.array([loss]), phi2=0.1, penalties={}, replica_epochs=1)
        return run_folds(lambda k: fold, 1, KFoldSettings(threshold=1e9))

    return objective


def run_toy_worker(folder: Path, trials: int, settings: WorkerSettings, label: str = "x",
                   sleep: float = 0.0, seed: int = 0) -> list[dict]:  # fmt: skip
    """One toy worker on the scan in ``folder``."""
    log = TrialLog(folder / "tries.jsonl")
    objective = toy_objective(label, sleep)
    return run_worker(
        toy_space(label),
        objective,
        log,
        folder / "claims",
        trials,
        seed,
        settings,
        n_startup_jobs=5,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--label", default="x")
    args = parser.parse_args()
    settings = WorkerSettings(args.worker_id, lease=args.lease)
    run_toy_worker(args.folder, args.trials, settings, args.label, args.sleep)


if __name__ == "__main__":
    main()
