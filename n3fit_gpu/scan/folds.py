"""One k-fold of a PDF scan: train the whole replica ensemble stacked without the fold's
datasets, then score it on them.

The fold's points are taken out of every replica's training AND validation sets (they stay in
the model's predictions, so nothing else changes shape); stopping uses the remaining
validation points as in a fit. The score is computed against the (unfluctuated) central data
with the experimental covariance of the held-out points, correlations across the fold's
datasets included: per replica χ²/N and the ensemble's φ² (:mod:`n3fit_gpu.search.statistics`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.ensemble.engine import Checkpoint
from n3fit_gpu.fit import make_trainer
from n3fit_gpu.physics.fit_data import FitData
from n3fit_gpu.physics.observables.predict import predict_stacked
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
    return predict_stacked(data.observables, xf)


def _penalties(
    names: Sequence[str], cards: Sequence[RunCard], problem: ScanProblem, model, result, xf
) -> dict[str, np.ndarray]:
    """Per-slot penalties; ``cards`` holds each slot's runcard."""
    values = {}
    if "saturation" in names:
        small_x = evaluate(model, penalties.SATURATION_X)
        values["saturation"] = penalties.saturation(small_x, problem.theory.basis)
    if "patience" in names:
        epochs = np.array([c.parameters.epochs for c in cards])
        patience_epochs = np.array(
            [max(1, int(c.parameters.stopping_patience * c.parameters.epochs)) for c in cards]
        )
        values["patience"] = penalties.patience(result, epochs, patience_epochs)
    if "integrability" in names:
        observables = [d.dataset for d in cards[0].integrability.integdatasets]
        values["integrability"] = penalties.integrability(problem.theory, observables, xf)
    return values


def _repeated(data: FitData, times: int) -> FitData:
    """``data`` with its replicas repeated ``times`` times, one copy per stacked trial."""
    if times == 1:
        return data
    return replace(
        data,
        pseudodata=np.tile(data.pseudodata, (times, 1)),
        training_mask=np.tile(data.training_mask, (times, 1)),
        replicas=data.replicas * times,
    )


def train_fold(card: RunCard, problem: ScanProblem, fold: int) -> FoldResult:
    """Fit ``card``'s replicas stacked without fold ``fold``; score them on it."""
    return train_folds([card], problem, fold)[0]


# (epoch, epochs per call, trials still training, their replicas' validation losses at that
# epoch) -> keep training each? None: no decision at this epoch. The current loss, not the best
# acceptable one: early on no epoch may be acceptable yet (positivity), which would tie all.
RungHook = Callable[[int, int, list[int], list[np.ndarray]], list[bool] | None]


def _rung_checkpoint(on_rung: RungHook, n_trials: int, replicas: int, step: int, pruned: dict):
    """The engine's checkpoint hook: per-trial rung decisions, pruning all a trial's slots."""

    def checkpoint(state: Checkpoint) -> np.ndarray | None:
        slots = [slice(i * replicas, (i + 1) * replicas) for i in range(n_trials)]
        trials = [i for i in range(n_trials) if i not in pruned and state.active[slots[i]].any()]
        values = [np.where(state.diverged[slots[i]], np.inf, state.validation[slots[i]])
                  for i in trials]  # fmt: skip
        keep = on_rung(state.epoch, step, trials, values) if trials else None
        if keep is None or all(keep):
            return None
        stop = np.zeros(n_trials * replicas, bool)
        for trial, going in zip(trials, keep, strict=True):
            if not going:
                pruned[trial] = state.epoch
                stop[slots[trial]] = True
        return stop

    return checkpoint


def train_folds(
    cards: Sequence[RunCard], problem: ScanProblem, fold: int, on_rung: RungHook | None = None
) -> list[FoldResult]:
    """Fit the replicas of every trial in ``cards`` in ONE stacked model without fold ``fold``
    (stacked trials: slot ``(i, r)`` is replica ``r`` of trial ``i``, trained exactly as it
    would be alone, see :func:`n3fit_gpu.fit.make_trainer`); score each trial on the fold.

    The cards may differ only in :data:`n3fit_gpu.fit.SLOT_KEYS` (what a scan varies).

    ``on_rung`` (early termination) is asked after every compiled call about the trials still
    training; a trial it stops has all its replicas frozen at their best weights so far, is
    scored as usual, and its fold result carries ``pruned_at`` (the epoch). ``acceptable``
    marks the replicas that reached an acceptable epoch and did not diverge.
    """
    held_out = problem.folds[fold]
    replicas = len(problem.data.replicas)
    data = _repeated(replace(problem.data, held_out=held_out), len(cards))
    slot_cards = [card for card in cards for _ in range(replicas)]
    model, trainer = make_trainer(
        cards[0], problem.theory, data, slot_cards=None if len(cards) == 1 else slot_cards
    )
    pruned: dict[int, int] = {}
    checkpoint = None
    if on_rung is not None:
        step = trainer.settings.epochs_per_call
        checkpoint = _rung_checkpoint(on_rung, len(cards), replicas, step, pruned)
    result = trainer.train(checkpoint=checkpoint)  # Ctrl-C propagates: never scored
    xf = evaluate(model, problem.theory.xgrid)
    predictions = _all_predictions(data, xf)[:, held_out]
    central = data.central[held_out]
    covariance = data.covariance.dense()[np.ix_(held_out, held_out)]
    chi2 = chi2_per_replica(predictions, central, covariance)
    slot_penalties = _penalties(problem.penalties, slot_cards, problem, model, result, xf)
    points = np.flatnonzero(held_out)
    status = result.status
    acceptable = (np.asarray(result.best_epoch) >= 0) & ~np.asarray(result.diverged, bool)
    results = []
    for i in range(len(cards)):
        slots = slice(i * replicas, (i + 1) * replicas)
        results.append(
            FoldResult(
                chi2=chi2[slots],
                phi2=phi2(predictions[slots], central, covariance),
                penalties={name: value[slots] for name, value in slot_penalties.items()},
                replica_epochs=int(np.sum(result.stop_epoch[slots])),
                extra={
                    "ndata": int(held_out.sum()),
                    "stop_epoch": result.stop_epoch[slots],
                    "best_validation": result.best_validation[slots],  # inf: null
                    "status": status[slots],
                },
                arrays={"points": points, "predictions": predictions[slots]},
                pruned_at=pruned.get(i),
                acceptable=acceptable[slots],
            )
        )
    return results
