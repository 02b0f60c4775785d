"""Ensemble selection across trials: greedy forward selection of members, Pareto fronts.

A *member* is one replica of one trial, ``(tid, replica)``, with its predictions on common
held-out points (for a k-fold scan: each point predicted by the fold that did not train on
it) and an inference cost. A candidate ensemble is scored against the central data with the
data covariance by :data:`CRITERIA` (lower is better), all chi2 per point:

- ``chi2_mean``: chi2 of the ensemble-mean prediction (the central PDF of the set);
- ``chi2_replicas``: the mean of the members' chi2 (how well a typical replica fits);

and φ² (their difference, :class:`~n3fit_gpu.search.statistics.EnsembleChi2`) is always
reported alongside.

Greedy forward selection (the ensemble selection of Caruana et al., ICML 2004, without
replacement): start empty; at each step add the *unit* whose addition gives the lowest
criterion: a whole trial (all its members), or with ``replica_level`` one member. Stop when
the best addition does not lower the criterion strictly, or when no unit fits in the budget
``max_replicas``. Ties go to the lowest ``(tid, replica)``. Every prefix of the path is an
ensemble the criterion preferred at its size, so the path and each unit alone are the
candidates of the multi-objective view: the Pareto fronts of (criterion, replicas) and
(criterion, inference cost).

Cost: all candidates of a step are scored at once from running sums of whitened residuals
(:func:`~n3fit_gpu.search.statistics.whitened_residuals`, one Cholesky solve for all
members), ``O(units x points)`` per step; members ``(M, n)`` float64 are held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.statistics import ensemble_chi2, whitened_residuals

CRITERIA = ("chi2_mean", "chi2_replicas")
DEFAULT_CRITERION = "chi2_mean"
DEFAULT_MAX_REPLICAS = 100  # the budget of `hyperscan ensemble`: NNPDF's standard set size


@dataclass(frozen=True)
class Members:
    """Candidate members, sorted by ``(tid, replica)``.

    Parameters
    ----------
    tids, replicas : (M,) int
    predictions : (M, n) finite, on the same points as the data
    cost : (M,) inference cost per member (e.g. network weights); ones when not given
    """

    tids: np.ndarray
    replicas: np.ndarray
    predictions: np.ndarray
    cost: np.ndarray

    @classmethod
    def build(
        cls,
        tids: Sequence[int],
        replicas: Sequence[int],
        predictions: np.ndarray,
        cost: Sequence[float] | None = None,
    ) -> Members:
        """Validate and sort by ``(tid, replica)``."""
        tids, replicas = np.asarray(tids, np.int64), np.asarray(replicas, np.int64)
        predictions = np.atleast_2d(np.asarray(predictions, float))
        cost = np.ones(tids.size) if cost is None else np.asarray(cost, float)
        if not tids.size == replicas.size == predictions.shape[0] == cost.size:
            raise SearchError(
                f"members: {tids.size} tids, {replicas.size} replicas, "
                f"{predictions.shape[0]} prediction rows and {cost.size} costs; need one each"
            )
        if tids.size == 0:
            raise SearchError("no members to select from")
        if not np.isfinite(predictions).all():
            raise SearchError("members' predictions must be finite; drop diverged replicas")
        order = np.lexsort((replicas, tids))
        pairs = np.stack([tids[order], replicas[order]], axis=1)
        if (np.diff(pairs, axis=0) == 0).all(axis=1).any():
            raise SearchError("a (tid, replica) member appears twice")
        return cls(tids[order], replicas[order], predictions[order], cost[order])

    def pairs(self, rows: Sequence[int]) -> list[tuple[int, int]]:
        """``(tid, replica)`` of the given rows."""
        return [(int(self.tids[i]), int(self.replicas[i])) for i in rows]


@dataclass(frozen=True)
class Scores:
    """chi2 per point of an ensemble's mean prediction and its members' mean, and φ²."""

    chi2_mean: float
    chi2_replicas: float
    phi2: float

    def criterion(self, name: str) -> float:
        return getattr(self, name)


@dataclass(frozen=True)
class Ensemble:
    """A candidate ensemble: member rows (in the order added), size, cost, scores."""

    rows: tuple[int, ...]
    cost: float
    scores: Scores

    @property
    def replicas(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Selection:
    """The greedy path (the ensemble after each step), the units alone, and the choice.

    ``chosen`` is the end of the path; ``front_replicas`` and ``front_cost`` are the Pareto
    fronts of (criterion, replicas) and (criterion, cost) over ``path + units``, by size.
    """

    criterion: str
    replica_level: bool
    max_replicas: int | None
    path: tuple[Ensemble, ...]
    units: tuple[Ensemble, ...]
    front_replicas: tuple[Ensemble, ...]
    front_cost: tuple[Ensemble, ...]

    @property
    def chosen(self) -> Ensemble:
        return self.path[-1]


def check_criterion(name: str) -> None:
    """Raise :class:`SearchError` unless ``name`` is one of :data:`CRITERIA`."""
    if name not in CRITERIA:
        raise SearchError(f"unknown criterion {name!r}; use one of {', '.join(CRITERIA)}")


# The criterion of (ensemble so far + each unit) from running sums over its members: size
# (K,), whitened residuals (K, n) and chi2 per point (K,).
def _chi2_mean(size: np.ndarray, residuals: np.ndarray, chi2: np.ndarray) -> np.ndarray:
    mean = residuals / size[:, None]
    return np.sum(mean**2, axis=1) / residuals.shape[1]


def _chi2_replicas(size: np.ndarray, residuals: np.ndarray, chi2: np.ndarray) -> np.ndarray:
    return chi2 / size


_CRITERION_OF_SUMS: dict[str, Callable[..., np.ndarray]] = {
    "chi2_mean": _chi2_mean,
    "chi2_replicas": _chi2_replicas,
}


def _units(members: Members, replica_level: bool) -> list[np.ndarray]:
    """Member rows per unit, in ``(tid, replica)`` order: one per member, or one per trial."""
    if replica_level:
        return [np.array([i]) for i in range(members.tids.size)]
    starts = np.flatnonzero(np.diff(members.tids, prepend=members.tids[0] - 1))
    return np.split(np.arange(members.tids.size), starts[1:])


def _ensemble(rows: Sequence[int], whitened: np.ndarray, cost: np.ndarray) -> Ensemble:
    chi2 = ensemble_chi2(whitened[list(rows)])
    scores = Scores(chi2.of_mean, float(np.mean(chi2.per_replica)), chi2.phi2)
    return Ensemble(tuple(int(i) for i in rows), float(cost[list(rows)].sum()), scores)


def _greedy(
    units: list[np.ndarray], whitened: np.ndarray, criterion: str, max_replicas: int | None
) -> list[list[int]]:
    """The units added at each step, in order."""
    score = _CRITERION_OF_SUMS[criterion]
    unit_size = np.array([u.size for u in units], float)
    unit_residuals = np.stack([whitened[u].sum(axis=0) for u in units])
    unit_chi2 = np.array([np.sum(whitened[u] ** 2) for u in units]) / whitened.shape[1]
    available = np.ones(len(units), bool)
    size, residuals, chi2, current = 0.0, np.zeros(whitened.shape[1]), 0.0, np.inf
    steps: list[list[int]] = []
    while True:
        fits = available & (max_replicas is None or size + unit_size <= max_replicas)
        if not fits.any():
            return steps
        values = score(size + unit_size, residuals + unit_residuals, chi2 + unit_chi2)
        values = np.where(fits, values, np.inf)
        best = int(np.argmin(values))  # the first of equal values: lowest (tid, replica)
        if not values[best] < current:
            return steps
        current = values[best]
        size, chi2 = size + unit_size[best], chi2 + unit_chi2[best]
        residuals = residuals + unit_residuals[best]
        available[best] = False
        steps.append(units[best].tolist())


def select_ensemble(
    members: Members,
    central: np.ndarray,
    covariance: np.ndarray,
    criterion: str = DEFAULT_CRITERION,
    max_replicas: int | None = None,
    replica_level: bool = False,
) -> Selection:
    """Greedy forward selection of members (see the module docstring).

    Parameters
    ----------
    members : the candidates, predictions ``(M, n)``
    central : (n,) the data's central values
    covariance : (n, n) the data covariance (full, or block-diagonal per fold)
    criterion : one of :data:`CRITERIA`
    max_replicas : the size budget; ``None``: no budget
    replica_level : add single members instead of whole trials
    """
    check_criterion(criterion)
    if max_replicas is not None and max_replicas < 1:
        raise SearchError(f"max_replicas must be >= 1; got {max_replicas}")
    whitened = whitened_residuals(members.predictions, central, covariance)
    units = _units(members, replica_level)
    steps = _greedy(units, whitened, criterion, max_replicas)
    if not steps:
        smallest = min(u.size for u in units)
        raise SearchError(
            f"no trial fits in max_replicas={max_replicas} (the smallest has {smallest} "
            "replicas); raise the budget or select single replicas"
        )
    rows: list[int] = []
    path = []
    for step in steps:
        rows += step
        path.append(_ensemble(rows, whitened, members.cost))
    alone = tuple(_ensemble(u, whitened, members.cost) for u in units)
    candidates = [*path, *alone]
    values = [c.scores.criterion(criterion) for c in candidates]
    front_replicas = pareto_front(list(zip(values, [c.replicas for c in candidates])))
    front_cost = pareto_front(list(zip(values, [c.cost for c in candidates])))
    return Selection(
        criterion,
        replica_level,
        max_replicas,
        tuple(path),
        alone,
        tuple(candidates[i] for i in front_replicas),
        tuple(candidates[i] for i in front_cost),
    )


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point dominates (both objectives minimised).

    Ordered by the second objective (then the first); of identical points only the first is
    kept, so the result is deterministic.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][1], points[i][0], i))
    front, best = [], np.inf
    for i in order:
        if points[i][0] < best:
            front.append(i)
            best = points[i][0]
    return front
