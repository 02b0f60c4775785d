"""Early termination of scan trials: asynchronous successive halving (ASHA) on epochs.

Successive halving gives every trial a small budget, keeps the best ``1/eta`` of them for an
``eta`` times larger one, and so on. ASHA (Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020) drops the synchronisation: a trial that reaches a rung is
compared with whatever the other trials (finished or still running) have recorded at that rung
so far, and never waits for the rest. Like Optuna's ``SuccessiveHalvingPruner``, we read the
promotion rule as a pruning rule: a trial goes on past a rung iff ASHA would promote it there.
That needs no scheduler, so it works unchanged with TPE suggesting trials one by one and with
any number of workers sharing one trial log; the price is that decisions depend on the order in
which trials reach a rung, as in any asynchronous scheme.

Here the budget is epochs and a rung is an epoch count (:func:`rung_epochs`); the engine can
stop replicas only between compiled calls, so rungs are rounded up to multiples of its
``epochs_per_call``. The value a trial records at a rung is an *ensemble* statistic of its
replicas' values, e.g. the validation losses of the engine's ``Checkpoint``
(:func:`rung_value`, with the statistics that score folds), so one unlucky replica does not
stop a trial. :func:`keep_going` is the rule itself.

Nothing here knows about Keras or PDFs: inputs are numbers and ``(replica,)`` arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from n3fit_gpu.search import statistics
from n3fit_gpu.search.errors import SearchError


def _check_eta(eta: float, name: str = "eta") -> None:
    if not eta > 1:
        raise SearchError(f"{name} must be > 1; got {eta} (each rung keeps 1/eta of the trials)")


def rung_epochs(min_epochs: int, max_epochs: int, eta: float, step: int = 1) -> list[int]:
    """The epochs at which a trial is judged: ``min_epochs * eta**i`` below ``max_epochs``.

    Each is rounded up to a multiple of ``step`` (the engine's ``epochs_per_call``); duplicates
    and rungs that rounding pushes to ``max_epochs`` or beyond (the trial is over by then) are
    dropped. Empty if ``min_epochs >= max_epochs``.
    """
    for name, value in (("min_epochs", min_epochs), ("max_epochs", max_epochs), ("step", step)):
        if value < 1:
            raise SearchError(f"{name} must be >= 1; got {value} (a number of epochs)")
    _check_eta(eta)
    rungs: list[int] = []
    i = 0
    while (budget := min_epochs * eta**i) < max_epochs:
        # round() first: 100 * 1.1**2 is 121.00000000000001, which must stay rung 121
        rung = math.ceil(round(budget / step, 9)) * step
        if rung < max_epochs and (not rungs or rung > rungs[-1]):
            rungs.append(rung)
        i += 1
    return rungs


def rung_value(values: np.ndarray, statistic: str) -> float:
    """The ensemble statistic of per-replica ``values`` ``(replica,)`` that a trial records.

    A non-finite replica value (no acceptable epoch yet, or NaN) counts as ``+inf``, and a
    non-finite result is ``+inf``: ``average`` and ``best_worst`` of anything with an inf are
    inf, ``std`` too (numpy would say NaN), while ``average_best`` ignores infs that fall
    outside its best ``ceil(0.85 n)``. A trial with too many such replicas thus ranks last,
    deterministically.
    """
    values = np.asarray(values, dtype=float)
    values = np.where(np.isfinite(values), values, np.inf)
    with np.errstate(invalid="ignore"):  # std: inf - inf
        value = statistics.statistic(statistic, values)
    return value if math.isfinite(value) else math.inf


def keep_going(value: float, others: Sequence[float], eta: float, bootstrap: int) -> bool:
    """Whether a trial that recorded ``value`` at a rung trains on (ASHA's promotion rule).

    ``others`` are the values recorded at the same rung by the other trials, finished or
    running. With fewer than ``bootstrap`` of them every trial goes on. Otherwise, of the
    ``n = len(others) + 1`` values, the best (lowest) ``max(1, floor(n / eta))`` go on; a value
    tied with the last one kept goes on too. A NaN ``value`` stops; NaN ``others`` rank last.
    """
    _check_eta(eta)
    if math.isnan(value):
        return False
    if len(others) < bootstrap:
        return True
    others = np.asarray(others, dtype=float)
    others = np.where(np.isnan(others), np.inf, others)
    kept = max(1, math.floor((len(others) + 1) / eta))
    return int(np.sum(others < value)) < kept


@dataclass(frozen=True)
class HalvingSettings:
    """How trials are cut short (the runcard's ``hyperscan_config.early_termination``).

    Parameters
    ----------
    min_epochs:
        The first rung, in epochs; later rungs are ``eta`` times further.
    eta:
        Each rung keeps the best ``1/eta`` of the trials recorded there (> 1).
    bootstrap:
        Trials recorded at a rung before any trial is stopped there (>= 0).
    statistic:
        How a trial's replicas combine into its rung value; None: the fold's
        ``replica_statistic``.
    """

    min_epochs: int
    eta: float = 3.0
    bootstrap: int = 3
    statistic: str | None = None

    def __post_init__(self):
        if self.min_epochs < 1:
            raise SearchError(
                f"early_termination.min_epochs must be >= 1; got {self.min_epochs} "
                "(the epochs of the first rung)"
            )
        _check_eta(self.eta, "early_termination.eta")
        if self.bootstrap < 0:
            raise SearchError(
                f"early_termination.bootstrap must be >= 0; got {self.bootstrap} "
                "(trials recorded at a rung before any is stopped)"
            )
        if self.statistic is not None:
            statistics.check_statistic(self.statistic, "early_termination.statistic")


def recorded_rungs(docs: Sequence[dict]) -> dict[int, list[float]]:
    """Rung epoch → the values finished trials recorded there (``result.early_termination``)."""
    history: dict[int, list[float]] = {}
    for doc in docs:
        record = doc["result"].get("early_termination") or {}
        for rung in record.get("rungs", ()):
            value = rung["value"]
            history.setdefault(int(rung["epoch"]), []).append(math.inf if value is None else value)
    return history


class Rungs:
    """The rung decisions of one batch of trials trained together.

    Each trial at a rung is compared with the values finished trials recorded there
    (``history``, from :func:`recorded_rungs`) and with those of the batch's other trials that
    reached the rung, in any of their models; trials of one model reach it at the same call,
    so all their values are recorded before any of them is decided.
    """

    def __init__(
        self, settings: HalvingSettings, statistic: str, history: dict[int, list[float]], n: int
    ):
        self.settings, self.statistic, self.history = settings, statistic, history
        self.values: list[dict[int, float]] = [{} for _ in range(n)]
        self.stopped_at: list[int | None] = [None] * n

    def is_rung(self, epoch: int, step: int) -> bool:
        """Whether ``epoch`` is a rung for a trainer deciding every ``step`` epochs."""
        s = self.settings
        return epoch in rung_epochs(s.min_epochs, epoch + 1, s.eta, step)

    def decide(self, epoch: int, trials: Sequence[int], values: Sequence[np.ndarray]) -> list[bool]:
        """Whether each of ``trials`` (batch indices), with its replicas' ``values`` at rung
        ``epoch``, trains on; a trial stopped here records ``epoch``."""
        for trial, replica_values in zip(trials, values, strict=True):
            self.values[trial][epoch] = rung_value(replica_values, self.statistic)
        keep = []
        for trial in trials:
            others = [v[epoch] for i, v in enumerate(self.values) if i != trial and epoch in v]
            value = self.values[trial][epoch]
            s = self.settings
            going = keep_going(value, [*self.history.get(epoch, ()), *others], s.eta, s.bootstrap)
            if not going:
                self.stopped_at[trial] = epoch
            keep.append(going)
        return keep

    def record(self, trial: int) -> dict:
        """What the trial log keeps: the rungs reached, and where the trial was stopped."""
        rungs = [{"epoch": e, "value": v} for e, v in sorted(self.values[trial].items())]
        return {"rungs": rungs, "stopped_at_epoch": self.stopped_at[trial]}
