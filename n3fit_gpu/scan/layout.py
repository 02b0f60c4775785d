"""The scan folder ``<output>/<runcard name>/``: creating it, recognising it, reading it.

::

    <name>.yml     the runcard, as given
    scan.json      what identifies the scan: the runcard's name and checksum, the TPE seed
    tries.jsonl    one hyperopt trial document per finished trial (append-only)
    claims/        trials in progress: <tid>.<generation>.json per claim (workers only)
    workers/       <worker id>.log: the output of each worker of ``hyperscan --workers K``
    trials/        <tid>.npz: each trial's out-of-fold predictions (:mod:`.predictions`)
    folds/         <tid>-<point hash>/fold_<k>.npz: the finished folds of trials in progress,
                   so a trial cut short resumes at its next fold (search/fold_store.py)
    report/        best trials, plots, cost.json and best_runcard.yml (``hyperscan report``)
    ensemble/      selection.json, pareto.png and the refitted set (``hyperscan ensemble``)

Two scans never share a log or claims: each lives in the folder of its runcard's name, and a
folder refuses a scan with another runcard or seed.

No keras here: the report reads a scan without importing a backend.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from n3fit_gpu.atomic import (
    atomic_write_json,
    atomic_write_text,
    remove_orphaned_temps,
    temporary_path,
)
from n3fit_gpu.errors import OutputError

LOG_NAME = "tries.jsonl"
META_NAME = "scan.json"
CLAIMS_NAME = "claims"
FOLDS_NAME = "folds"
WORKERS_NAME = "workers"
# a temporary file of another host (or of an older version) is removed when this old: no
# atomic write takes a day
STALE_TEMPORARY_S = 86_400.0


def prepare_scan_folder(runcard_path: Path, output: Path, seed: int) -> Path:
    """Create ``<output>/<name>/``, or check that the scan already there is this one.

    Safe for many workers starting at once: ``scan.json`` is created exclusively (a hard link
    of a complete temporary file), so of two workers with different runcards or seeds one
    creates the scan and the other is refused. Resuming removes the temporary files of writes
    that a killed process left anywhere in the folder
    (:func:`~n3fit_gpu.atomic.remove_orphaned_temps`; a live writer's are kept).
    """
    text = Path(runcard_path).read_text()
    root = Path(output) / Path(runcard_path).stem
    meta = {
        "runcard": Path(runcard_path).name,
        "runcard_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "seed": seed,
    }
    meta_path = root / META_NAME
    if not meta_path.exists() and _create_once(meta_path, meta):
        atomic_write_text(root / Path(runcard_path).name, text)
        return root
    old = json.loads(meta_path.read_text())
    for key, value in meta.items():
        if old.get(key) != value:
            what = f"seed ({old.get(key)})" if key == "seed" else "runcard"
            raise OutputError(
                f"{root} holds a scan started with another {what}; rerun with the same "
                "runcard and --seed to resume it, or give --output a new folder"
            )
    remove_orphaned_temps(root, recursive=True, stale_after=STALE_TEMPORARY_S)
    return root


def _create_once(path: Path, meta: dict) -> bool:
    """Write ``path`` unless it exists (atomic, also on NFS); ``False`` if it existed."""
    tmp = atomic_write_json(temporary_path(path), meta)  # an orphan if killed before unlink
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def scan_runcard(root: Path) -> Path:
    """The runcard copy of the scan in ``root``."""
    meta_path = Path(root) / META_NAME
    if not meta_path.is_file():
        raise OutputError(
            f"{root} is not a scan folder (no {META_NAME}); give the folder hyperscan wrote, "
            "e.g. output/<runcard name>"
        )
    return Path(root) / json.loads(meta_path.read_text())["runcard"]
