"""Effective exponents of a fit and the preprocessing ranges of the next fit (NNPDF's iteration).

A fitted flavour behaves as ``x f ~ x^(1-α) (1-x)^β`` where the data run out; its effective
exponents at Q0 are

* ``α_eff(x) = ln|f(x)| / ln(1/x)`` at small x (``f = x f / x``), and
* ``β_eff(x) = ln|f(x)| / ln(1-x)`` at large x,

as validphys' ``alpha_eff`` / ``beta_eff`` define them. The next fit samples its preprocessing
exponents from ranges set by the replicas' spread of these (validphys'
``next_effective_exponents_table``: twice the 68% interval around the mean, evaluated at
x = 1e-6 and 1e-3 for α and at x = 0.65 and 0.95 for β; α at most 2, β at least 0; the singlet
and the gluon take α at 1e-6 only). Iterating until the ranges stop moving makes the prior of
the extrapolation regions the fit's own instead of another fit's.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

X_ALPHA = (1e-6, 1e-3)
X_BETA = (0.65, 0.95)
SMALLX_FIRST_ONLY = ("sng", "g")  # validphys: singlet and gluon take α at X_ALPHA[0] only
ALPHA_MAX = 2.0
BETA_MIN = 0.0
_LOW, _HIGH = 15.865525393145708, 84.1344746068543  # the 68% interval's percentiles


def _f_at(xf: np.ndarray, x: np.ndarray, at: Sequence[float]) -> np.ndarray:
    """``|f|`` at the points ``at`` (``(R, nfl, len(at))``), interpolating ln|x f| in ln x."""
    logs, grid, points = np.log(np.abs(xf)), np.log(x), np.log(np.asarray(at))
    upper = np.clip(np.searchsorted(grid, points), 1, len(grid) - 1)
    weight = (points - grid[upper - 1]) / (grid[upper] - grid[upper - 1])
    between = logs[..., upper - 1] * (1.0 - weight) + logs[..., upper] * weight
    return np.exp(between) / np.asarray(at)


def effective_exponents(xf: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(α_eff, β_eff)``, each ``(R, nfl, 2)``: at :data:`X_ALPHA` and :data:`X_BETA`.

    Parameters
    ----------
    xf : np.ndarray
        ``(R, nfl, nx)`` x·f of the replicas at Q0 on the increasing grid ``x``, which must
        span 1e-6 to 0.95.
    """
    x = np.asarray(x, dtype=float)
    if x[0] > X_ALPHA[0] or x[-1] < X_BETA[1]:
        raise ValueError(f"x grid [{x[0]:g}, {x[-1]:g}] does not reach 1e-6 and 0.95")
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.log(_f_at(xf, x, X_ALPHA)) / np.log(1.0 / np.asarray(X_ALPHA))
        beta = np.log(_f_at(xf, x, X_BETA)) / np.log(1.0 - np.asarray(X_BETA))
    return np.where(np.isfinite(alpha), alpha, np.nan), np.where(np.isfinite(beta), beta, np.nan)


def _band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Twice the 68% interval around the mean over replicas: ``(low, high)``, each ``(nfl, 2)``."""
    with warnings.catch_warnings():  # a flavour that vanishes is all NaN: refused below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        low, high = np.nanpercentile(values, [_LOW, _HIGH], axis=0)
    return mean - 2.0 * (mean - low), mean + 2.0 * (high - mean)


def next_ranges(
    xf: np.ndarray, x: np.ndarray, flavours: Sequence[str]
) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """The next fit's ``(smallx, largex)`` range per fitted flavour, 4 significant digits."""
    alpha, beta = effective_exponents(xf, x)
    a_low, a_high = _band(alpha)
    b_low, b_high = _band(beta)
    ranges = {}
    for k, fl in enumerate(flavours):
        points = slice(0, 1) if fl in SMALLX_FIRST_ONLY else slice(None)
        smallx = (a_low[k, points].min(), min(ALPHA_MAX, a_high[k, points].max()))
        largex = (max(BETA_MIN, b_low[k].min()), b_high[k].max())
        if not np.all(np.isfinite([*smallx, *largex])):
            raise ValueError(f"flavour {fl}: its effective exponents are not finite (f = 0?)")
        ranges[fl] = (_rounded(smallx), _rounded(largex))
    return ranges


def _rounded(pair) -> tuple[float, float]:
    return tuple(float(f"{value:.4g}") for value in pair)
