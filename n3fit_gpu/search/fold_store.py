"""A trial's finished folds on disk, so a trial cut short (kill -9, preemption, a lost worker)
is resumed from its next fold instead of from its first.

Each fold result is one ``.npz`` written atomically under ``<folder>/<key>/fold_<k>.npz``,
where the key names the trial AND its point (``trial_key``): a trial suggested again with
other parameters never picks up another point's folds. Arrays are stored as they are (float64
stays float64), so a resumed trial scores exactly as the uninterrupted one. ``meta`` carries
what the caller needs beside the fold (e.g. the early-termination record of fold 0).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from n3fit_gpu.atomic import atomic_savez
from n3fit_gpu.search.jsonable import to_json
from n3fit_gpu.search.kfold import FoldResult

TrainFolds = Callable[[int, list[int]], list[FoldResult]]


def trial_key(tid: int, point: dict) -> str:
    """``<tid>-<hash of the point>``: the folder of one trial's folds."""
    text = json.dumps(to_json(point), sort_keys=True)
    return f"{tid}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


class FoldStore:
    """The finished folds of the trials in progress, under ``folder``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, key: str, k: int) -> Path:
        return self.folder / key / f"fold_{k}.npz"

    def save(self, key: str, k: int, fold: FoldResult, meta: Any = None) -> None:
        arrays = {"chi2": np.asarray(fold.chi2)}
        arrays |= {f"penalty.{n}": np.asarray(v) for n, v in fold.penalties.items()}
        arrays |= {f"array.{n}": np.asarray(v) for n, v in fold.arrays.items()}
        if fold.acceptable is not None:
            arrays["acceptable"] = np.asarray(fold.acceptable)
        record = {
            "phi2": float(fold.phi2),
            "replica_epochs": int(fold.replica_epochs),
            "extra": to_json(dict(fold.extra)),
            "pruned_at": fold.pruned_at,
            "meta": to_json(meta),
        }
        atomic_savez(self._path(key, k), record=np.array(json.dumps(record)), **arrays)

    def load(self, key: str, k: int) -> tuple[FoldResult, Any] | None:
        """The stored fold ``k`` of ``key`` and its ``meta``; None if it is not stored (or
        unreadable: a damaged file only costs retraining the fold)."""
        path = self._path(key, k)
        if not path.is_file():
            return None
        try:
            with np.load(path) as stored:
                record = json.loads(str(stored["record"]))
                arrays = {name: stored[name] for name in stored.files if name != "record"}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return None
        fold = FoldResult(
            chi2=arrays["chi2"],
            phi2=record["phi2"],
            penalties={n[8:]: v for n, v in arrays.items() if n.startswith("penalty.")},
            replica_epochs=record["replica_epochs"],
            extra=record["extra"],
            arrays={n[6:]: v for n, v in arrays.items() if n.startswith("array.")},
            pruned_at=record["pruned_at"],
            acceptable=arrays.get("acceptable"),
        )
        return fold, record["meta"]

    def drop(self, key: str) -> None:
        """Forget a trial's folds (once the trial is logged)."""
        shutil.rmtree(self.folder / key, ignore_errors=True)


def remembering(
    train: TrainFolds,
    store: FoldStore,
    keys: list[str],
    meta_of: Callable[[int, int], Any] = lambda k, i: None,
) -> tuple[TrainFolds, dict[int, Any]]:
    """``train`` with its folds stored as they finish and taken from ``store`` when all the
    trials asked for have them. Returns the wrapped function and ``restored``: trial index →
    the ``meta`` stored with its fold 0, for the trials whose fold 0 came from the store
    (``meta_of(k, i)`` gives what to store with fold ``k`` of trial ``i``)."""
    restored: dict[int, Any] = {}

    def run(k: int, running: list[int]) -> list[FoldResult]:
        stored = [store.load(keys[i], k) for i in running]
        if all(item is not None for item in stored):
            if k == 0:
                restored.update({i: item[1] for i, item in zip(running, stored)})
            return [item[0] for item in stored]
        folds = train(k, running)
        for i, fold in zip(running, folds, strict=True):
            store.save(keys[i], k, fold, meta_of(k, i))
        return folds

    return run, restored
