"""The scan folder ``<output>/<runcard name>/``: creating it, recognising it, reading it.

::

    <name>.yml     the runcard, as given
    scan.json      what identifies the scan: the runcard's name and checksum, the TPE seed
    tries.jsonl    one hyperopt trial document per finished trial (append-only)
    report/        best trials, plots and best_runcard.yml (``hyperscan report``)

No keras here: the report reads a scan without importing a backend.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from n3fit_gpu.atomic import atomic_write_json, atomic_write_text
from n3fit_gpu.errors import OutputError

LOG_NAME = "tries.jsonl"
META_NAME = "scan.json"


def prepare_scan_folder(runcard_path: Path, output: Path, seed: int) -> Path:
    """Create ``<output>/<name>/``, or check that the scan already there is this one."""
    text = Path(runcard_path).read_text()
    root = Path(output) / Path(runcard_path).stem
    meta = {
        "runcard": Path(runcard_path).name,
        "runcard_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "seed": seed,
    }
    meta_path = root / META_NAME
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        for key, value in meta.items():
            if old.get(key) != value:
                what = f"seed ({old.get(key)})" if key == "seed" else "runcard"
                raise OutputError(
                    f"{root} holds a scan started with another {what}; rerun with the same "
                    "runcard and --seed to resume it, or give --output a new folder"
                )
        return root
    atomic_write_text(root / Path(runcard_path).name, text)
    atomic_write_json(meta_path, meta)
    return root


def scan_runcard(root: Path) -> Path:
    """The runcard copy of the scan in ``root``."""
    meta_path = Path(root) / META_NAME
    if not meta_path.is_file():
        raise OutputError(
            f"{root} is not a scan folder (no {META_NAME}); give the folder hyperscan wrote, "
            "e.g. output/<runcard name>"
        )
    return Path(root) / json.loads(meta_path.read_text())["runcard"]
