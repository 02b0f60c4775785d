"""Monte Carlo replicas of the data and per-replica training/validation masks.

Replica ``r`` of the data fluctuates every uncertainty source with a standard normal number
drawn from its own generator, seeded by ``(mcseed, r)``:

* additive (ADD) sources shift the value, multiplicative (MULT) ones scale it by
  ``1 + z σ / central``: ``pseudodata = (central + Σ z_a σ_a) Π (1 + z_m σ_m / central)``;
* statistical and UNCORR/THEORYUNCORR sources draw one number per point, CORR/THEORYCORR one per
  dataset and source, and a source with any other name one number shared by every dataset that
  carries that name (as :func:`n3fit_gpu.physics.covariance.correlation_key` groups them); SKIP
  sources are ignored.

So the replicas have mean ``central`` and covariance :func:`build_covariance` (to first order in
the multiplicative uncertainties). As in n3fit 4.1.5 (``resample_negative_pseudodata``, false
by default) every draw is kept, so a replica may hold a negative value where a point's
uncertainty is comparable to its value (large-x neutrino or high-Q² HERA points); with
``resample_negative=True`` a replica with any negative unpolarised value (structure functions,
reduced cross sections; not ``DIS_POL`` g1 or asymmetries) is redrawn from the same generator,
which shifts such points' mean upwards (up to ~1σ for CHORUS ν̄ at large x).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from n3fit_gpu.errors import DataError
from n3fit_gpu.physics.commondata import CommonData
from n3fit_gpu.physics.covariance import UNCORRELATED, correlation_key

MAX_DRAWS = 1000


def replica_seed(base_seed: int, replica: int) -> np.random.Generator:
    """The generator of replica ``replica``: independent streams for every (seed, replica)."""
    return np.random.default_rng(np.random.SeedSequence([base_seed, replica]))


@dataclass(frozen=True)
class _Shifts:
    """How one dataset's columns draw their random numbers (built once for all replicas)."""

    cd: CommonData
    per_point: np.ndarray  # (nsys,) bool: one number per point (UNCORR)
    shared: np.ndarray  # (nsys,) int: index of the shared number, -1 if none
    additive: np.ndarray  # (nsys,) bool: ADD (else MULT)
    relative: np.ndarray  # (ndata, nsys) σ / central, for the MULT columns
    positive: bool  # redraw replicas with negative values


def _layout(datasets: Sequence[CommonData]) -> tuple[list[_Shifts], int]:
    """Per-dataset draw plans and the number of shared (correlated) numbers."""
    keys: dict[str, int] = {}
    plans = []
    for cd in datasets:
        shared = np.full(len(cd.sys_names), -1)
        for j in range(len(cd.sys_names)):
            key = correlation_key(cd, j)
            if key is not None:
                shared[j] = keys.setdefault(key, len(keys))
        central = np.where(cd.central != 0, cd.central, 1.0)[:, None]
        plans.append(
            _Shifts(
                cd=cd,
                per_point=np.array([n in UNCORRELATED for n in cd.sys_names], dtype=bool),
                shared=shared,
                additive=np.array([t == "ADD" for t in cd.sys_treatment], dtype=bool),
                relative=np.where(cd.central[:, None] != 0, cd.sys / central, 0.0),
                positive=not cd.process_type.upper().startswith("DIS_POL"),
            )
        )
    return plans, len(keys)


