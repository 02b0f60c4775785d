"""Closure-test data: level 0 is the truth exactly; level 1 fluctuates by the covariance."""

from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.config import load_runcard
from n3fit_gpu.physics.covariance import chi2
from n3fit_gpu.physics.fit_data import load_fit_data, predict
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution

CLOSURE = Path(__file__).resolve().parents[2] / "runcards" / "closure.yml"


@pytest.fixture(scope="module")
def setup():
    card = load_runcard(CLOSURE)
    return card, load_theory(card.theory.theoryid)


def truth_predictions(data, theory):
    truth = toy_xf_evolution(theory.xgrid, theory.basis)
    return np.concatenate([predict(obs, truth) for obs in data.observables])


def test_level0_chi2_is_exactly_zero(setup):
    card, theory = setup
    ct = card.closuretest.model_copy(update={"fakenoise": False})
    card0 = card.model_copy(update={"closuretest": ct, "genrep": False})
    data = load_fit_data(card0, theory, [1])
    assert chi2(truth_predictions(data, theory) - data.central, data.covariance) == 0.0
    np.testing.assert_array_equal(data.pseudodata[0], data.central)


def test_level1_chi2_per_point_is_about_one(setup):
    card, theory = setup
    data = load_fit_data(card, theory, [1])
    n = data.central.size
    value = chi2(truth_predictions(data, theory) - data.central, data.covariance) / n
    assert abs(value - 1.0) < 4 * np.sqrt(2.0 / n)  # χ²/N of N Gaussian draws: σ = √(2/N)
    other = card.closuretest.model_copy(update={"filterseed": card.closuretest.filterseed + 1})
    shifted = load_fit_data(card.model_copy(update={"closuretest": other}), theory, [1])
    assert not np.allclose(shifted.central, data.central)
