"""Hadronic observables: two convolutions, channel-sparse::

    pred[r, n] = sum_{c,i,j} FK[n, c, i, j] xf[r, i, a_c] xf[r, j, b_c]

The table is kept channel-sparse and boxed in x (:class:`~..channel_convolution.ChannelPlan`:
only the non-zero flavour pairs, one ``(c·I·J, n)`` matrix, one GEMM for all replicas); the
prediction is :func:`~..channel_convolution.predict`, the same code on numpy and keras.ops.

Cuts: NNPDF cuts hadronic data with per-dataset rules (validphys ``cuts/filters.yaml``). Ours so
far (:data:`CUT_RULES`): fixed-target Drell–Yan (DYE605, DYE866 σ), where resummation matters
(arXiv:1507.01006): keep τ = M²/s ≤ 0.08 and |y/y_max| ≤ 0.663, y_max = −ln(τ)/2. Other
hadronic datasets keep every point (``datacuts.q2min``/``w2min`` are DIS cuts).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from n3fit_gpu.physics.channel_convolution import ChannelPlan
from n3fit_gpu.physics.channel_convolution import predict as channel_predict


@dataclass(frozen=True)
class HadronicKernel:
    """A :class:`ChannelPlan` (on the theory's x grid) predicting the points ``rows`` ``(n,)``."""

    plan: ChannelPlan
    rows: np.ndarray
    kind: str = "hadronic"

    @property
    def ndata(self) -> int:
        return self.plan.matrix.shape[1]

    def predict(self, xf, xp, tensors=None):
        """``(R, n)`` from ``xf`` ``(R, nx, nbasis)``."""
        return channel_predict(self.plan, xf, xp, None if tensors is None else tensors[0])

    def tensors(self, convert) -> list:
        return [convert(self.plan.matrix)]

    def select(self, keep: np.ndarray) -> HadronicKernel:
        plan = replace(self.plan, matrix=self.plan.matrix[:, keep])
        return replace(self, plan=plan, rows=self.rows[keep])

    def scaled(self, factor: np.ndarray) -> HadronicKernel:
        plan = replace(self.plan, matrix=self.plan.matrix * np.asarray(factor)[None, :])
        return replace(self, plan=plan)

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
    return HadronicKernel(ChannelPlan.from_table(fk, np.asarray(xgrid)), np.asarray(rows, int))
