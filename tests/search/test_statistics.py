"""Statistics and losses against hand computations."""

import math

import numpy as np
import pytest

from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.statistics import (
    chi2_per_replica,
    fold_loss,
    phi2,
    statistic,
    trial_loss,
)

TEN = np.array([3.0, 1.0, 2.0, 10.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])


def test_statistics_by_hand():
    assert statistic("average", TEN) == pytest.approx(5.5)
    assert statistic("average_best", TEN) == pytest.approx(45 / 9)  # ceil(8.5) = 9: drops 10
    assert statistic("best_worst", TEN) == 10.0
    assert statistic("std", [1.0, 3.0]) == pytest.approx(1.0)  # population std, ddof=0


FOUR = np.array([1.2, 1.4, 1.1, 75.0])  # four replicas, one outlier


def test_average_best_keeps_ceil_of_n3fits_reduce_proportion():
    """n3fit keeps ceil(0.85 n): all of 4 replicas (ceil(3.4) = 4), 6 of 7 (ceil(5.95))."""
    assert statistic("average_best", FOUR) == pytest.approx((1.2 + 1.4 + 1.1 + 75.0) / 4)
    assert statistic("average_best", FOUR, 0.75) == pytest.approx((1.2 + 1.4 + 1.1) / 3)
    seven = np.r_[FOUR, 1.3, 1.0, 1.5]
    assert statistic("average_best", seven) == pytest.approx(
        (1.2 + 1.4 + 1.1 + 1.3 + 1.0 + 1.5) / 6
    )
    twenty = np.arange(20.0)  # 0.85 * 20 = 17 exactly: keeps 17
    assert statistic("average_best", twenty) == pytest.approx(np.mean(np.arange(17.0)))
    with pytest.raises(SearchError, match="reduce_proportion"):
        statistic("average_best", FOUR, 0.0)


def test_over_folds_average_best_is_the_average_as_in_n3fit():
    folds = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 50.0]  # 0.85 over replicas would drop the 50
    assert trial_loss("chi2", "average_best", folds) == pytest.approx(78 / 8)
    assert trial_loss("chi2", "best_worst", folds) == 50.0
    assert trial_loss("chi2", "std", [1.0, 3.0]) == pytest.approx(1.0)


def test_fold_loss_passes_the_proportion():
    assert fold_loss("chi2", "average_best", FOUR, 0.0, {}, False, 0.75) == pytest.approx(3.7 / 3)
    assert fold_loss("chi2", "average_best", FOUR, 0.0, {}, False) == pytest.approx(78.7 / 4)


def test_average_best_rounds_up_and_drops_nan_outside_best_fraction():
    assert statistic("average_best", [1.0, 2.0, 3.0]) == pytest.approx(2.0)  # ceil(2.55) = 3
    with_nan = np.array([np.nan, 1, 2, 3, 4, 5, 6, 7, 8, 9])  # the NaN is the dropped one
    assert statistic("average_best", with_nan) == pytest.approx(5.0)
    assert math.isnan(statistic("average_best", [np.nan, np.nan, 1.0]))


@pytest.mark.parametrize("name", ["average", "best_worst", "std"])
def test_other_statistics_propagate_nan(name):
    assert math.isnan(statistic(name, [1.0, np.nan]))


def test_unknown_statistic_or_empty_values_raise():
    with pytest.raises(SearchError, match="median"):
        statistic("median", TEN)
    with pytest.raises(SearchError):
        statistic("average", [])


COV = np.array([[2.0, 1.0], [1.0, 2.0]])  # inverse: [[2, -1], [-1, 2]] / 3
DATA = np.array([1.0, 2.0])
PRED = np.array([[2.0, 2.0], [1.0, 3.0], [0.0, 1.0]])  # residuals (1,0), (0,1), (-1,-1)


def test_chi2_per_replica_by_hand():
    # r C^-1 r / n: (1,0) -> 2/3/2; (0,1) -> 2/3/2; (-1,-1) -> (2-1-1+2)/3/2
    np.testing.assert_allclose(chi2_per_replica(PRED, DATA, COV), [1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(chi2_per_replica([[4.0, 2.0]], DATA, COV), [3.0])  # 9*2/3/2


def test_phi2_by_hand():
    # mean prediction (1, 2) equals the data: phi2 = mean chi2 - 0
    assert phi2(PRED, DATA, COV) == pytest.approx(1 / 3)
    # residuals (1,0) and (3,0): chi2/n 1/3 and 3, mean 5/3; central residual (2,0): 4/3
    assert phi2([[2.0, 2.0], [4.0, 2.0]], DATA, COV) == pytest.approx(5 / 3 - 4 / 3)


def test_chi2_rejects_bad_shapes_and_non_positive_definite_covariance():
    with pytest.raises(SearchError, match="positive definite"):
        chi2_per_replica(PRED, DATA, np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(SearchError, match="2 data points"):
        chi2_per_replica(PRED[:, :1], DATA, COV)


CHI2 = np.array([1.0, 2.0, 3.0])
PENALTIES = {"saturation": np.array([0.5, 0.5, 2.0]), "patience": np.array([0.0, 1.0, 0.0])}


def test_fold_loss_chi2_with_and_without_penalties():
    assert fold_loss("chi2", "average", CHI2, 0.1, PENALTIES, False) == pytest.approx(2.0)
    # chi2 + penalties = (1.5, 3.5, 5.0)
    assert fold_loss("chi2", "best_worst", CHI2, 0.1, PENALTIES, True) == pytest.approx(5.0)
    assert fold_loss("chi2", "average", CHI2, 0.1, {}, True) == pytest.approx(2.0)


def test_fold_loss_phi2_adds_mean_penalties():
    assert fold_loss("phi2", "average", CHI2, 0.1, PENALTIES, False) == pytest.approx(0.1)
    with_penalties = fold_loss("phi2", "average", CHI2, 0.1, PENALTIES, True)
    assert with_penalties == pytest.approx(0.1 + 1 + 1 / 3)  # + mean(saturation) + mean(patience)


def test_trial_loss_chi2_is_the_fold_statistic_and_phi2_its_reciprocal():
    assert trial_loss("chi2", "best_worst", [1.0, 4.0]) == 4.0
    assert trial_loss("phi2", "average", [0.1, 0.3]) == pytest.approx(5.0)
    assert trial_loss("phi2", "average", [0.0, -0.0]) == math.inf
    with pytest.raises(SearchError, match="loss_type"):
        trial_loss("logp", "average", [1.0])
