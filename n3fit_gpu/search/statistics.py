"""NNPDF's ensemble statistics and hyperopt losses, in numpy.

Shapes: ``predictions (replica, point)``, ``data (point,)``, ``covariance (point, point)``;
per-replica quantities ``(replica,)``. chi2 values are per data point (chi2/n).

A trial is scored in two reductions: over the replicas of one fold (:func:`fold_loss`, with
``replica_statistic``) and over the folds of one trial (:func:`trial_loss`, with
``fold_statistic``). Both use one of :data:`STATISTICS`; stopped and failed trials are scored
by :mod:`.scoring`.

Against n3fit 4.1.5 (``n3fit/hyper_optimization/rewards.py``, ``HyperLoss``):

- the same: ``average`` (mean), ``best_worst`` (the maximum: the worst value), ``std``
  (population, ``ddof=0``), each over replicas and over folds; ``average_best`` over replicas
  keeps the lowest ``ceil(reduce_proportion * n)`` (n3fit's ``reduce_proportion``, default
  0.85, so with 4-6 replicas nothing is dropped, with 7-13 one replica, ...); over folds
  ``average_best`` is the plain average, as in n3fit (a bad fold is never dropped); phi2
  trials minimise ``1 / fold_statistic(phi2)``; ``penalties_in_loss`` adds
  ``sum_p mean_r(penalty_p)`` to phi2.
- different, on purpose: n3fit first keeps the best ``reduce_proportion`` of the replicas *by
  validation chi2* and computes every statistic and phi2 on them ("all averages are average
  best now"); here only ``average_best`` drops replicas, ranked by the values it averages
  (the held-out chi2), and ``average``, ``best_worst``, ``std`` and phi2 see every replica,
  so that their names say what they compute. n3fit's chi2 fold loss is the statistic of the
  kept replicas' *validation* chi2 plus ``max(mean of the best 15% held-out chi2, 2) - 2``;
  ours is the statistic of the held-out chi2 (the k-fold loss of the NNPDF4.0 hyperopt
  papers), with ``penalties_in_loss`` adding each replica's penalties to its chi2. n3fit adds
  ``100 * elu(mean fitted chi2 - 1.2)`` to every trial loss; we do not. n3fit compares its
  threshold with the fold's loss whatever the loss type (phi2 too); ours is always compared
  with the fold's chi2 loss (:mod:`.kfold`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from n3fit_gpu.search.errors import SearchError

STATISTICS = ("average", "average_best", "best_worst", "std")
LOSS_TYPES = ("chi2", "phi2")
REDUCE_PROPORTION = 0.85  # average_best keeps the best ceil(0.85 n) replicas (n3fit's default)


def check_statistic(name: str, what: str = "statistic") -> None:
    """Raise :class:`SearchError` unless ``name`` is one of :data:`STATISTICS`."""
    if name not in STATISTICS:
        raise SearchError(f"unknown {what} {name!r}; use one of {', '.join(STATISTICS)}")


def check_loss_type(loss_type: str) -> None:
    """Raise :class:`SearchError` unless ``loss_type`` is one of :data:`LOSS_TYPES`."""
    if loss_type not in LOSS_TYPES:
        raise SearchError(f"unknown loss_type {loss_type!r}; use one of {', '.join(LOSS_TYPES)}")


def check_proportion(proportion: float) -> None:
    """Raise :class:`SearchError` unless ``0 < proportion <= 1``."""
    if not 0 < proportion <= 1:
        raise SearchError(
            f"reduce_proportion must be in (0, 1]; got {proportion} (the fraction of replicas "
            "average_best keeps)"
        )


def statistic(name: str, values: np.ndarray, proportion: float = REDUCE_PROPORTION) -> float:
    """Reduce ``values`` (1-D) with the named statistic.

    ``average`` is the mean, ``average_best`` the mean of the lowest
    ``ceil(proportion * n)`` values (NaN sorts last, so NaN values are dropped when they fall
    outside the best ones), ``best_worst`` the maximum (the worst value), ``std`` the
    population standard deviation. NaN propagates through every statistic except
    ``average_best`` as described.
    """
    check_statistic(name)
    check_proportion(proportion)
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0:
        raise SearchError(f"statistic {name!r} of no values; at least one replica/fold is needed")
    if name == "average":
        return float(np.mean(values))
    if name == "average_best":
        kept = math.ceil(round(proportion * values.size, 9))  # 0.85 * 20 must keep 17, not 18
        return float(np.mean(np.sort(values)[:kept]))
    if name == "best_worst":
        return float(np.max(values))
    return float(np.std(values))


def whitened_residuals(
    predictions: np.ndarray, data: np.ndarray, covariance: np.ndarray
) -> np.ndarray:
    """Residuals in units of the data uncertainty: ``L^-1 (p_r - d)`` with ``C = L L^T``.

    chi2 is their squared norm, and they are linear in the predictions, so the residuals of
    an ensemble's mean prediction are the mean of its replicas' (what ensemble selection
    uses to score many candidate ensembles from one Cholesky solve).

    Parameters
    ----------
    predictions : (replica, point)
    data : (point,)
    covariance : (point, point), symmetric positive definite

    Returns
    -------
    (replica, point)
    """
    predictions = np.atleast_2d(np.asarray(predictions, dtype=float))
    data = np.asarray(data, dtype=float)
    covariance = np.asarray(covariance, dtype=float)
    n = data.shape[0]
    if predictions.shape[1:] != (n,) or covariance.shape != (n, n):
        raise SearchError(
            f"chi2 needs predictions (R, {n}) and covariance ({n}, {n}) for {n} data points; "
            f"got {predictions.shape} and {covariance.shape}"
        )
    try:
        lower = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError as exc:
        raise SearchError(
            "covariance matrix is not positive definite; check its construction"
        ) from exc
    return np.linalg.solve(lower, (predictions - data).T).T


def chi2_per_replica(
    predictions: np.ndarray, data: np.ndarray, covariance: np.ndarray
) -> np.ndarray:
    """chi2/n of each replica: ``(p_r - d) C^-1 (p_r - d) / n``, via a Cholesky solve.

    Parameters
    ----------
    predictions : (replica, point)
    data : (point,)
    covariance : (point, point), symmetric positive definite

    Returns
    -------
    (replica,)
    """
    return ensemble_chi2(whitened_residuals(predictions, data, covariance)).per_replica


@dataclass(frozen=True)
class EnsembleChi2:
    """chi2/n of an ensemble's replicas and of its mean prediction."""

    per_replica: np.ndarray  # (replica,)
    of_mean: float

    @property
    def phi2(self) -> float:
        """NNPDF's phi2: ``mean_r chi2_r/n - chi2(mean_r p_r)/n`` (>= 0 up to round-off)."""
        return float(np.mean(self.per_replica) - self.of_mean)


