"""An analytic toy PDF at the parametrisation scale Q0: the closure-test truth.

The shapes are those of the Les Houches PDF-evolution benchmark (hep-ph/0204316, section 4.4),

    x u_v = A_u x^0.8 (1-x)^3          x d_v = A_d x^0.8 (1-x)^4
    x g   = A_g x^-0.1 (1-x)^5         x dbar = 0.1939875 x^-0.1 (1-x)^6
    x ubar = (1-x) x dbar

with a strange sea as large as the light sea at small x and suppressed at large x,
x s = x sbar = (1-x)^2 x (ubar + dbar) / 2 (the benchmark's x s = 0.2 x (ubar + dbar) would give
x T8 ~ x^-0.1 at small x, violating the T8 integrability every closure runcard imposes; this
one gives x T8 ~ x^0.8), a small symmetric charm, x c = x cbar = 0.1 x ubar (so that T15 differs
from Sigma), and no bottom. The normalisations A_u, A_d, A_g are recomputed here with Euler Beta
functions so that the valence sum rules (int u_v = 2, int d_v = 1) and the momentum sum rule
(int x(Sigma + g) = 1) hold exactly for this flavour content.

Every function returns x times the PDF, as the theory tables (``theory.py``) expect.
"""

from collections.abc import Sequence

import numpy as np
from scipy.special import beta

from n3fit_gpu.physics.theory import Q0_PIDS, evolution_rotation

_DBAR_NORM = 0.1939875
_CHARM_FRACTION = 0.1


def _norms() -> tuple[float, float, float]:
    """Return (A_u, A_d, A_g) fixing the valence and momentum sum rules exactly."""
    a_u = 2.0 / beta(0.8, 4.0)
    a_d = 1.0 / beta(0.8, 5.0)
    # momentum integrals, int x f dx = int (x f) dx, of each sea term
    dbar = _DBAR_NORM * beta(0.9, 7.0)
    ubar = _DBAR_NORM * beta(0.9, 8.0)
    strange = 0.5 * _DBAR_NORM * (beta(0.9, 9.0) + beta(0.9, 10.0))  # (1-x)^2 (ubar+dbar)/2
    charm = _CHARM_FRACTION * ubar
    valence = a_u * beta(1.8, 4.0) + a_d * beta(1.8, 5.0)
    quarks = valence + 2.0 * (ubar + dbar + strange + charm)
    a_g = (1.0 - quarks) / beta(0.9, 6.0)
    return a_u, a_d, a_g


def toy_xf_flavour(x: np.ndarray) -> dict[int, np.ndarray]:
    """x times the toy PDF of each flavour.

    Parameters
    ----------
    x : np.ndarray
        momentum fractions in (0, 1), any shape.

    Returns
    -------
    dict[int, np.ndarray]
        PDG id (-5..5 without 0, and 21 for the gluon) -> x f(x), each of the shape of ``x``.
    """
    x = np.asarray(x, dtype=float)
    a_u, a_d, a_g = _norms()
    xdbar = _DBAR_NORM * x**-0.1 * (1.0 - x) ** 6
    xubar = (1.0 - x) * xdbar
    xs = 0.5 * (1.0 - x) ** 2 * (xubar + xdbar)
    xc = _CHARM_FRACTION * xubar
    zero = np.zeros_like(x)
    return {
        -5: zero,
        -4: xc,
        -3: xs,
        -2: xubar,
        -1: xdbar,
        1: a_d * x**0.8 * (1.0 - x) ** 4 + xdbar,
        2: a_u * x**0.8 * (1.0 - x) ** 3 + xubar,
        3: xs,
        4: xc,
        5: zero,
        21: a_g * x**-0.1 * (1.0 - x) ** 5,
    }


def toy_xf_evolution(x: np.ndarray, basis: Sequence[str]) -> np.ndarray:
    """x times the toy PDF in the evolution basis.

    Parameters
    ----------
    x : np.ndarray
        momentum fractions in (0, 1), shape (nx,).
    basis : Sequence[str]
        evolution-basis labels, e.g. ``theory.BASIS`` ("sigma", "g", "v", ...).

    Returns
    -------
    np.ndarray
        shape (len(basis), nx).
    """
    flavours = toy_xf_flavour(x)
    stacked = np.stack([flavours[pid] for pid in Q0_PIDS])
    return evolution_rotation(basis) @ stacked
