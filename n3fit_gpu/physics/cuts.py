"""Kinematic cuts on DIS data: keep points where leading-twist perturbative QCD holds.

Low Q² (higher twist) and low invariant mass W² of the hadronic final state (target-mass and
resonance region) are removed. NNPDF4.0's defaults are kept: Q² > 3.49 GeV² and W² > 12.5 GeV².

W² follows NNPDF's convention, Q² (1 − x)/x, which leaves out the target mass term m_p² of the
physical W² = m_p² + Q² (1 − x)/x: ``w2min`` keeps NNPDF's meaning, and the point counts after
the default cuts are NNPDF4.0's (BCDMS p 333, BCDMS d 248, NMC σ 204, NMC d/p 121, SLAC p 33,
SLAC d 34, CHORUS ν 416; with m_p² added they would be 337, 250, 206, 123, 37, 38, 423).
"""

import numpy as np

from n3fit_gpu.errors import DataError
from n3fit_gpu.physics.commondata import CommonData


def w2(x: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """NNPDF's W² = Q² (1 − x)/x in GeV² (the physical W² minus m_p², see the module docstring).

    Parameters
    ----------
    x, q2 : np.ndarray
        Bjorken x and Q² (GeV²), broadcastable shapes.
    """
    return q2 * (1.0 - x) / x


def dis_cut_mask(cd: CommonData | dict, q2min: float = 3.49, w2min: float = 12.5) -> np.ndarray:
    """Boolean ``(ndata,)``: True where Q² > ``q2min`` and W² > ``w2min`` (both in GeV²).

    ``cd``: a dataset, or its kinematics (a dict with "x" and "Q2").
    """
    kinematics = cd.kinematics if isinstance(cd, CommonData) else cd
    x, q2 = kinematics["x"], kinematics["Q2"]
    return (q2 > q2min) & (w2(x, q2) > w2min)


def apply_cuts(
    cd: CommonData, q2min: float = 3.49, w2min: float = 12.5, keep: np.ndarray | None = None
) -> CommonData:
    """``cd`` restricted to the points passing :func:`dis_cut_mask` (or to ``keep``, the mask
    of its observable's own cuts, :meth:`~.observables.protocol.Observable.cut_mask`).

    Raises
    ------
    DataError
        if no point survives.
    """
    keep = dis_cut_mask(cd, q2min, w2min) if keep is None else keep
    if not keep.any():
        x, q2 = cd.kinematics["x"], cd.kinematics["Q2"]
        n_q2 = int(np.sum(q2 <= q2min))
        n_w2 = int(np.sum(w2(x, q2) <= w2min))
        raise DataError(
            f"no point of {cd.name} passes the cuts Q² > {q2min} GeV² and W² > {w2min} GeV² "
            f"({n_q2} of {cd.ndata} fail Q², {n_w2} fail W²): lower q2min/w2min or drop the dataset"
        )
    return cd.select(keep)
