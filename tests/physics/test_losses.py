"""The per-replica masked χ² (Woodbury on the low-rank covariance) equals the dense formula."""

import numpy as np
from keras import ops

from n3fit_gpu.physics.losses import masked_chi2, woodbury_inverses


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
