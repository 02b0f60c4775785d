"""DIS: one convolution, ``pred[r, n] = sum_{f,i} fk[n, f, i] xf[r, i, f]``.

The table is dense ``(n, nbasis, nx)`` on the theory's x grid (the npz layout of ``theory.py``;
an NNPDF PineAPPL table is placed on it by :func:`from_fk_table`). In training, every DIS
kernel of a fit is fused into ONE :class:`~n3fit_gpu.physics.convolution.FKConvolution` (flat
GEMMs over x segments) by :class:`~.predict.Predictor`; :meth:`DISKernel.predict` is the same
contraction, one einsum, for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from n3fit_gpu.physics.cuts import dis_cut_mask


@dataclass(frozen=True)
class DISKernel:
    """Rows ``fk`` ``(n, nbasis, nx)`` predicting the points ``rows`` ``(n,)``."""

    fk: np.ndarray
    rows: np.ndarray
    kind: str = "DIS"

    @property
    def ndata(self) -> int:
        return self.fk.shape[0]

    def predict(self, xf, xp, tensors=None):
        """``(R, n)`` from ``xf`` ``(R, nx, nbasis)``."""
        fk = self.fk if tensors is None else tensors[0]
        return xp.einsum("nbx,rxb->rn", fk, xf)

    def tensors(self, convert) -> list:
        return [convert(self.fk)]

    def select(self, keep: np.ndarray) -> DISKernel:
        return replace(self, fk=self.fk[keep], rows=self.rows[keep])

    def scaled(self, factor: np.ndarray) -> DISKernel:
        return replace(self, fk=self.fk * np.asarray(factor)[:, None, None])

    def cut_mask(self, name: str, kinematics: dict, datacuts) -> np.ndarray:
        """NNPDF's DIS cuts: Q² > q2min and W² > w2min (:mod:`~n3fit_gpu.physics.cuts`)."""
        return dis_cut_mask(kinematics, datacuts.q2min, datacuts.w2min)


def from_fk_table(fk, xgrid: np.ndarray, rows: np.ndarray) -> DISKernel:
    """A PineAPPL DIS table (:class:`~..pineappl_fk.FKTable`) on the theory's ``xgrid``."""
    from n3fit_gpu.physics.channel_convolution import _on_grid

    dense = fk.dense()  # (n, 9, nx_table)
    if not np.array_equal(fk.xgrid, xgrid):
        dense = _on_grid(replace(fk, table=dense), np.asarray(xgrid))
    return DISKernel(dense, np.asarray(rows, dtype=int))
