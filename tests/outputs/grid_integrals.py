"""Sum rules integrated from an LHAPDF grid, as a reader of the grid would: x f interpolated in
ln x with LHAPDF's log-cubic (Hermite, derivatives from the mean of the neighbouring finite
differences) and integrated from the first x knot to 1 (Simpson, 16 steps per interval).

With ``tail=True`` the part below the first knot x0 is added as a power law through the first
two knots (x f ~ x^s: the number integral below x0 is x f(x0) / s). A fit normalises its
integrals over [1e-9, 1] at Q0; above Q0 evolution moves valence below 1e-9 (the number over
[0, 1] is conserved), so for replicas with a flat small-x valence (x v ~ x^0.4) the integral
over [1e-9, 1] falls by a few 1e-3 at 1e5 GeV on any grid that starts at 1e-9.
"""

import numpy as np
from scipy.integrate import simpson
from scipy.interpolate import CubicHermiteSpline


def _log_cubic(xgrid: np.ndarray, xf: np.ndarray) -> CubicHermiteSpline:
    ln_x = np.log(xgrid)
    slopes = np.diff(xf, axis=-1) / np.diff(ln_x)
    derivatives = np.concatenate(
        [slopes[..., :1], 0.5 * (slopes[..., :-1] + slopes[..., 1:]), slopes[..., -1:]], axis=-1
    )
    return CubicHermiteSpline(ln_x, xf, derivatives, axis=-1)


def grid_sum_rules(
    xgrid: np.ndarray, pids, xf: np.ndarray, tail: bool = False
) -> dict[str, np.ndarray]:
    """Momentum, u_v, d_v, s_v of x f ``(..., npid, nx)`` on ``xgrid``: each ``(...)``."""
    ln_x = np.log(xgrid)
    fine = np.concatenate(
        [np.linspace(a, b, 17)[:-1] for a, b in zip(ln_x[:-1], ln_x[1:])] + [ln_x[-1:]]
    )
    values = _log_cubic(xgrid, xf)(fine)  # (..., npid, nfine)
    row = {pid: i for i, pid in enumerate(pids)}

    def number(pid: int) -> np.ndarray:  # integral of (q - qbar) dx = of (x q - x qbar) d ln x
        valence = xf[..., row[pid], :] - xf[..., row[-pid], :]
        below = 0.0
        if tail:
            slope = np.log(valence[..., 1] / valence[..., 0]) / np.log(xgrid[1] / xgrid[0])
            below = np.where(slope > 0, valence[..., 0] / np.where(slope > 0, slope, 1.0), 0.0)
        return simpson(values[..., row[pid], :] - values[..., row[-pid], :], x=fine) + below

    momentum = simpson(values * np.exp(fine), x=fine).sum(axis=-1)
    return {"momentum": momentum, "uv": number(2), "dv": number(1), "sv": number(3)}


SUM_RULES = {"momentum": 1.0, "uv": 2.0, "dv": 1.0, "sv": 0.0}