def ensemble_chi2(whitened: np.ndarray) -> EnsembleChi2:
    """chi2/n per replica and of the mean, from :func:`whitened_residuals` ``(replica, point)``."""
    whitened = np.atleast_2d(whitened)
    n = whitened.shape[1]
    mean = whitened.mean(axis=0)
    return EnsembleChi2(np.sum(whitened**2, axis=1) / n, float(mean @ mean) / n)


def phi2(predictions: np.ndarray, data: np.ndarray, covariance: np.ndarray) -> float:
    """NNPDF's phi2: ``mean_r chi2_r/n - chi2(mean_r p_r)/n`` (>= 0 up to round-off).

    It is the ensemble spread measured in units of the data uncertainty.
    """
    return ensemble_chi2(whitened_residuals(predictions, data, covariance)).phi2


def fold_loss(
    loss_type: str,
    replica_statistic: str,
    chi2: np.ndarray,
    phi2: float,
    penalties: Mapping[str, np.ndarray],
    penalties_in_loss: bool,
    proportion: float = REDUCE_PROPORTION,
) -> float:
    """The loss of one fold.

    ``chi2``: ``statistic(replica_statistic, chi2 + sum(penalties), proportion)`` (penalties
    only if ``penalties_in_loss``); ``phi2``: ``phi2 + sum_p mean_r(penalty_p)`` (idem).
    """
    check_loss_type(loss_type)
    chi2 = np.asarray(chi2, dtype=float)
    if loss_type == "chi2":
        if penalties_in_loss:
            chi2 = chi2 + sum((np.asarray(p, dtype=float) for p in penalties.values()), 0.0)
        return statistic(replica_statistic, chi2, proportion)
    extra = sum(float(np.mean(p)) for p in penalties.values()) if penalties_in_loss else 0.0
    return float(phi2) + extra


def trial_loss(loss_type: str, fold_statistic: str, fold_losses: Sequence[float]) -> float:
    """The loss of one trial (what TPE minimises).

    ``chi2``: ``statistic(fold_statistic, fold_losses)``, where ``average_best`` is the plain
    average (n3fit's: only replicas are dropped, never a fold). ``phi2``: its reciprocal,
    ``1 / statistic(...)``: NNPDF *maximises* phi2 among trials, preferring the ensemble with
    the largest spread relative to the data uncertainty among those that fit (an ensemble that
    is too narrow underestimates the PDF uncertainty). A statistic <= 0 (a collapsed ensemble,
    or round-off) gives ``inf`` rather than a huge negative loss that TPE would prefer.
    """
    check_loss_type(loss_type)
    name = "average" if fold_statistic == "average_best" else fold_statistic
    value = statistic(name, np.asarray(fold_losses, dtype=float))
    if loss_type == "chi2" or math.isnan(value):
        return value
    return 1.0 / value if value > 0 else math.inf
