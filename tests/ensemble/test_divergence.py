"""A diverging replica is flagged and frozen; the others train as in a run without it.

Float64 and a 1e-10 tolerance, as in ``test_independence``: XLA (TensorFlow, JAX) gives
bit-identical weights here, but PyTorch's eager CPU kernels (MKL) do not promise the same
rounding from one run to the next (memory alignment, threads), and 150 epochs amplify one
rounding step; a NaN leaking into another replica gives NaN or order-one differences.
"""

import numpy as np

from .toy_problem import TARGETS, fit_toy


def _assert_others_unchanged(a, b, skip):
    for r in range(4):
        if r == skip:
            continue
        assert a.stop_epoch[r] == b.stop_epoch[r]
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(wa[r], wb[r], rtol=0, atol=1e-10)


def test_nan_in_one_replicas_data(float64):
    poisoned = TARGETS.copy()
    poisoned[2, 5] = np.nan
    clean = fit_toy(range(4), targets=TARGETS, jit_compile=True)
    dirty = fit_toy(range(4), targets=poisoned, jit_compile=True)
    assert dirty.status[2] == "diverged" and dirty.stop_epoch[2] == 1
    assert clean.status[2] != "diverged"
    _assert_others_unchanged(clean, dirty, skip=2)


def test_nan_in_one_replicas_weights(float64):
    clean = fit_toy(range(4))
    dirty = fit_toy(range(4), start_weights={1: np.nan})
    assert dirty.diverged.tolist() == [False, True, False, False]
    _assert_others_unchanged(clean, dirty, skip=1)
