"""The sum-rule quadrature is accurate, and the normalised PDF satisfies the sum rules."""

import numpy as np
import pytest

from n3fit_gpu.physics.sumrules import integration_grid


def _fine(g):
    x = np.concatenate([np.geomspace(1e-9, 0.1, 200_000), np.linspace(0.1, 1, 200_000)[1:]])
    return np.trapezoid(g(x), x)


@pytest.mark.parametrize(
    "alpha, beta", [(0.5, 3.0), (0.74, 1.5), (1.1, 3.1), (-0.45, 1.7), (1.0, 5.7)]
)
def test_quadrature_matches_fine_grid(alpha, beta):
    """Integrands of the shapes the fit meets: x^(-α)(1-x)^β times a smooth factor."""
    x, w = integration_grid()

    def g(x):
        return x ** (-alpha + 1e-9) * (1 - x) ** beta * (1 + np.tanh(3 * np.log(x) / 10) * 0.5)

    assert np.sum(w * g(x)) == pytest.approx(_fine(g), rel=2e-5)


def test_grid_is_cheap():
    x, _ = integration_grid()
    assert x.size <= 64 and np.all((x > 1e-9) & (x < 1))
