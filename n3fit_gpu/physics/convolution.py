"""FK convolution of the stacked PDF for every replica: ``(R, nx, nb) -> (R, rows)``.

``xf`` ``(replica, x, flavour)`` is flattened to ``(R, nx·nb)`` as it lies in memory and
multiplied by FK matrices ``(nx·nb, rows)`` stored in that order: a plain GEMM, forward and
backward, with no transpose of ``xf`` or of the table inside the loop.

Segments in x. A DIS FK row at Bjorken x vanishes on the grid nodes below x (the convolution
runs from x to 1): 54% of the quickstart's FK entries are zero, nearly all of them so. The
rows, kept in the caller's order (so the data's predictions are slices of the output, with no
gather), are cut into contiguous segments; a segment multiplies only the x nodes from the first
one any of its rows uses. :func:`segments` chooses the cuts by dynamic programming: the fewest
multiplications plus :data:`SEGMENT_COST` row·node-equivalents per segment (a segment costs two
more GEMM calls per epoch).

Forward + backward per epoch, R=100, JAX on 2 shared CPU cores, the quickstart's 1,514 rows
(one run, medians): einsum ``"nbx,rxb->rn"`` 3.6 ms; one flat GEMM 2.1 ms; contiguous segments
with SEGMENT_COST 2000 (4 segments, 71% of the multiplications) 1.85 ms, 500 (9) 1.96 ms,
200 (16) 2.13 ms. Rows sorted by x into 4 bands (59%) cut the GEMMs by another ~20% but the
gathers and scatters back to the data's order cost ~1.5 ms per epoch.
"""

from __future__ import annotations

import numpy as np
from keras import ops

SEGMENT_COST = 2000  # row·x-node equivalents charged per segment (timed at R = 100)


def first_nodes(fk: np.ndarray) -> np.ndarray:
    """Index of the first x node each row ``(rows, nb, nx)`` uses (``nx - 1`` for a zero row)."""
    used = (fk != 0).any(axis=1)
    return np.where(used.any(axis=1), used.argmax(axis=1), fk.shape[2] - 1)


def segments(first: np.ndarray, nx: int, cost: float = SEGMENT_COST) -> list[tuple[int, int, int]]:
    """Contiguous ``(start, stop, node)`` row segments minimising Σ rows·(nx − node) + cost each.

    ``node`` is the smallest ``first`` of the segment's rows. Exact O(rows²) dynamic programme.
    """
    n = len(first)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    cut = np.zeros(n + 1, int)
    for stop in range(1, n + 1):
        low = np.minimum.accumulate(first[stop - 1 :: -1])  # min of first[start:stop], start ↓
        starts = np.arange(stop - 1, -1, -1)
        total = best[starts] + (stop - starts) * (nx - low) + cost
        i = int(np.argmin(total))
        best[stop], cut[stop] = total[i], starts[i]
    out, stop = [], n
    while stop > 0:
        start = cut[stop]
        out.append((int(start), int(stop), int(first[start:stop].min())))
        stop = start
    return out[::-1]


class FKConvolution:
    """``call(xf)``: the FK rows ``fk`` ``(rows, nb, nx)`` applied to ``xf`` ``(R, nx, nb)``.

    The segment tables are ``self.tables``, a list of tensors; ``call`` may be given another
    list of the same shapes (the training loop passes them as arguments of its compiled call).

    Parameters
    ----------
    fk:
        FK rows in the order the output should have.
    convert:
        Makes a constant tensor of the model's float type from a NumPy array.
    """

    def __init__(self, fk: np.ndarray, convert, segment_cost: float = SEGMENT_COST):
        rows, nb, nx = fk.shape
        self.width = nx * nb
        self.segments = segments(first_nodes(fk), nx, segment_cost) if rows else []
        flat = np.transpose(fk, (2, 1, 0))  # (nx, nb, rows): x major, as xf flattens
        self.offsets = [node * nb for _, _, node in self.segments]
        self.tables = [
            convert(flat[node:, :, a:b].reshape((nx - node) * nb, b - a))
            for a, b, node in self.segments
        ]

    def __call__(self, xf, tables=None):
        """``(R, rows)``: Σ over x and flavours of FK × xf, segment by segment."""
        flat = ops.reshape(xf, (-1, self.width))
        parts = [
            ops.einsum("rk,kn->rn", flat[:, offset:], table)
            for offset, table in zip(self.offsets, self.tables if tables is None else tables)
        ]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=1)
