"""The stacked PDF model: shapes, per-replica seeds, and sum rules checked on a fine grid."""

import numpy as np
import pytest

from n3fit_gpu.physics.pdf_model import StackedPDF, evaluate
from n3fit_gpu.physics.preprocessing import FlavourPreprocessing
from n3fit_gpu.physics.theory import BASIS

EVOL_RANGES = {
    "sng": ((1.089, 1.119), (1.475, 3.119)),
    "g": ((0.7504, 1.098), (2.814, 5.669)),
    "v": ((0.479, 0.7384), (1.549, 3.532)),
    "v3": ((0.1073, 0.4397), (1.733, 3.458)),
    "v8": ((0.5507, 0.7837), (1.516, 3.356)),
    "t3": ((-0.4506, 0.9305), (1.745, 3.424)),
    "t8": ((0.5877, 0.8687), (1.522, 3.515)),
    "t15": ((1.089, 1.141), (1.492, 3.222)),
}


def make_model(seeds, sum_rules="ALL"):
    basis = [FlavourPreprocessing(fl, lo, hi) for fl, (lo, hi) in EVOL_RANGES.items()]
    model = StackedPDF(
        seeds, [25, 20, 8], ["tanh", "tanh", "linear"], "glorot_normal", basis, BASIS, sum_rules
    )
    model.build((10,))
    return model


def _integral(model, weight):
    x = np.concatenate([np.geomspace(1e-9, 0.1, 100_000), np.linspace(0.1, 1 - 1e-9, 100_000)[1:]])
    xf = evaluate(model, x)  # (R, n, 9)
    return np.trapezoid(weight(x)[None, :, None] * xf, x, axis=1)  # (R, 9)


def test_sum_rules_hold_on_a_fine_grid(float64):
    model = make_model([1, 2, 3])
    momentum = _integral(model, lambda x: np.ones_like(x))
    number = _integral(model, lambda x: 1 / x)
    idx = {label: i for i, label in enumerate(BASIS)}
    np.testing.assert_allclose(momentum[:, idx["sigma"]] + momentum[:, idx["g"]], 1.0, rtol=1e-4)
    np.testing.assert_allclose(number[:, idx["v"]], 3.0, rtol=1e-4)
    np.testing.assert_allclose(number[:, idx["v3"]], 1.0, rtol=1e-4)
    np.testing.assert_allclose(number[:, idx["v8"]], 3.0, rtol=1e-4)


def test_replica_depends_only_on_its_seed(float64):
    x = np.geomspace(1e-5, 0.9, 20)
    stacked = evaluate(make_model([5, 6, 7]), x)
    alone = evaluate(make_model([6]), x)
    np.testing.assert_allclose(stacked[1], alone[0], rtol=1e-12)
    assert not np.allclose(stacked[0], stacked[1])


def test_without_sum_rules_momentum_is_not_one(float64):
    momentum = _integral(make_model([1], sum_rules="NONE"), lambda x: np.ones_like(x))
    assert abs(momentum[0, 0] + momentum[0, 1] - 1.0) > 1e-3


@pytest.mark.parametrize("bad", ["XYZ"])
def test_unknown_sum_rule_mode(bad):
    from n3fit_gpu.errors import RunCardError

    with pytest.raises(RunCardError):
        evaluate(make_model([1], sum_rules=bad), np.array([0.1]))
