"""One k-fold of a PDF scan: train the whole replica ensemble stacked without the fold's
datasets, then score it on them.

The fold's points are taken out of every replica's training AND validation sets (they stay in
the model's predictions, so nothing else changes shape); stopping uses the remaining
validation points as in a fit. The score is computed against the (unfluctuated) central data
with the experimental covariance of the held-out points, correlations across the fold's
datasets included: per replica χ²/N and the ensemble's φ² (:mod:`n3fit_gpu.search.statistics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.fit import make_trainer
from n3fit_gpu.physics.fit_data import FitData, predict
from n3fit_gpu.physics.pdf_model import evaluate
from n3fit_gpu.physics.theory import Theory
from n3fit_gpu.scan import penalties
from n3fit_gpu.search.kfold import FoldResult
from n3fit_gpu.search.statistics import chi2_per_replica, phi2


@dataclass(frozen=True)
class ScanProblem:
    """What every trial of a PDF scan shares: theory, data, and the folds' held-out points."""

    theory: Theory
    data: FitData
    folds: tuple[np.ndarray, ...]  # (n,) bool per fold
    penalties: tuple[str, ...]


def fold_masks(card: RunCard, data: FitData) -> tuple[np.ndarray, ...]:
    """Per ``kfold.partitions`` entry, the points of its datasets, ``(n,)`` bool."""
    slices = data.slices
    masks = []
    for partition in card.kfold.partitions:
        mask = np.zeros(data.central.size, bool)
        for name in partition.datasets:
            mask[slices[name]] = True
        masks.append(mask)
    return tuple(masks)


def _all_predictions(data: FitData, xf: np.ndarray) -> np.ndarray:
    """Data predictions ``(R, n)`` for x·f ``(R, nx, 9)``."""
    return np.stack([np.concatenate([predict(obs, r.T) for obs in data.observables]) for r in xf])


def _penalties(
    names: Sequence[str], card: RunCard, problem: ScanProblem, model, result, xf
) -> dict[str, np.ndarray]:
    p = card.parameters
    values = {}
    if "saturation" in names:
        small_x = evaluate(model, penalties.SATURATION_X)
        values["saturation"] = penalties.saturation(small_x, problem.theory.basis)
    if "patience" in names:
        patience_epochs = max(1, int(p.stopping_patience * p.epochs))
        values["patience"] = penalties.patience(result, p.epochs, patience_epochs)
    if "integrability" in names:
        observables = [d.dataset for d in card.integrability.integdatasets]
        values["integrability"] = penalties.integrability(problem.theory, observables, xf)
    return values


def train_fold(card: RunCard, problem: ScanProblem, fold: int) -> FoldResult:
    """Fit ``card``'s replicas stacked without fold ``fold``; score them on it."""
    held_out = problem.folds[fold]
    data = replace(problem.data, held_out=held_out)
    model, trainer = make_trainer(card, problem.theory, data)
    result = trainer.train()  # Ctrl-C propagates: a cut-short fold is never scored
    xf = evaluate(model, problem.theory.xgrid)
    predictions = _all_predictions(data, xf)[:, held_out]
    central = data.central[held_out]
    covariance = data.covariance.dense()[np.ix_(held_out, held_out)]
    return FoldResult(
        chi2=chi2_per_replica(predictions, central, covariance),
        phi2=phi2(predictions, central, covariance),
        penalties=_penalties(problem.penalties, card, problem, model, result, xf),
        replica_epochs=result.replica_epochs,
        extra={
            "ndata": int(held_out.sum()),
            "stop_epoch": result.stop_epoch,
            "best_validation": result.best_validation,  # inf (no acceptable epoch): null
            "status": result.status,
        },
    )
