"""ASHA rungs, rung values and the promotion rule, against hand-made cases."""

import math
import subprocess
import sys

import numpy as np
import pytest

from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.halving import HalvingSettings, keep_going, rung_epochs, rung_value


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((100, 2000, 3), [100, 300, 900]),
        ((100, 900, 3), [100, 300]),  # 900 is not below max_epochs
        ((100, 2000, 3, 128), [128, 384, 1024]),  # rounded up to whole calls
        ((100, 1000, 1.1, 100), [100, 200, 300, 400, 500, 600, 700, 800, 900]),  # deduplicated
        ((100, 150, 1.1, 1), [100, 110, 121, 134, 147]),  # 100*1.1**2 stays 121
        ((90, 100, 2, 100), []),  # 90 rounds up to 100: the trial is over by then
        ((500, 500, 2), []),
        ((1, 10, 2), [1, 2, 4, 8]),
    ],
)
def test_rung_epochs(args, expected):
    assert rung_epochs(*args) == expected


@pytest.mark.parametrize(
    ("args", "word"),
    [((0, 100, 3), "min_epochs"), ((10, 100, 1.0), "eta"), ((10, 100, 3, 0), "step")],
)
def test_rung_epochs_refuses_bad_settings(args, word):
    with pytest.raises(SearchError, match=word):
        rung_epochs(*args)


def test_bootstrap_keeps_everything_until_enough_trials_are_recorded():
    assert keep_going(100.0, [1.0, 2.0], eta=3, bootstrap=3)
    assert not keep_going(100.0, [1.0, 2.0, 3.0], eta=3, bootstrap=3)
    assert keep_going(100.0, [], eta=3, bootstrap=0)  # alone, it is the best one


def test_floor_rule():
    others = [1.0, 2.0, 3.0, 4.0, 5.0]  # n = 6 values, floor(6/3) = 2 go on
    assert keep_going(1.5, others, eta=3, bootstrap=0)  # 2nd
    assert not keep_going(2.5, others, eta=3, bootstrap=0)  # 3rd
    assert keep_going(2.5, others, eta=2, bootstrap=0)  # floor(6/2) = 3 go on
    assert keep_going(0.5, [1.0], eta=3, bootstrap=0)  # max(1, floor(2/3)): the best goes on
    assert not keep_going(1.5, [1.0], eta=3, bootstrap=0)


def test_ties_keep_going():
    assert keep_going(2.0, [1.0, 2.0, 3.0, 4.0, 5.0], eta=3, bootstrap=0)
    assert keep_going(math.inf, [math.inf] * 4, eta=3, bootstrap=0)


def test_nan_stops_and_nan_others_rank_last():
    assert not keep_going(math.nan, [], eta=3, bootstrap=3)
    assert keep_going(5.0, [math.nan, math.nan, 1.0], eta=2, bootstrap=0)  # 2nd of 4, 2 kept
    assert not keep_going(5.0, [math.nan, 1.0, 2.0], eta=2, bootstrap=0)


def test_rung_value_treats_non_finite_replicas_as_inf():
    values = np.array([1.0, 3.0, np.inf])
    assert rung_value(values[:2], "average") == 2.0
    assert rung_value(values, "average") == math.inf
    assert rung_value(values, "best_worst") == math.inf
    assert rung_value(values, "std") == math.inf  # numpy's std would be NaN
    assert rung_value([1.0, np.nan], "average") == math.inf
    ten = np.r_[np.arange(1.0, 10.0), np.inf]  # average_best drops the worst 10%
    assert rung_value(ten, "average_best") == pytest.approx(5.0)
    with pytest.raises(SearchError, match="median"):
        rung_value(values, "median")


def test_settings_defaults_and_validation():
    assert HalvingSettings(100) == HalvingSettings(100, 3.0, 3, None)
    for kwargs, word in [
        ({"min_epochs": 0}, "min_epochs must be >= 1"),
        ({"min_epochs": 10, "eta": 1.0}, "eta must be > 1"),
        ({"min_epochs": 10, "bootstrap": -1}, "bootstrap must be >= 0"),
        ({"min_epochs": 10, "statistic": "median"}, "statistic 'median'"),
    ]:
        with pytest.raises(SearchError, match=word):
            HalvingSettings(**kwargs)


def test_halving_imports_neither_keras_nor_physics():
    check = (
        "import sys, n3fit_gpu.search.halving; bad = [m for m in sys.modules if m.split('.')[0] "
        "in ('keras', 'tensorflow', 'jax', 'torch') or m.startswith('n3fit_gpu.physics')]; "
        "sys.exit(bool(bad))"
    )
    assert subprocess.run([sys.executable, "-c", check]).returncode == 0
