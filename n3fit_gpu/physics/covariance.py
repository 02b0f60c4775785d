"""Experimental covariance of several datasets, kept in low-rank form ``C = D + A Aᵀ``.

``D`` ``(n,)`` holds statistical² + uncorrelated² per point; ``A`` ``(n, k)`` holds one column
per correlated systematic source. A source called CORR/THEORYCORR is correlated within its
dataset only (its own column); a source with any other name (e.g. HERA's ``HC_sys1``, BCDMS's
``BCDMSFB``) is one column shared by every dataset that carries that name.

Why not the dense ``(n, n)`` matrix: every replica has its own random training subset, so the
fit needs, per replica, χ² with the inverse of ``C`` restricted to that subset. Dense, that is
R inverses of ``(n, n)`` matrices (R n³ work, R n² memory: 6 GB for 1,000 replicas × 1,250
points). With ``C = D + A Aᵀ``, Woodbury's identity inverts the restricted matrix through a
``(k, k)`` one, ``k`` ≈ the number of correlated sources (~200 for the DIS data), at
``R (n k² + k³)`` work and ``R k²`` memory (see :mod:`n3fit_gpu.physics.losses`).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from n3fit_gpu.errors import DataError
from n3fit_gpu.physics.commondata import CommonData

UNCORRELATED = frozenset({"UNCORR", "THEORYUNCORR"})
DATASET_CORRELATED = frozenset({"CORR", "THEORYCORR"})
IGNORED = frozenset({"SKIP"})


@dataclass(frozen=True)
class Covariance:
    """``C = diag(diag) + sys @ sys.T`` over the concatenated points of several datasets.

    ``diag`` ``(n,)`` (all > 0), ``sys`` ``(n, k)``, ``sys_names`` ``(k,)`` names each column: the
    shared source name, or ``<dataset>:<name>:<column>`` for a within-dataset one.
    """

    diag: np.ndarray
    sys: np.ndarray
    sys_names: tuple[str, ...]

    def dense(self) -> np.ndarray:
        """The full ``(n, n)`` matrix."""
        return np.diag(self.diag) + self.sys @ self.sys.T

    def block(self, start: int, stop: int) -> "Covariance":
        """The covariance of points ``start:stop`` (e.g. one dataset), same columns."""
        return Covariance(self.diag[start:stop], self.sys[start:stop], self.sys_names)


def correlation_key(cd: CommonData, column: int) -> str | None:
    """Which shared column systematic ``column`` of ``cd`` feeds, or None if it has none.

    None for uncorrelated (UNCORR, THEORYUNCORR) and ignored (SKIP) sources; the source name for
    cross-dataset ones; ``<dataset>:<name>:<column>`` for CORR/THEORYCORR.
    """
    name = cd.sys_names[column]
    if name in UNCORRELATED or name in IGNORED:
        return None
    if name in DATASET_CORRELATED:
        return f"{cd.name}:{name}:{column}"
    return name


def absolute_sys(cd: CommonData, t0: np.ndarray | None = None) -> np.ndarray:
    """``cd.sys`` ``(ndata, nsys)``, with MULT columns rescaled by ``t0 / central`` if ``t0``.

    The t0 prescription takes multiplicative uncertainties relative to a theory prediction
    ``t0`` ``(ndata,)`` instead of to the measured value (avoids the d'Agostini bias).
    """
    if t0 is None:
        return cd.sys
    t0 = np.asarray(t0, dtype=float)
    if t0.shape != (cd.ndata,):
        raise ValueError(f"t0 for {cd.name} has shape {t0.shape}; expected ({cd.ndata},)")
    ratio = np.divide(t0, cd.central, out=np.zeros(cd.ndata), where=cd.central != 0)
    mult = np.array([t == "MULT" for t in cd.sys_treatment], dtype=bool)
    return np.where(mult[None, :], cd.sys * ratio[:, None], cd.sys)


def build_covariance(
    datasets: Sequence[CommonData], t0: Sequence[np.ndarray] | None = None
) -> Covariance:
    """Low-rank covariance of ``datasets`` (in order), optionally with the t0 prescription.

    Parameters
    ----------
    datasets : Sequence[CommonData]
        the datasets, after cuts.
    t0 : Sequence[np.ndarray] | None
        one ``(ndata,)`` t0 prediction per dataset; None for the experimental covariance.

    Raises
    ------
    DataError
        if the matrix is not positive definite (a point with zero statistical + uncorrelated
        uncertainty), naming the dataset and point.
    """
    if t0 is not None and len(t0) != len(datasets):
        raise ValueError(f"{len(t0)} t0 predictions for {len(datasets)} datasets")
    offsets = np.cumsum([0] + [cd.ndata for cd in datasets])
    diag = np.zeros(offsets[-1])
    columns: dict[str, np.ndarray] = {}
    for i, cd in enumerate(datasets):
        rows = slice(offsets[i], offsets[i + 1])
        sys = absolute_sys(cd, None if t0 is None else t0[i])
        diag[rows] = cd.stat**2
        for j, name in enumerate(cd.sys_names):
            key = correlation_key(cd, j)
            if key is not None:
                columns.setdefault(key, np.zeros(offsets[-1]))[rows] += sys[:, j]
            elif name in UNCORRELATED:
                diag[rows] += sys[:, j] ** 2
    _check_positive(diag, datasets, offsets)
    sys = np.stack(list(columns.values()), axis=1) if columns else np.zeros((offsets[-1], 0))
    if not np.all(np.isfinite(sys)):
        raise DataError("a correlated systematic is not finite; check the uncertainty files")
    return Covariance(diag=diag, sys=sys, sys_names=tuple(columns))


def _check_positive(diag: np.ndarray, datasets: Sequence[CommonData], offsets) -> None:
    """``D > 0`` makes ``D + A Aᵀ`` positive definite; a zero entry makes it singular."""
    bad = np.flatnonzero(~(diag > 0) | ~np.isfinite(diag))
    if bad.size:
        i = int(np.searchsorted(offsets, bad[0], side="right") - 1)
        cd = datasets[i]
        point = int(cd.indices[bad[0] - offsets[i]])
        raise DataError(
            f"covariance not positive definite: point {point} of {cd.name} has statistical + "
            f"uncorrelated uncertainty² = {diag[bad[0]]} ({bad.size} such points in all); "
            "cut those points or use another variant"
        )


def chi2(residual: np.ndarray, cov: Covariance) -> np.ndarray:
    """Exact χ² = rᵀ C⁻¹ r of ``residual`` ``(..., n)`` through the Cholesky factor of C.

    Returns
    -------
    np.ndarray
        shape ``(...)``.
    """
    residual = np.asarray(residual, dtype=float)
    n = residual.shape[-1]
    lower = np.linalg.cholesky(cov.dense())
    whitened = np.linalg.solve(lower, residual.reshape(-1, n).T)
    return np.sum(whitened**2, axis=0).reshape(residual.shape[:-1])
