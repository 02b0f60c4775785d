"""One trial of a scan: train fold 0, 1, ... and score the ensembles by their statistics.

The problem supplies ``train_fold(k) -> FoldResult``: it trains the whole replica ensemble with
fold ``k``'s data held out and measures, on that held-out data, the per-replica chi2/point, the
ensemble phi2 and per-replica penalties (all arrays ``(replica,)``).

Stopping (NNPDF's ``hyper_threshold``, in chi2/point): after each fold the fold's chi2 loss
(``statistic(replica_statistic, chi2 [+ penalties])``, which *is* the fold loss for
``loss_type="chi2"``) is compared with ``threshold``; above it the remaining folds are never
trained. A fold also stops the trial when its loss is NaN, when no replica reached an
acceptable epoch (``FoldResult.acceptable``), or when early termination (:mod:`.halving`)
stopped it during training (``pruned_at``); an :class:`~n3fit_gpu.errors.N3fitError` from
``train_fold`` stops it with its message in ``error`` (other exceptions are bugs and
propagate). How each case is scored, and its status, is :func:`.scoring.score_trial`; the
document records ``stopped`` (the reason), ``stopped_at_fold`` and, only when folds were
left untrained, ``kfold_meta.aborted_at_fold``.

Records are plain JSON (:mod:`.jsonable`): non-finite floats are written as ``null``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from n3fit_gpu.errors import N3fitError
from n3fit_gpu.search import scoring
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.jsonable import to_json
from n3fit_gpu.search.statistics import (
    REDUCE_PROPORTION,
    check_loss_type,
    check_proportion,
    check_statistic,
    fold_loss,
)


@dataclass(frozen=True)
class FoldResult:
    """What training one fold measured on its held-out data (arrays are ``(replica,)``)."""

    chi2: np.ndarray
    phi2: float
    penalties: Mapping[str, np.ndarray]
    replica_epochs: int
    extra: Mapping[str, Any] = field(default_factory=dict)  # JSON-able, copied to the record
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)  # kept out of the record
    pruned_at: int | None = None  # epoch where early termination stopped the trial
    acceptable: np.ndarray | None = None  # (replica,) bool: reached an acceptable epoch; None: all


@dataclass(frozen=True)
class KFoldSettings:
    """How folds are scored (NNPDF's ``kfold`` runcard keys)."""

    loss_type: str = "chi2"
    replica_statistic: str = "average"
    fold_statistic: str = "average"
    threshold: float = 50.0
    penalties_in_loss: bool = False
    reduce_proportion: float = REDUCE_PROPORTION  # average_best over replicas keeps this much

    def __post_init__(self) -> None:
        check_loss_type(self.loss_type)
        check_proportion(self.reduce_proportion)
        check_statistic(self.replica_statistic, "replica_statistic")
        check_statistic(self.fold_statistic, "fold_statistic")
        if not self.threshold > 0:
            raise SearchError(f"threshold must be > 0 (chi2/point); got {self.threshold}")


@dataclass(frozen=True)
class TrialResult:
    """The outcome of one trial, scored by :func:`.scoring.score_trial`.

    ``stopped`` is why it stopped (:data:`.scoring.STOP_REASONS`, None: every fold ran) at
    fold ``stopped_at_fold``; ``aborted_at_fold`` is that fold only when later folds were
    never trained (not when the last fold stopped it).
    """

    loss: float
    status: str
    fold_losses: list[float]
    folds: list[FoldResult]
    aborted_at_fold: int | None
    seconds: float
    replica_epochs: int
    error: str | None
    early_termination: dict | None = None  # rungs reached, epoch stopped at (halving.Rungs)
    stopped: str | None = None
    stopped_at_fold: int | None = None

    def to_result_dict(self) -> dict:
        """hyperopt's ``result`` dict, plain JSON (non-finite floats are ``None``)."""
        names = sorted({name for fold in self.folds for name in fold.penalties})
        meta = {
            "fold_losses": self.fold_losses,
            "chi2_per_fold_replica": [fold.chi2 for fold in self.folds],
            "phi2_per_fold": [fold.phi2 for fold in self.folds],
            "penalties_per_fold": {
                name: [fold.penalties.get(name) for fold in self.folds] for name in names
            },
            "aborted_at_fold": self.aborted_at_fold,
            "extra_per_fold": [fold.extra for fold in self.folds],
        }
        return to_json(
            {
                "status": self.status,
                "loss": self.loss,
                "validation_loss": self.loss,
                "stopped": self.stopped,
                "stopped_at_fold": self.stopped_at_fold,
                "kfold_meta": meta,
                "replica_epochs": self.replica_epochs,
                "seconds": self.seconds,
                "error": self.error,
                **({} if self.early_termination is None else
                   {"early_termination": self.early_termination}),
            }
        )  # fmt: skip


def _chi2_loss(fold: FoldResult, settings: KFoldSettings) -> float:
    """The fold's chi2 loss, compared with the threshold whatever the loss type."""
    return fold_loss(
        "chi2",
        settings.replica_statistic,
        fold.chi2,
        fold.phi2,
        fold.penalties,
        settings.penalties_in_loss,
        settings.reduce_proportion,
    )


def _stop_reason(fold: FoldResult, chi2_loss: float, threshold: float) -> str | None:
    """Why ``fold`` stops its trial (None: it does not), first match."""
    if fold.pruned_at is not None:
        return scoring.EARLY_TERMINATION
    if chi2_loss != chi2_loss:  # NaN
        return scoring.NON_FINITE
    if fold.acceptable is not None and not np.any(fold.acceptable):
        return scoring.NO_ACCEPTABLE_REPLICA
    if not chi2_loss <= threshold:
        return scoring.THRESHOLD
    return None


class _TrialFolds:
    """The folds of one trial as they come in: losses, and why it stopped."""

    def __init__(self, n_folds: int, settings: KFoldSettings):
        self.n_folds, self.settings = n_folds, settings
        self.folds: list[FoldResult] = []
        self.losses: list[float] = []
        self.stopped: str | None = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self.stopped is None and len(self.folds) < self.n_folds

    def add(self, k: int, fold: FoldResult) -> float:
        """Record fold ``k``; stops the trial if the fold says so (:func:`_stop_reason`)."""
        s = self.settings
        self.folds.append(fold)
        self.losses.append(
            fold_loss(
                s.loss_type,
                s.replica_statistic,
                fold.chi2,
                fold.phi2,
                fold.penalties,
                s.penalties_in_loss,
                s.reduce_proportion,
            )  # fmt: skip
        )
        self.stopped = _stop_reason(fold, _chi2_loss(fold, s), s.threshold)
        return self.losses[-1]

    def fail(self, k: int, error: str) -> None:
        self.stopped, self.error = scoring.ERROR, error

    def result(self, seconds: float) -> TrialResult:
        s = self.settings
        score = scoring.score_trial(
            self.losses, self.n_folds, self.stopped, s.loss_type, s.fold_statistic, s.threshold
        )
        skipped = score.folds_not_run(self.n_folds) > 0
        return TrialResult(
            loss=float("nan") if score.loss is None else score.loss,
            status=score.status,
            fold_losses=self.losses,
            folds=self.folds,
            aborted_at_fold=score.stopped_at_fold if skipped else None,
            seconds=seconds,
            replica_epochs=sum(int(fold.replica_epochs) for fold in self.folds),
            error=self.error,
            stopped=score.stopped,
            stopped_at_fold=score.stopped_at_fold,
        )


def run_folds(
    train_fold: Callable[[int], FoldResult],
    n_folds: int,
    settings: KFoldSettings,
    on_fold: Callable[[int, float], None] | None = None,
) -> TrialResult:
    """Train folds ``0 .. n_folds-1`` in order, stopping at the first one that stops the trial.

    ``on_fold(k, fold_loss)`` is called after each fold that trained.
    """
    (result,) = run_folds_together(
        lambda k, trials: [train_fold(k)], 1, n_folds, settings,
        None if on_fold is None else lambda k, losses: on_fold(k, losses[0]),
    )  # fmt: skip
    return result


def run_folds_together(
    train_folds: Callable[[int, list[int]], list[FoldResult]],
    n_trials: int,
    n_folds: int,
    settings: KFoldSettings,
    on_fold: Callable[[int, list[float]], None] | None = None,
) -> list[TrialResult]:
    """The folds of ``n_trials`` trials trained together (stacked trials).

    ``train_folds(k, trials)`` trains fold ``k`` of the listed trials (those still running:
    a trial stopped by the threshold is left out of the later folds) and returns their fold
    results in that order. Each trial is scored exactly as :func:`run_folds` scores it alone.
    An :class:`~n3fit_gpu.errors.N3fitError` fails every trial of that call. ``on_fold(k,
    losses)`` is called after each fold with the losses of the trials that trained it.
    """
    if n_folds < 1:
        raise SearchError(f"a trial needs at least one fold; got n_folds={n_folds}")
    start = time.perf_counter()
    trials = [_TrialFolds(n_folds, settings) for _ in range(n_trials)]
    for k in range(n_folds):
        running = [i for i, t in enumerate(trials) if t.running]
        if not running:
            break
        try:
            folds = train_folds(k, running)
        except N3fitError as exc:
            for i in running:
                trials[i].fail(k, str(exc))
            continue
        losses = [trials[i].add(k, fold) for i, fold in zip(running, folds, strict=True)]
        if on_fold is not None:
            on_fold(k, losses)
    seconds = time.perf_counter() - start
    return [t.result(seconds) for t in trials]
