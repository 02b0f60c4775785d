"""Submitting the shipped job scripts and waiting for them without accounting (no sacct):
``squeue -h -j`` lists a job until it has ended."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "slurm"
CLUSTER = SCRIPTS / "local_cluster.sh"
CLUSTER_DIR = Path("/tmp/n3fit-slurm")


def submit(script: str, args: list, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Run ``scripts/slurm/<script> args`` in ``cwd``; the job ids it prints, by kind
    (``{"array": "12", "collect": "13"}``)."""
    result = subprocess.run(
        [str(SCRIPTS / script), *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}{result.stderr}"
    return dict(re.findall(r"^(\w+) job: (\d+)", result.stdout, re.MULTILINE))


def active(jobs: list[str], env: dict[str, str]) -> list[str]:
    """The lines of ``squeue`` for those of ``jobs`` still pending or running."""
    result = subprocess.run(
        ["squeue", "-h", "-j", ",".join(jobs), "-o", "%i %T %r"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if result.returncode != 0 and "Invalid job id" in result.stderr:
        return []  # every job ended long enough ago to be forgotten
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def wait(jobs: list[str], env: dict[str, str], logs: Path) -> float:
    """Seconds until every job in ``jobs`` has ended, however long that takes on a loaded
    machine (up to :data:`tests.waiting.PATIENCE`; then they are cancelled and it fails)."""
    start = time.monotonic()
    try:
        wait_for(lambda: not active(jobs, env), f"SLURM jobs {jobs} to end", interval=2)
    except AssertionError as error:
        subprocess.run(["scancel", *jobs], env=env, timeout=30)
        raise AssertionError(f"{error}\n{job_logs(logs)}") from None
    return time.monotonic() - start


def job_logs(folder: Path) -> str:
    """Every ``slurm-*.out`` in ``folder`` and the ends of the daemons' logs, for a failure."""
    parts = [f"--- {p}\n{p.read_text(errors='replace')}" for p in sorted(folder.glob("slurm-*"))]
    for name in ("slurmctld.log", "slurmd.log"):
        path = CLUSTER_DIR / name
        if path.exists():
            parts.append(f"--- {path} (end)\n" + "\n".join(path.read_text().splitlines()[-15:]))
    return "\n".join(parts) or f"no slurm-*.out in {folder}"
