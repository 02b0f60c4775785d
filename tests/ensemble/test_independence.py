"""Replica independence: a stacked fit equals the same replicas fitted one at a time.

Round-off differences (batched vs single einsum) are amplified by the training dynamics
like any 1e-16 perturbation; the horizon and learning rates keep that amplification far below
the tolerance, while any real coupling (a clip norm or optimizer statistic shared between
replicas) gives differences of order one.
"""

import numpy as np
import pytest

from n3fit_gpu.ensemble.optimizers import OPTIMIZERS

from .toy_problem import MAX_REPLICAS, fit_toy


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_stacked_equals_sequential(float64, optimizer):
    # plain SGD and Adadelta take small steps: larger rates make some replicas stop early
    scale = {"SGD": 10.0, "Adadelta": 1000.0}.get(optimizer, 1.0)
    stacked = fit_toy(range(MAX_REPLICAS), optimizer, lr_scale=scale)
    alone = [fit_toy([r], optimizer, lr_scale=scale) for r in range(MAX_REPLICAS)]
    assert (stacked.stop_epoch < 150).any(), "stopping must be exercised"
    for r, single in enumerate(alone):
        assert stacked.stop_epoch[r] == single.stop_epoch[0]
        assert stacked.best_epoch[r] == single.best_epoch[0]
        np.testing.assert_allclose(
            stacked.best_validation[r], single.best_validation[0], rtol=1e-10
        )
        for w_stacked, w_single in zip(stacked.weights, single.weights):
            np.testing.assert_allclose(w_stacked[r], w_single[0], rtol=0, atol=1e-10)


def test_clipping_is_active_in_the_independence_setup(float64):
    """The clip norms of the toy problem bind (otherwise the test above would not test them)."""
    clipped = fit_toy([3], "SGD", epochs=5, patience=100)
    from . import toy_problem

    original = toy_problem.CLIPNORMS.copy()
    try:
        toy_problem.CLIPNORMS[:] = 1e9
        unclipped = fit_toy([3], "SGD", epochs=5, patience=100)
    finally:
        toy_problem.CLIPNORMS[:] = original
    assert np.max(np.abs(clipped.weights[0] - unclipped.weights[0])) > 1e-4


def test_epochs_per_call_does_not_change_results(float64):
    a = fit_toy(range(MAX_REPLICAS), "Nadam", epochs_per_call=7)
    b = fit_toy(range(MAX_REPLICAS), "Nadam", epochs_per_call=150)
    np.testing.assert_array_equal(a.stop_epoch, b.stop_epoch)
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa, wb, atol=1e-12)
