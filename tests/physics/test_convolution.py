"""The segmented FK convolution equals the dense contraction, whatever the segmentation."""

import numpy as np
import pytest
from keras import ops

from n3fit_gpu.physics.convolution import FKConvolution, first_nodes, segments


def _triangular_fk(rng, rows=40, nb=9, nx=12):
    """DIS-like rows: zero below a per-row x node, one flavour zero, one row all zero."""
    fk = rng.normal(size=(rows, nb, nx))
    start = rng.integers(0, nx, rows)
    fk = np.where(np.arange(nx)[None, None, :] < start[:, None, None], 0.0, fk)
    fk[:, 3] = 0.0
    fk[7] = 0.0
    return fk, np.where(np.arange(rows) == 7, nx - 1, start)


def test_first_nodes_and_segments_cover_every_row_once():
    fk, start = _triangular_fk(np.random.default_rng(1))
    np.testing.assert_array_equal(first_nodes(fk), start)
    for cost in (0, 20, 1e9):
        cuts = segments(start, fk.shape[2], cost)
        assert [a for a, _, _ in cuts] == [0] + [b for _, b, _ in cuts[:-1]]
        assert cuts[-1][1] == len(start)
        assert all(node == start[a:b].min() for a, b, node in cuts)
    assert len(segments(start, fk.shape[2], 0)) == len(start)
    assert len(segments(start, fk.shape[2], 1e9)) == 1


@pytest.mark.parametrize("cost", [0, 20, 1e9])
def test_convolution_equals_the_dense_einsum(float64, cost):
    rng = np.random.default_rng(2)
    fk, _ = _triangular_fk(rng)
    xf = rng.normal(size=(3, fk.shape[2], fk.shape[1]))
    conv = FKConvolution(fk, lambda a: ops.convert_to_tensor(a, "float64"), cost)
    got = ops.convert_to_numpy(conv(ops.convert_to_tensor(xf)))
    np.testing.assert_allclose(got, np.einsum("nbx,rxb->rn", fk, xf), rtol=1e-12, atol=1e-12)
