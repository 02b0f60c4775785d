"""Hadronic observables: two convolutions, channel-sparse::

    pred[r, n] = sum_{c,i,j} FK[n, c, i, j] xf[r, i, a_c] xf[r, j, b_c]

The table is kept channel-sparse and boxed in x (:class:`~..channel_convolution.ChannelPlan`:
only the non-zero flavour pairs, one ``(c·I·J, n)`` matrix, one GEMM for all replicas), its
points in up to 4 blocks with boxes of their own (a point weighs only x above its Born x:
:func:`~..channel_convolution.split_by_support`); the prediction is
:func:`~..channel_convolution.predict` per block, the same code on numpy and keras.ops.

Cuts: NNPDF cuts hadronic data with per-dataset rules (validphys ``cuts/filters.yaml``). Ours so
far (:data:`CUT_RULES`): fixed-target Drell–Yan (DYE605, DYE866 σ), where resummation matters
(arXiv:1507.01006): keep τ = M²/s ≤ 0.08 and |y/y_max| ≤ 0.663, y_max = −ln(τ)/2. Other
hadronic datasets keep every point (``datacuts.q2min``/``w2min`` are DIS cuts).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from n3fit_gpu.physics.channel_convolution import ChannelPlan, split_by_support
from n3fit_gpu.physics.channel_convolution import predict as channel_predict


@dataclass(frozen=True)
class HadronicKernel:
    """Blocks of points, each a :class:`ChannelPlan` (on the theory's x grid) with the x box its
    points use (:func:`~..channel_convolution.split_by_support`), predicting the points
    ``rows`` ``(n,)``; ``members[b]`` are the positions in ``rows`` of block b's points."""

    blocks: tuple[ChannelPlan, ...]
    members: tuple[np.ndarray, ...]
    rows: np.ndarray
    kind: str = "hadronic"

    @classmethod
    def from_plan(cls, plan: ChannelPlan, rows: np.ndarray) -> HadronicKernel:
        """The kernel of one plan over every point, split into blocks by support."""
        blocks = split_by_support(plan)
        return cls(tuple(b for b, _ in blocks), tuple(m for _, m in blocks), np.asarray(rows, int))

    @property
    def ndata(self) -> int:
        return len(self.rows)

    @property
    def plan(self) -> ChannelPlan:
        """The whole table as one plan, on the union of the blocks' boxes (zeros elsewhere)."""
        first = self.blocks[0]
        lo = min(b.lo for b in self.blocks)
        c, size = len(first.left), first.hi - lo
        table = np.zeros((c, size, size, self.ndata))
        for block, members in zip(self.blocks, self.members):
            box = block.hi - block.lo
            shift = block.lo - lo
            table[:, shift:, shift:, members] = block.matrix.reshape(c, box, box, -1)
        return ChannelPlan(first.left, first.right, lo, first.hi, table.reshape(-1, self.ndata))

    def predict(self, xf, xp, tensors=None):
        """``(R, n)`` from ``xf`` ``(R, nx, nbasis)``."""
        parts = [
            channel_predict(block, xf, xp, None if tensors is None else tensors[k])
            for k, block in enumerate(self.blocks)
        ]
        if len(parts) == 1:
            return parts[0]
        order = np.argsort(np.concatenate(self.members))
        return xp.take(xp.concatenate(parts, axis=1), order, axis=1)

    def tensors(self, convert) -> list:
        return [convert(block.matrix) for block in self.blocks]

    def select(self, keep: np.ndarray) -> HadronicKernel:
        keep = np.asarray(keep, bool)
        position = np.cumsum(keep) - 1
        parts = [
            (replace(block, matrix=block.matrix[:, keep[m]]), position[m[keep[m]]])
            for block, m in zip(self.blocks, self.members)
        ]
        parts = [p for p in parts if p[1].size] or parts[:1]
        blocks, members = (tuple(p[k] for p in parts) for k in (0, 1))
        return replace(self, blocks=blocks, members=members, rows=self.rows[keep])

    def scaled(self, factor: np.ndarray) -> HadronicKernel:
        factor = np.asarray(factor)
        blocks = tuple(
            replace(b, matrix=b.matrix * factor[m][None, :])
            for b, m in zip(self.blocks, self.members)
        )
        return replace(self, blocks=blocks)

    def cut_mask(self, name: str, kinematics: dict, datacuts) -> np.ndarray:
        """The dataset's rule in :data:`CUT_RULES`, else every point."""
        rule = CUT_RULES.get(name)
        if rule is None:
            return np.ones(len(next(iter(kinematics.values()))), bool)
        return rule(kinematics)


def fixed_target_dy(kinematics: dict, max_tau: float = 0.08, max_y: float = 0.663) -> np.ndarray:
    """NNPDF's fixed-target Drell–Yan cut (see the module docstring)."""
    tau = kinematics["M2"] / kinematics["sqrts"] ** 2
    return (tau <= max_tau) & (np.abs(kinematics["y"] / (-0.5 * np.log(tau))) <= max_y)


CUT_RULES = {
    "DYE605_Z0_38P8GEV_DW_PXSEC": fixed_target_dy,
    "DYE866_Z0_800GEV_PXSEC": fixed_target_dy,
}


def from_fk_table(fk, xgrid: np.ndarray, rows: np.ndarray) -> HadronicKernel:
    """A PineAPPL hadronic table (:class:`~..pineappl_fk.FKTable`) on the theory's ``xgrid``."""
    return HadronicKernel.from_plan(ChannelPlan.from_table(fk, np.asarray(xgrid)), rows)
