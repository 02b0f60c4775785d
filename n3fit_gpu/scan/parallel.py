"""``hyperscan RUNCARD --workers K``: K local worker processes on one scan.

The parent process does not import keras: it checks the runcard, creates (or checks) the
scan folder, starts K processes of ``hyperscan run RUNCARD --worker --worker-id <host>-<pid>-<i>``
(each one worker, exactly as a batch system starts them; output in ``workers/<id>.log``),
shows one progress bar over the finished trials, and waits. Ctrl-C stops them all.

Each worker loads the data and the backend itself, so K workers cost K times the memory of
one; on a GPU machine run one worker per GPU (e.g. with a job array), not K on one GPU.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.scan.layout import CLAIMS_NAME, LOG_NAME, WORKERS_NAME, prepare_scan_folder
from n3fit_gpu.scan.space import check_scannable
from n3fit_gpu.search.local import run_local_workers
from n3fit_gpu.search.store import TrialLog

# the `hyperscan` entry point (`python -m n3fit_gpu.cli.hyperscan` warns: the package imports it)
_MAIN = "from n3fit_gpu.cli.hyperscan import main; main(prog_name='hyperscan')"


def worker_command(
    runcard_path: Path,
    output: Path,
    trials: int,
    seed: int,
    lease: float,
    worker_id: str,
    backend: str | None = None,
    theory_path: Path | None = None,
    trials_per_model: int = 1,
) -> list[str]:
    """The command line of one worker of the scan (absolute paths, no progress bars)."""
    command = [sys.executable, "-c", _MAIN, "run"]
    command += [str(Path(runcard_path).absolute()), "--trials", str(trials)]
    command += ["--output", str(Path(output).absolute()), "--seed", str(seed)]
    command += ["--lease", repr(float(lease)), "--worker", "--worker-id", worker_id, "--quiet"]
    command += ["--trials-per-model", str(trials_per_model)]
    if backend is not None:
        command += ["--backend", backend]
    if theory_path is not None:
        command += ["--theory", str(Path(theory_path).absolute())]
    return command


def run_local_scan(
    card: RunCard,
    runcard_path: Path,
    output: Path,
    trials: int,
    seed: int,
    workers: int,
    lease: float,
    backend: str | None = None,
    show_progress: bool = True,
    theory_path: Path | None = None,
    trials_per_model: int = 1,
) -> Path:
    """Run (or resume) the scan with ``workers`` local processes; returns the scan folder."""
    check_scannable(card, Path(runcard_path))
    root = prepare_scan_folder(Path(runcard_path), Path(output), seed)
    base = f"{socket.gethostname()}-{os.getpid()}"
    commands = {
        f"{base}-{i}": worker_command(
            runcard_path,
            output,
            trials,
            seed,
            lease,
            f"{base}-{i}",
            backend,
            theory_path,
            trials_per_model,
        )
        for i in range(workers)
    }
    log = TrialLog(root / LOG_NAME)
    run_local_workers(commands, log, trials, root / WORKERS_NAME, progress=show_progress,
                      claims_folder=root / CLAIMS_NAME)  # fmt: skip
    return root
