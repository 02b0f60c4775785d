"""Predictions of a PineAPPL FK table (:mod:`.pineappl_fk`) for R stacked replicas at once.

``xf`` ``(replica, x, flavour)`` (x f at Q0 on the table's x grid, flavours in ``BASIS``)
gives ``(R, n)``::

    DIS       pred[r, n] = sum_{c,i}   FK[n, c, i]    xf[r, i, a_c]
    hadronic  pred[r, n] = sum_{c,i,j} FK[n, c, i, j] xf[r, i, a_c] xf[r, j, b_c]

One implementation, :func:`predict`, runs on numpy (reports, t0) and on ``keras.ops``
(training): it only calls ``take``, ``reshape`` and ``einsum``, which both namespaces spell
alike (:data:`NUMPY` is numpy with einsum's BLAS path on), so the two cannot drift apart. The
product is an einsum, not ``ops.matmul``: Keras 3.15's torch backend returns float32 from
``matmul``/``tensordot`` of float64 tensors.

Layout. Only the table's non-zero flavour channels ``c`` are kept (after folding into our
basis and merging (b, a) into (a, b): at most 45 of the 81 pairs), and only the box
``[lo, hi)`` of x nodes some row uses, the same on both axes. The luminosity of the kept
channels, ``L[r, c, i, j] = xf[r, i, a_c] xf[r, j, b_c]``, is built by two gathers and one
einsum, flattened to ``(R, c·I·J)``, and multiplied by the table stored as one matrix
``(c·I·J, n)``: one GEMM, forward and backward, whatever the number of channels, with no
transpose inside the loop (the layout of :class:`~.convolution.FKConvolution` for DIS). A
dense ``(n, 9, nx, 9, nx)`` table does (81/c)·(nx/I)² times the work and needs that memory.

Forward + backward (jitted value and gradient), JAX, float32, 2 shared CPU cores, a synthetic
table of 100 points, all 45 pairs, a 35-node box of nx = 50 (``scripts/benchmark_hadronic.py``,
medians of 20)::

    R      luminosity + GEMM   einsum per channel   dense einsum
    10          7.4 ms               6.1 ms            38.7 ms
    100        38.5 ms              31.9 ms           125.6 ms

On a CPU one einsum per channel (45 kernels, no luminosity in memory) is ~17% faster; the
single GEMM is kept for GPUs, where a step of small kernels is launch-bound (``facts.md``:
R = 1 runs at ~14k replica-epochs/s on an H100 for that reason). Not yet timed on a GPU.

Memory, NNPDF4.0-sized (the 2,250 synthetic hadronic points of ``scripts/nnpdf40_problem.py``,
nx = 50): the dense layout needs 202,500 floats per point, 3.6 GB in float64; the channel-sparse
blocks (:func:`split_by_support`) hold 69.6 M floats, 0.28 GB in float32. The luminosity is
``R·c·I·J`` floats per block: 22 MB for R = 100, 45 channels, I = J = 35 in float32. A whole
fit of that problem at R = 1000 peaks at 4.0 GB (``scripts/benchmark.py --problem nnpdf40``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np

from n3fit_gpu.physics.pineappl_fk import FKTable

NUMPY = SimpleNamespace(take=np.take, reshape=np.reshape, einsum=partial(np.einsum, optimize=True))


@dataclass(frozen=True)
class ChannelPlan:
    """The kept channels, x box and matrix of one table (numpy; see the module docstring).

    Attributes
    ----------
    left, right : np.ndarray
        ``(c,)`` flavour index of the first and second x f of each channel; ``right`` is None
        for DIS.
    lo, hi : int
        the x nodes used, ``[lo, hi)`` of the grid ``xf`` is given on.
    matrix : np.ndarray
        ``(c·I·J, n)`` (hadronic, ``(c, i, j)`` row-major) or ``(I·c, n)`` (DIS, ``(i, c)``).
    """

    left: np.ndarray
    right: np.ndarray | None
    lo: int
    hi: int
    matrix: np.ndarray

    @classmethod
    def from_table(cls, fk: FKTable, xgrid: np.ndarray | None = None) -> ChannelPlan:
        """The plan of ``fk`` for ``xf`` on ``xgrid`` (default the table's own x grid).

        ``xgrid`` must contain every node of the table's grid (e.g. the union of a theory's
        grids, as validphys builds it); nodes the table lacks get zero weight.
        """
        table = _on_grid(fk, xgrid) if xgrid is not None else fk.table
        x_axes = tuple(range(2, table.ndim))
        used = np.flatnonzero(
            np.logical_or.reduce([(table != 0).any(axis=_others(table.ndim, a)) for a in x_axes])
        )
        lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 0)
        box = table[(Ellipsis, *[slice(lo, hi)] * len(x_axes))]
        if fk.hadronic:
            matrix = np.moveaxis(box, 0, -1).reshape(-1, fk.ndata)  # (c, I, J, n)
            return cls(fk.channels[:, 0], fk.channels[:, 1], lo, hi, matrix)
        matrix = box.transpose(2, 1, 0).reshape(-1, fk.ndata)  # (I, c, n)
        return cls(fk.channels[:, 0], None, lo, hi, matrix)


def predict(plan: ChannelPlan, xf, xp=NUMPY, matrix=None):
    """``(R, n)`` predictions of ``xf`` ``(R, nx, 9)`` with the namespace ``xp``.

    Parameters
    ----------
    xp :
        :data:`NUMPY` or ``keras.ops``.
    matrix :
        ``plan.matrix`` as a tensor of ``xp`` (default ``plan.matrix`` itself, for numpy).
    """
    matrix = plan.matrix if matrix is None else matrix
    box = xf[:, plan.lo : plan.hi]
    left = xp.take(box, plan.left, axis=2)  # (R, I, c)
    if plan.right is None:
        flat = xp.reshape(left, (-1, plan.matrix.shape[0]))
    else:
        right = xp.take(box, plan.right, axis=2)
        luminosity = xp.einsum("ric,rjc->rcij", left, right)
        flat = xp.reshape(luminosity, (-1, plan.matrix.shape[0]))
    return xp.einsum("rk,kn->rn", flat, matrix)


def split_by_support(
    plan: ChannelPlan, max_blocks: int = 4
) -> list[tuple[ChannelPlan, np.ndarray]]:
    """A hadronic plan's points in at most ``max_blocks`` blocks, each with its own x box:
    ``[(plan of the block, indices of its points, increasing)]``, blocks by decreasing box.

    A point weighs x f only above its Born momentum fractions (evolution moves partons to
    smaller x), so points of large x need a smaller box ``[lo, hi)`` than the table's. Points
    are ordered by their first node used; the blocks are the contiguous runs of that order
    minimising the work, ``Σ n_b · c · I_b²``, plus per extra block (a luminosity, a kernel
    launch) 2% of the one-block work or that of 32 points, whichever is more: a small table
    stays whole. With one block the plan is returned.
    """
    c, size = len(plan.left), plan.hi - plan.lo
    n = plan.matrix.shape[1]
    if plan.right is None or n < 2 or max_blocks < 2:
        return [(plan, np.arange(n))]
    table = plan.matrix.reshape(c, size, size, n)
    used = table != 0
    on_x1, on_x2 = used.any(axis=(0, 2)), used.any(axis=(0, 1))  # (size, n)
    first = np.minimum(np.argmax(on_x1, axis=0), np.argmax(on_x2, axis=0))
    first[~on_x1.any(axis=0)] = size  # a point with no weight needs no box
    order = np.argsort(first, kind="stable")
    starts = np.flatnonzero(np.diff(first[order], prepend=-1))  # candidate block starts
    bounds = [*starts.tolist(), n]
    overhead = max(0.02 * n, 32) * size**2  # an extra block: a luminosity, a launch

    def cost(a: int, b: int) -> float:  # points a..b in one block, per channel
        return (bounds[b] - bounds[a]) * (size - first[order[bounds[a]]]) ** 2

    best = {(0, 0): (0.0, [])}  # (blocks used, boundary index) -> (work, boundary indices)
    for k in range(1, max_blocks + 1):
        for b in range(1, len(bounds)):
            options = [
                (best[k - 1, a][0] + cost(a, b), best[k - 1, a][1] + [a])
                for a in range(b)
                if (k - 1, a) in best
            ]
            if options:
                best[k, b] = min(options, key=lambda o: o[0])
    last = len(bounds) - 1
    _, cuts = min(
        (best[k, last][0] + overhead * (k - 1), best[k, last][1])
        for k in range(1, max_blocks + 1)
        if (k, last) in best
    )
    if len(cuts) == 1:
        return [(plan, np.arange(n))]
    blocks = []
    for a, b in zip(cuts, cuts[1:] + [last]):
        members = np.sort(order[bounds[a] : bounds[b]])
        lo = int(min(first[order[bounds[a]]], size - 1))
        box = size - lo
        matrix = table[:, lo:, lo:, members]
        blocks.append(
            (
                ChannelPlan(
                    plan.left, plan.right, plan.lo + lo, plan.hi, matrix.reshape(c * box * box, -1)
                ),
                members,
            )
        )
    return blocks


class ChannelConvolution:
    """``call(xf)``: :func:`predict` on ``keras.ops``, called as ``FKConvolution`` is.

    ``self.tables`` is the one-element list of the matrix tensor; ``call`` may be given another
    list of the same shape (a compiled training loop passes its constants as arguments).
    """

    def __init__(self, fk: FKTable, convert, xgrid: np.ndarray | None = None):
        self.plan = ChannelPlan.from_table(fk, xgrid)
        self.tables = [convert(self.plan.matrix)]

    def __call__(self, xf, tables=None):
        from keras import ops

        return predict(self.plan, xf, ops, (self.tables if tables is None else tables)[0])


def _others(ndim: int, axis: int) -> tuple[int, ...]:
    return tuple(a for a in range(ndim) if a != axis)


def _on_grid(fk: FKTable, xgrid: np.ndarray) -> np.ndarray:
    """``fk.table`` with its x axes placed on the nodes of the larger ``xgrid``."""
    xgrid = np.asarray(xgrid, dtype=np.float64)
    where = np.clip(np.searchsorted(xgrid, fk.xgrid), 0, len(xgrid) - 1)
    near = np.clip(where - 1, 0, None)
    where = np.where(np.abs(xgrid[near] - fk.xgrid) < np.abs(xgrid[where] - fk.xgrid), near, where)
    if not np.allclose(xgrid[where], fk.xgrid, rtol=1e-8, atol=0.0):
        missing = fk.xgrid[~np.isclose(xgrid[where], fk.xgrid, rtol=1e-8, atol=0.0)]
        raise ValueError(f"{fk.name}: x nodes {missing[:3].tolist()} are not on the given grid")
    n_axes = fk.table.ndim - 2
    out = np.zeros(fk.table.shape[:2] + (len(xgrid),) * n_axes)
    out[(slice(None), slice(None), *np.ix_(*[where] * n_axes))] = fk.table
    return out
