"""Hadronic observables: two convolutions, channel-sparse::

    pred[r, n] = sum_{c,i,j} FK[n, c, i, j] xf[r, i, a_c] xf[r, j, b_c]

The table is kept channel-sparse and boxed in x (:class:`~..channel_convolution.ChannelPlan`:
only the non-zero flavour pairs, one ``(c·I·J, n)`` matrix, one GEMM for all replicas); the
prediction is :func:`~..channel_convolution.predict`, the same code on numpy and keras.ops.

Cuts: NNPDF cuts hadronic data with per-process rules (validphys ``filters.yaml``); we apply
none yet — every point of a hadronic dataset is kept (``datacuts.q2min``/``w2min`` are DIS
cuts).
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

    def cut_mask(self, kinematics: dict, datacuts) -> np.ndarray:
        """Every point (see the module docstring)."""
        return np.ones(len(next(iter(kinematics.values()))), bool)


def from_fk_table(fk, xgrid: np.ndarray, rows: np.ndarray) -> HadronicKernel:
    """A PineAPPL hadronic table (:class:`~..pineappl_fk.FKTable`) on the theory's ``xgrid``."""
    return HadronicKernel(ChannelPlan.from_table(fk, np.asarray(xgrid)), np.asarray(rows, int))
