"""Closure estimators on synthetic ensembles whose answer is known: a faithful Gaussian
ensemble gives R_bv ≈ 1, ξ_1σ ≈ 0.68, 68% coverage and no pull; a shifted or a too narrow one
does not."""

import numpy as np
import pytest

from n3fit_gpu.physics.closure import data_space, x_space

N, R, L = 40, 400, 60  # points, replicas per fit, fits


def _fits(rng, covariance, shift=0.0, width=1.0):
    """L fits: each centred on truth (0) + a draw from C (+ shift), replicas of width·C."""
    chol = np.linalg.cholesky(covariance)
    fits = []
    for _ in range(L):
        centre = chol @ rng.standard_normal(N) + shift
        fits.append(centre + width * rng.standard_normal((R, N)) @ chol.T)
    return fits


@pytest.fixture
def covariance():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((N, 5))
    return np.diag(rng.uniform(0.5, 2.0, N)) + a @ a.T


def test_a_faithful_ensemble_scores_as_faithful(covariance):
    rng = np.random.default_rng(2)
    fits = _fits(rng, covariance)
    result = data_space(fits, np.zeros(N), covariance)
    assert result.r_bv == pytest.approx(1.0, abs=0.06)
    assert result.xi_1sigma == pytest.approx(0.683, abs=0.02)
    assert result.bias.shape == result.variance.shape == (L,)
    # bootstrap errors: R_bv of 60 fits is known to a few percent, ξ_1σ to about 0.01
    assert 0.005 < result.r_bv_error < 0.08 and 0.002 < result.xi_1sigma_error < 0.03
    single = data_space(fits[:1], np.zeros(N), covariance)
    assert np.isnan(single.r_bv_error) and np.isnan(single.xi_1sigma_error)


def test_bootstrap_errors_shrink_with_more_fits(covariance):
    fits = _fits(np.random.default_rng(5), covariance)
    few, many = (data_space(fits[:k], np.zeros(N), covariance) for k in (6, 60))
    assert few.r_bv_error > 2 * many.r_bv_error


def test_a_too_narrow_ensemble_has_r_bv_above_one_and_low_coverage(covariance):
    rng = np.random.default_rng(3)
    result = data_space(_fits(rng, covariance, width=0.5), np.zeros(N), covariance)
    assert result.r_bv == pytest.approx(2.0, rel=0.1)
    assert result.xi_1sigma < 0.45


def test_x_space_coverage_and_pulls():
    rng = np.random.default_rng(4)
    labels, x = ("a", "b"), np.linspace(0.1, 0.9, 9)
    truth = np.zeros((2, x.size))
    fits = []
    for _ in range(L):
        centre = rng.standard_normal((2, x.size))
        centre[1] += 1.0  # flavour b pulled by +1σ in every fit
        fits.append(centre + rng.standard_normal((R, 2, x.size)))
    result = x_space(fits, truth, labels, x)
    assert result.coverage[0] == pytest.approx(0.683, abs=0.04)
    assert result.pull[0] == pytest.approx(0.0, abs=0.1)
    assert result.pull[1] == pytest.approx(1.0, abs=0.1)
    assert result.coverage[1] < 0.55
    assert result.pull_by_x.shape == (2, x.size)
    # each fit's pull is its centre's mean over x (1/√9 spread): the error of the mean over L
    assert result.pull_error == pytest.approx(np.full(2, 1 / 3 / np.sqrt(L)), rel=0.35)
    assert np.isnan(x_space(fits[:1], truth, labels, x).pull_error).all()
