"""A finished trial's out-of-fold predictions: ``<scan>/trials/<tid>.npz``.

For every fold ``k`` that trained, the held-out points (indices into the fit's data vector,
``fold_{k}_points (n_k,) int``) and every replica's predictions on them
(``fold_{k}_predictions (R, n_k) float64``), plus ``replicas (R,) int``, the replica index of
each prediction row. A fold that never trained (the trial stopped at its threshold first) has
no keys. ``hyperscan ensemble`` builds ensembles across trials from these files; scans written
before they existed have none (:func:`load_trial_predictions` gives ``None``).

No keras here: selection reads a scan without importing a backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_savez

TRIALS_NAME = "trials"


@dataclass(frozen=True)
class TrialPredictions:
    """One trial's out-of-fold predictions; ``folds[k]`` is ``(points (n_k,), predictions
    (R, n_k))`` for the k-th fold that trained (in fold order)."""

    tid: int
    replicas: np.ndarray  # (R,) int
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]


def predictions_path(root: Path, tid: int) -> Path:
    """Where trial ``tid`` of the scan in ``root`` keeps its predictions."""
    return Path(root) / TRIALS_NAME / f"{int(tid)}.npz"


def save_trial_predictions(
    root: Path,
    tid: int,
    replicas: Sequence[int],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
) -> Path:
    """Write trial ``tid``'s out-of-fold predictions atomically; returns the file.

    Parameters
    ----------
    root : the scan folder
    tid : the trial number
    replicas : (R,) the replica index of each prediction row
    folds : per fold that trained, ``(points (n_k,) int, predictions (R, n_k))``
    """
    replicas = np.asarray(replicas, dtype=np.int64)
    arrays = {"replicas": replicas}
    for k, (points, predictions) in enumerate(folds):
        points = np.asarray(points, dtype=np.int64)
        predictions = np.asarray(predictions, dtype=np.float64)
        if predictions.shape != (replicas.size, points.size):
            raise ValueError(
                f"fold {k}: predictions {predictions.shape} for {replicas.size} replicas and "
                f"{points.size} points; expected ({replicas.size}, {points.size})"
            )
        arrays[f"fold_{k}_points"] = points
        arrays[f"fold_{k}_predictions"] = predictions
    return atomic_savez(predictions_path(root, tid), **arrays)


def load_trial_predictions(root: Path, tid: int) -> TrialPredictions | None:
    """Trial ``tid``'s out-of-fold predictions; ``None`` if the scan has not saved them."""
    path = predictions_path(root, tid)
    if not path.is_file():
        return None
    with np.load(path) as npz:
        folds = []
        while f"fold_{len(folds)}_points" in npz:
            k = len(folds)
            folds.append((npz[f"fold_{k}_points"], npz[f"fold_{k}_predictions"]))
        return TrialPredictions(int(tid), npz["replicas"], tuple(folds))
