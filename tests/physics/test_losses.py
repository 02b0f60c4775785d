"""The per-replica masked χ² (Woodbury on the low-rank covariance) equals the dense formula."""

import numpy as np
from keras import ops

from n3fit_gpu.ensemble.backend import value_and_grad
from n3fit_gpu.physics.losses import (
    BlockedChi2,
    Chi2Terms,
    PenaltySchedule,
    masked_chi2,
    systematic_blocks,
    woodbury_inverses,
)


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


def _block_diagonal_covariance(rng):
    """Three experiments: rows 0-9 with 2 systematics, 10-14 with none, 15-29 with 3 (one
    shared by only rows 15-19), plus an all-zero column; columns out of row order."""
    n = 30
    sys = np.zeros((n, 7))
    sys[0:10, [4, 1]] = rng.normal(size=(10, 2))
    sys[15:30, [0, 5]] = rng.normal(size=(15, 2))
    sys[15:20, 2] = rng.normal(size=5)
    return rng.uniform(0.5, 2.0, n), sys


def test_systematic_blocks_split_the_columns_by_rows():
    diag, sys = _block_diagonal_covariance(np.random.default_rng(5))
    blocks = systematic_blocks(sys)
    assert [(b.start, b.stop, list(b.columns)) for b in blocks] == [
        (0, 10, [1, 4]),
        (15, 30, [0, 2, 5]),
    ]


def test_blocked_chi2_and_its_gradient_match_the_dense_inverse(float64):
    """χ² and dχ²/de = 2 C⁻¹e on each replica's own points, block by block."""
    rng = np.random.default_rng(6)
    diag, sys = _block_diagonal_covariance(rng)
    masks = rng.random((4, 30)) < 0.7
    residual = rng.normal(size=(4, 30))
    terms = Chi2Terms.build(diag, sys, masks)
    chi2 = BlockedChi2(terms, diag, sys, ops.convert_to_tensor)

    def total(params):
        values = chi2(params[0])
        return ops.sum(values), values

    (_, got), (grad,) = value_and_grad(total)([ops.convert_to_tensor(residual)])
    cov = np.diag(diag) + sys @ sys.T
    for i in range(4):
        t = masks[i]
        solved = np.linalg.solve(cov[np.ix_(t, t)], residual[i, t])
        np.testing.assert_allclose(
            ops.convert_to_numpy(got)[i], residual[i, t] @ solved, rtol=1e-12
        )
        expected_grad = np.zeros(30)
        expected_grad[t] = 2 * solved
        np.testing.assert_allclose(ops.convert_to_numpy(grad)[i], expected_grad, atol=1e-12)


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
