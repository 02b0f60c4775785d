"""The toy PDF obeys the sum rules and its evolution-basis form matches the flavour form."""

import numpy as np
import pytest
from scipy.integrate import quad

from n3fit_gpu.physics.theory import BASIS
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution, toy_xf_flavour


def _flavour(pid: int):
    return lambda x: float(toy_xf_flavour(np.array([x]))[pid][0])


def _integral(function) -> float:
    # split at 1e-3: the integrands are steep at small x
    return sum(quad(function, lo, hi, limit=200)[0] for lo, hi in ((0.0, 1e-3), (1e-3, 1.0)))


def test_momentum_sum_rule():
    pids = (-4, -3, -2, -1, 1, 2, 3, 4, 21)
    total = _integral(lambda x: sum(_flavour(pid)(x) for pid in pids))
    assert total == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize(("quark", "expected"), [(2, 2.0), (1, 1.0), (3, 0.0), (4, 0.0)])
def test_valence_sum_rules(quark, expected):
    valence = _integral(lambda x: (_flavour(quark)(x) - _flavour(-quark)(x)) / x)
    assert valence == pytest.approx(expected, abs=1e-8)


def test_evolution_basis_combinations():
    x = np.geomspace(1e-6, 0.9, 13)
    flavours = toy_xf_flavour(x)
    evolution = dict(zip(BASIS, toy_xf_evolution(x, BASIS), strict=True))
    plus = {q: flavours[q] + flavours[-q] for q in (1, 2, 3, 4)}
    minus = {q: flavours[q] - flavours[-q] for q in (1, 2, 3, 4)}
    np.testing.assert_allclose(evolution["sigma"], sum(plus.values()))
    np.testing.assert_allclose(evolution["g"], flavours[21])
    np.testing.assert_allclose(evolution["v"], sum(minus.values()))
    np.testing.assert_allclose(evolution["v3"], minus[2] - minus[1])
    np.testing.assert_allclose(evolution["t8"], plus[2] + plus[1] - 2 * plus[3])
    np.testing.assert_allclose(evolution["t15"], plus[2] + plus[1] + plus[3] - 3 * plus[4])


def test_charm_is_small_symmetric_and_distinguishes_t15():
    x = np.geomspace(1e-5, 0.5, 7)
    flavours = toy_xf_flavour(x)
    np.testing.assert_array_equal(flavours[4], flavours[-4])
    assert np.all(flavours[4] > 0) and np.all(flavours[4] < 0.2 * flavours[-2])
    sigma, t15 = toy_xf_evolution(x, ("sigma", "t15"))
    assert not np.allclose(sigma, t15)
    assert np.all(toy_xf_flavour(x)[5] == 0.0)


def test_unknown_label_is_rejected():
    with pytest.raises(ValueError, match="t24"):
        toy_xf_evolution(np.array([0.1]), ("t24",))
