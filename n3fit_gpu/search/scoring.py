"""How a trial's folds become what TPE and the report see: status, loss and why it stopped.

One rule, :func:`score_trial`, written into every trial document; TPE reads the document's
``loss`` (hyperopt's TPE orders trials by loss whatever their status and counts a trial
without a loss as ``+inf``, the worst), and the report and the ensemble read the same
documents through :func:`ranked_trials`. Nothing here reads the fold results themselves.

Why a trial stops (``result.stopped``, with ``result.stopped_at_fold``, 0-based):

==========================  =======  =====================================================
``stopped``                 status   loss
==========================  =======  =====================================================
``None`` (every fold ran)   ok       ``fold_statistic`` of the fold losses (phi2: 1/…)
``early_termination``       ok       penalised (below); phi2: fail, no loss
``threshold``               fail     penalised (below); phi2: no loss
``no_acceptable_replica``   fail     none (TPE: +inf)
``non_finite``              fail     none (a NaN fold loss, or a non-finite trial loss)
``error``                   fail     none (a user error while training a fold)
==========================  =======  =====================================================

Penalised loss of a trial stopped at fold ``k`` of ``K`` (``loss_type="chi2"``)::

    max(threshold, fold_statistic([l_i * (K - k) for i in 0..k]))

The product is n3fit's (``ModelTrainer.hyperparametrizable``: "a penalty proportional to the
number of folds not computed", ``l_hyper = [i * pen_mul ...]``, and the trial ``fail``). The
floor is ours: a trial whose every fold passed the threshold has every fold loss in
``[0, threshold]`` and so a loss <= ``threshold`` (average, average_best and best_worst are at
most the largest value, std at most half of it). A stopped trial therefore never looks better
to TPE or the report than it would have after running every fold: had it passed them all it
would score <= threshold, had one failed it would be a threshold failure, scored >= threshold
too. n3fit's multiplier alone does not guarantee this (it is 1 when the last fold fails).
With ``loss_type="phi2"`` the loss is 1/phi2, which has no such bound (and n3fit's
multiplier would *lower* it, rewarding the stop), so a stopped phi2 trial fails without loss.

Statuses: n3fit makes a threshold stop ``fail`` (``HYPEROPT_STATUSES[passed]``); so do we. An
early-terminated trial (successive halving, not in n3fit) is ``ok``: it did not fail, its
penalised loss is a valid number for TPE, and it ranks after every trial that finished. A fold
in which no replica reached an acceptable epoch (n3fit has no rule for it in a scan: its
statistics take such replicas as they are) fails the trial without a number, so TPE never
learns from a loss measured on weights that were never accepted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from n3fit_gpu.search.statistics import trial_loss

EARLY_TERMINATION = "early_termination"
THRESHOLD = "threshold"
NO_ACCEPTABLE_REPLICA = "no_acceptable_replica"
NON_FINITE = "non_finite"
ERROR = "error"
STOP_REASONS = (EARLY_TERMINATION, THRESHOLD, NO_ACCEPTABLE_REPLICA, NON_FINITE, ERROR)
_PENALISED = (EARLY_TERMINATION, THRESHOLD)


@dataclass(frozen=True)
class Score:
    """What a trial document records: hyperopt's status and loss, and why it stopped."""

    status: str  # "ok" | "fail"
    loss: float | None
    stopped: str | None = None  # one of STOP_REASONS; None: every fold ran
    stopped_at_fold: int | None = None

    def folds_not_run(self, n_folds: int) -> int:
        """Folds never trained (0 when the trial ran every fold or stopped at the last)."""
        return 0 if self.stopped_at_fold is None else n_folds - 1 - self.stopped_at_fold


def penalised_loss(
    fold_losses: Sequence[float], n_folds: int, fold_statistic: str, threshold: float
) -> float:
    """The chi2 loss of a trial stopped at fold ``len(fold_losses) - 1`` of ``n_folds``:
    ``max(threshold, fold_statistic(l_i * (K - k)))`` (see the module docstring)."""
    k = len(fold_losses) - 1
    scaled = [loss * (n_folds - k) for loss in fold_losses]
    return max(threshold, trial_loss("chi2", fold_statistic, scaled))


def score_trial(
    fold_losses: Sequence[float],
    n_folds: int,
    stopped: str | None,
    loss_type: str,
    fold_statistic: str,
    threshold: float,
) -> Score:
    """The status and loss of a trial whose folds ``0 .. len(fold_losses) - 1`` were scored.

    ``stopped`` is why the trial stopped at its last scored fold (:data:`STOP_REASONS`;
    ``error`` may come with no loss for that fold), None if it ran all ``n_folds``.
    """
    if stopped is None and len(fold_losses) != n_folds:
        raise ValueError(f"{len(fold_losses)} of {n_folds} folds scored, but no stop reason")
    if stopped is not None and stopped not in STOP_REASONS:
        raise ValueError(f"unknown stop reason {stopped!r}; one of {', '.join(STOP_REASONS)}")
    at = None if stopped is None else max(len(fold_losses) - 1, 0)
    if stopped == ERROR:
        at = len(fold_losses)  # the fold that raised has no loss
    if stopped is None:
        loss = trial_loss(loss_type, fold_statistic, fold_losses)
        if math.isfinite(loss):
            return Score("ok", loss)
        return Score("fail", None, NON_FINITE, n_folds - 1)
    if stopped in _PENALISED and loss_type == "chi2":
        loss = penalised_loss(fold_losses, n_folds, fold_statistic, threshold)
        if math.isfinite(loss):
            return Score("ok" if stopped == EARLY_TERMINATION else "fail", loss, stopped, at)
        return Score("fail", None, NON_FINITE, at)
    return Score("fail", None, stopped, at)


def rank_key(doc: dict) -> tuple[float, int]:
    """Sort key of a trial document: its loss (None: ``+inf``, as TPE counts it), then id."""
    loss = doc["result"].get("loss")
    return (math.inf if loss is None else float(loss), doc["tid"])


def ranked_trials(docs: Sequence[dict]) -> list[dict]:
    """Documents of ``ok`` trials with a finite loss, best first (:func:`rank_key`).

    Early-terminated trials are among them, after every trial that finished (their loss is
    at least the threshold); :func:`complete` tells them apart.
    """
    good = [d for d in docs if d["result"].get("status") == "ok" and _finite(d)]
    return sorted(good, key=rank_key)


def complete(doc: dict) -> bool:
    """Whether the trial ran every fold (documents from before ``stopped`` was recorded count
    as complete unless ``kfold_meta.aborted_at_fold`` says otherwise)."""
    result = doc["result"]
    if "stopped" in result:
        return result["stopped"] is None
    return (result.get("kfold_meta") or {}).get("aborted_at_fold") is None


def _finite(doc: dict) -> bool:
    loss = doc["result"].get("loss")
    return loss is not None and math.isfinite(loss)
