"""float32 matrix products are full float32 on every backend, never TensorFloat-32.

JAX and TensorFlow round float32 matmul inputs to TensorFloat-32 (10 mantissa bits) on NVIDIA
GPUs from Ampere on unless told otherwise; ``n3fit_gpu.ensemble.backend.set_precision`` (the
``float32`` fixture) tells them. On a CPU these checks pass either way; on a GPU they fail if
the inputs are rounded.
"""

import numpy as np
from keras import ops

# 1 + 2**-12 is a float32 but rounds to 1 in TensorFloat-32 (and in bfloat16); sums of up to
# 64 such terms are exact in float32 in any order, so the products below are exact.
ENTRY = 1.0 + 2.0**-12


def test_float32_matmul_is_exact_where_tf32_is_not(float32):
    a = ops.convert_to_tensor(np.full((128, 64), ENTRY), dtype="float32")
    b = ops.ones((64, 96), dtype="float32")
    product = ops.convert_to_numpy(ops.matmul(a, b))
    np.testing.assert_array_equal(product, np.float32(64 * ENTRY))


def test_float32_replica_einsum_is_exact_where_tf32_is_not(float32):
    """The stacked layers' batched product ``(R, batch, in) x (R, in, out)``."""
    x = ops.convert_to_tensor(np.full((8, 128, 64), ENTRY), dtype="float32")
    kernel = ops.ones((8, 64, 32), dtype="float32")
    product = ops.convert_to_numpy(ops.einsum("rbi,rio->rbo", x, kernel))
    np.testing.assert_array_equal(product, np.float32(64 * ENTRY))
