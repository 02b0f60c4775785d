"""A diverging replica is flagged and frozen; the others are bit-identical to a run without it."""

import numpy as np

from .toy_problem import TARGETS, fit_toy


def _assert_others_identical(a, b, skip):
    for r in range(4):
        if r == skip:
            continue
        assert a.stop_epoch[r] == b.stop_epoch[r]
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_array_equal(wa[r], wb[r])


def test_nan_in_one_replicas_data():
    poisoned = TARGETS.copy()
    poisoned[2, 5] = np.nan
    clean = fit_toy(range(4), targets=TARGETS, jit_compile=True)
    dirty = fit_toy(range(4), targets=poisoned, jit_compile=True)
    assert dirty.status[2] == "diverged" and dirty.stop_epoch[2] == 1
    assert clean.status[2] != "diverged"
    _assert_others_identical(clean, dirty, skip=2)


def test_nan_in_one_replicas_weights():
    clean = fit_toy(range(4))
    dirty = fit_toy(range(4), start_weights={1: np.nan})
    assert dirty.diverged.tolist() == [False, True, False, False]
    _assert_others_identical(clean, dirty, skip=1)
