"""A one-node SLURM for the tests in this folder: started once per session with the shipped
``scripts/slurm/local_cluster.sh`` (root, Debian packages slurm-wlm and munge) and stopped at
the end, unless it was already running.

Where no scheduler can be started (the packages are missing, or we are not root) the tests
are skipped with the reason; with ``CI=true`` they fail instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.slurm.helpers import CLUSTER, CLUSTER_DIR
from tests.waiting import PATIENCE

TOOLS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and no SLURM: {reason}", pytrace=False)
    pytest.skip(reason)


def _cluster(action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLUSTER), action, str(CLUSTER_DIR)], capture_output=True, text=True, timeout=PATIENCE
    )


@pytest.fixture(scope="session")
def slurm_env() -> Iterator[dict[str, str]]:
    """The environment for submitting to the local cluster: ``SLURM_CONF`` names its config,
    and this interpreter's scripts folder (``fit``, ``hyperscan``) comes first on ``PATH``."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        _unavailable(
            f"no SLURM to start here: {' '.join(missing)} not installed "
            "(as root: apt-get install -y slurm-wlm munge)"
        )
    started = False
    if _cluster("status").returncode != 0:
        result = _cluster("start")
        if result.returncode != 0:
            message = f"local_cluster.sh start failed:\n{result.stdout}{result.stderr}"
            if os.geteuid() != 0:
                _unavailable(message)
            pytest.fail(message, pytrace=False)
        started = True
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    yield {**os.environ, "SLURM_CONF": str(CLUSTER_DIR / "slurm.conf"), "PATH": path}
    if started:
        _cluster("stop")
