"""A closure study: several level-1 closure fits of one truth, then their closure report.

Imports keras (it runs fits): call :func:`n3fit_gpu.ensemble.backend.select_backend` first.
Fit k (1..fits) is the runcard with ``closuretest.fakepdf`` = the truth, its own level-1 noise
(``filterseed`` = seed + k) and its own seeds (``nnseed``, ``mcseed``, ``trvlseed`` = seed + k),
plus ``KEY=YAML`` edits. Finished fits are kept, so a rerun resumes the study. Test datasets
(left out of the runcard's ``dataset_inputs``) add the data-space estimators out of sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from n3fit_gpu.config import DatasetInput, load_runcard
from n3fit_gpu.fit import run_fit
from n3fit_gpu.outputs.closure_report import closure_report, load_closure_fit


def edited(card: dict, edits: Sequence[str]) -> dict:
    """``card`` (a runcard as loaded YAML) with each ``dotted.key=YAML value`` set."""
    for edit in edits:
        key, _, value = edit.partition("=")
        *parents, leaf = key.split(".")
        node = card
        for part in parents:
            node = node[part]
        node[leaf] = yaml.safe_load(value)
    return card


def run_closure_study(
    runcard: Path,
    truth: str,
    fits: int,
    replicas: int,
    work: Path,
    edits: Sequence[str] = (),
    seed: int = 100,
    test: Sequence[DatasetInput] = (),
) -> dict:
    """Fit ``fits`` level-1 closure fits of ``truth`` under ``work/fits`` and return (and write
    to ``work/report``) their closure report, out of sample on the ``test`` datasets too."""
    base = yaml.safe_load(Path(runcard).read_text())
    folders = []
    for k in range(1, fits + 1):
        card = edited(yaml.safe_load(yaml.safe_dump(base)), edits)
        card["closuretest"] = {
            **card.get("closuretest", {}),
            "fakedata": True,
            "fakenoise": True,
            "fakepdf": truth,
            "filterseed": seed + k,
        }
        card.update(nnseed=seed + k, mcseed=seed + k, trvlseed=seed + k, replicas=replicas)
        path = Path(work) / "runcards" / f"fit_{k}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(card, sort_keys=False))
        folder = Path(work) / "fits" / path.stem
        if not (folder / "summary.json").exists():
            run_fit(
                load_runcard(path), path, folder.parent, resume=True, show_progress=False,
                announce=lambda line: None,
            )  # fmt: skip
        folders.append(folder)
    loaded = [load_closure_fit(f, test=test) for f in folders]
    return closure_report(loaded, Path(work) / "report")
