"""Effective exponents and the next fit's preprocessing ranges (validphys' conventions)."""

import numpy as np
import pytest

from n3fit_gpu.outputs.exportgrid import EXPORT_XGRID
from n3fit_gpu.physics.effective_exponents import (
    X_ALPHA,
    X_BETA,
    effective_exponents,
    next_ranges,
)

X = EXPORT_XGRID[EXPORT_XGRID < 1.0]  # (1-x)^b with b < 0 is infinite at x = 1


def power_law(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x f = x^(1-a) (1-x)^b, ``(R, nfl, nx)`` for exponents ``(R, nfl)``."""
    return X ** (1.0 - a[..., None]) * (1.0 - X) ** b[..., None]


def test_exponents_of_a_power_law_are_validphys_closed_form():
    """ln f = -a ln x + b ln(1-x): α_eff = a - b ln(1-x)/ln x, β_eff = b - a ln x/ln(1-x)."""
    a, b = np.array([[0.3, 1.1]]), np.array([[3.0, 7.0]])
    alpha, beta = effective_exponents(power_law(a, b), X)
    xa, xb = np.asarray(X_ALPHA), np.asarray(X_BETA)
    for k in range(2):
        np.testing.assert_allclose(
            alpha[0, k], a[0, k] - b[0, k] * np.log(1 - xa) / np.log(xa), rtol=1e-4
        )
        np.testing.assert_allclose(
            beta[0, k], b[0, k] - a[0, k] * np.log(xb) / np.log(1 - xb), rtol=2e-3
        )


def test_next_ranges_hold_every_replica_and_clip_as_validphys():
    rng = np.random.default_rng(1)
    a = np.stack([rng.uniform(0.4, 0.6, 50), rng.uniform(2.2, 2.8, 50)], axis=1)
    b = np.stack([rng.uniform(2.0, 4.0, 50), rng.uniform(-0.5, 0.2, 50)], axis=1)
    alpha, beta = effective_exponents(power_law(a, b), X)
    ranges = next_ranges(power_law(a, b), X, ["v", "t3"])
    (small, large) = ranges["v"]
    assert small[0] <= alpha[:, 0].min() and alpha[:, 0].max() <= small[1]
    assert large[0] <= beta[:, 0].min() and beta[:, 0].max() <= large[1]
    assert ranges["t3"][0][1] == 2.0  # α at most 2
    assert ranges["t3"][1][0] == 0.0  # β at least 0
    assert all(float(f"{v:.4g}") == v for pair in ranges["v"] for v in pair)  # 4 digits


def test_singlet_and_gluon_take_alpha_at_the_smallest_x_only():
    """A flavour whose small-x slope changes between x = 1e-6 and 1e-3 gets a narrower α range
    as the gluon (1e-6 only) than as a non-singlet (both points)."""
    a = np.array([[0.2], [0.3]])
    steep = power_law(a, np.full_like(a, 3.0)) + 1e-4 * power_law(a + 0.8, np.full_like(a, 3.0))
    as_gluon = next_ranges(steep, X, ["g"])["g"][0]
    as_valence = next_ranges(steep, X, ["v"])["v"][0]
    assert as_valence[0] < as_gluon[0] or as_valence[1] > as_gluon[1]
    assert as_gluon[0] >= as_valence[0] and as_gluon[1] <= as_valence[1]


def test_a_vanishing_flavour_or_a_short_grid_is_refused():
    xf = power_law(np.array([[0.5, 0.5]]), np.array([[3.0, 3.0]]))
    xf[:, 1] = 0.0
    with pytest.raises(ValueError, match="flavour t8"):
        next_ranges(np.concatenate([xf, xf]), X, ["v", "t8"])
    with pytest.raises(ValueError, match="does not reach"):
        effective_exponents(xf[..., X > 1e-5], X[X > 1e-5])
