"""The per-replica masked χ² (Woodbury on the low-rank covariance) equals the dense formula."""

import numpy as np
from keras import ops

from n3fit_gpu.physics.losses import PenaltySchedule, masked_chi2, woodbury_inverses


def test_masked_chi2_matches_dense_inverse_of_the_training_block(float64):
    rng = np.random.default_rng(3)
    n, k, r = 30, 4, 5
    diag = rng.uniform(0.5, 2.0, n)
    sys = rng.normal(size=(n, k))
    masks = rng.random((r, n)) < 0.7
    residual = rng.normal(size=(r, n))
    inverses = woodbury_inverses(diag, sys, masks.astype(float), chunk=2)
    got = ops.convert_to_numpy(
        masked_chi2(
            ops.convert_to_tensor(residual),
            ops.convert_to_tensor(masks.astype(float)),
            ops.convert_to_tensor(inverses),
            ops.convert_to_tensor(1 / diag),
            ops.convert_to_tensor(sys),
        )
    )
    cov = np.diag(diag) + sys @ sys.T
    for i in range(r):
        t = masks[i]
        block = cov[np.ix_(t, t)]
        expected = residual[i, t] @ np.linalg.solve(block, residual[i, t])
        np.testing.assert_allclose(got[i], expected, rtol=1e-10)


def test_woodbury_inverses_of_repeated_masks_are_the_masks_own():
    """Slots of stacked trials repeat their replicas' masks: each is inverted once."""
    rng = np.random.default_rng(4)
    diag, sys = rng.uniform(0.5, 2.0, 30), rng.normal(size=(30, 4))
    masks = (rng.random((3, 30)) < 0.7).astype(float)
    order = [2, 0, 2, 1, 0]
    np.testing.assert_array_equal(
        woodbury_inverses(diag, sys, masks[order], chunk=2),
        woodbury_inverses(diag, sys, masks[[2, 0, 1]], chunk=2)[[0, 1, 0, 2, 1]],
    )


def test_per_replica_penalty_schedule_rows_are_each_replicas_own(float64):
    """Stacked trials: row r of a per-replica schedule is replica r's schedule alone (to an
    ulp: TensorFlow's vectorised ``pow`` rounds some elements of a longer array differently)."""
    maxlambda = np.array([1e6, 1e4])
    entries = [(184.8, None, 2000), (None, 3.0, 450), (50.0, 2.0, 90)]
    stacked = PenaltySchedule(*zip(*entries, strict=True))
    assert stacked.replicas == 3
    for epoch in (0, 99, 100, 250, 1999):
        lam = ops.convert_to_numpy(stacked.lambdas(epoch, maxlambda, "float64"))
        assert lam.shape == (3, 2)
        for r, entry in enumerate(entries):
            alone = PenaltySchedule(*entry).lambdas(epoch, maxlambda, "float64")
            np.testing.assert_allclose(lam[r], ops.convert_to_numpy(alone), rtol=1e-14)
    scalar = PenaltySchedule(184.8, None, 2000).lambdas(5, maxlambda, "float64")
    assert tuple(scalar.shape) == (2,)