def _draw(plan: _Shifts, shared: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One replica of one dataset ``(ndata,)`` given the shared numbers ``(nshared,)``."""
    cd = plan.cd
    z = np.zeros(cd.sys.shape)
    z[:, plan.per_point] = rng.standard_normal((cd.ndata, int(plan.per_point.sum())))
    correlated = plan.shared >= 0
    z[:, correlated] = shared[plan.shared[correlated]][None, :]
    shift = cd.stat * rng.standard_normal(cd.ndata) + np.sum(z * cd.sys * plan.additive, axis=1)
    factors = np.where(plan.additive, 1.0, 1.0 + z * plan.relative)
    return (cd.central + shift) * np.prod(factors, axis=1)


def sample_replicas(
    datasets: Sequence[CommonData],
    seed: int,
    replicas: Sequence[int],
    resample_negative: bool = False,
) -> np.ndarray:
    """Pseudodata of several replicas, ``(len(replicas), n)`` over the concatenated datasets.

    Row ``i`` depends only on ``(seed, replicas[i])`` and the datasets, not on the other rows.

    Raises
    ------
    DataError
        with ``resample_negative``, if a replica still has a negative unpolarised value after
        ``MAX_DRAWS`` draws.
    """
    plans, nshared = _layout(datasets)
    rows = []
    for replica in replicas:
        rng = replica_seed(seed, replica)
        for _ in range(MAX_DRAWS):
            shared = rng.standard_normal(nshared)
            parts = [_draw(plan, shared, rng) for plan in plans]
            negative = [
                plan.cd.name
                for plan, part in zip(plans, parts, strict=True)
                if resample_negative and plan.positive and np.any(part < 0)
            ]
            if not negative:
                break
        else:
            raise DataError(
                f"replica {replica}: pseudodata of {negative[0]} stayed negative after "
                f"{MAX_DRAWS} draws; set resample_negative_pseudodata: false (n3fit's default) "
                "or check its uncertainties (a point with σ ≫ its value?)"
            )
        rows.append(np.concatenate(parts) if parts else np.zeros(0))
    return np.stack(rows) if rows else np.zeros((0, sum(cd.ndata for cd in datasets)))


def sample_pseudodata(datasets: Sequence[CommonData], seed: int, replica: int) -> np.ndarray:
    """Pseudodata ``(n,)`` of replica ``replica`` (generator seeded by ``(seed, replica)``)."""
    return sample_replicas(datasets, seed, [replica])[0]


def component_masks(
    n: int, frac: float, trvlseed: int, replicas: Sequence[int], same_trvl_per_replica: bool = False
) -> np.ndarray:
    """Training masks ``(len(replicas), n)`` over the components of the diagonal basis
    (:mod:`.diagonal`): exactly ``int(frac · n)`` per replica, as n3fit's ``diagonal_masks``,
    shuffled by the generator of ``(trvlseed, replica)`` (or ``(trvlseed, 0)`` for all)."""
    if not 0 < frac <= 1:
        raise DataError(f"training fraction diagonal_frac={frac} must be in (0, 1]")
    masks = np.zeros((len(replicas), n), dtype=bool)
    for row, replica in enumerate(replicas):
        rng = replica_seed(trvlseed, 0 if same_trvl_per_replica else replica)
        masks[row, rng.permutation(n)[: int(frac * n)]] = True
    return masks


def training_masks(
    ndata: Sequence[int],
    fracs: Sequence[float],
    trvlseed: int,
    replicas: Sequence[int],
    same_trvl_per_replica: bool = False,
) -> np.ndarray:
    """Training masks ``(len(replicas), Σ ndata)`` bool; False marks validation points.

    Per dataset ``int(frac · ndata)`` points, drawn at random without replacement from the
    generator seeded by ``(trvlseed, replica)`` — or ``(trvlseed, 0)`` for every replica when
    ``same_trvl_per_replica``. ``frac = 1`` puts every point in training.
    """
    if len(ndata) != len(fracs):
        raise ValueError(f"{len(fracs)} fractions for {len(ndata)} datasets")
    for frac in fracs:
        if not 0 < frac <= 1:
            raise DataError(f"training fraction frac={frac} must be in (0, 1]")
    masks = np.zeros((len(replicas), int(sum(ndata))), dtype=bool)
    offsets = np.cumsum([0, *ndata])
    for row, replica in enumerate(replicas):
        rng = replica_seed(trvlseed, 0 if same_trvl_per_replica else replica)
        for start, n, frac in zip(offsets[:-1], ndata, fracs, strict=True):
            chosen = rng.permutation(n)[: int(frac * n)]
            masks[row, start + chosen] = True
    return masks
