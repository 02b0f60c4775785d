"""The built-in closure-test truth ``toy``: the Les Houches PDF-evolution benchmark's shapes
(hep-ph/0204316, section 4.4) at the parametrisation scale Q0,

    x u_v = A_u x^0.8 (1-x)^3          x d_v = A_d x^0.8 (1-x)^4
    x g   = A_g x^-0.1 (1-x)^5         x dbar = 0.1939875 x^-0.1 (1-x)^6
    x ubar = (1-x) x dbar

with a strange sea as large as the light sea at small x and suppressed at large x,
x s = x sbar = (1-x)^2 x (ubar + dbar) / 2 (the benchmark's x s = 0.2 x (ubar + dbar) would give
x T8 ~ x^-0.1 at small x, violating the T8 integrability every closure runcard imposes; this
one gives x T8 ~ x^0.8), a small symmetric charm, x c = x cbar = 0.1 x ubar (so that T15 differs
from Sigma), and no bottom. A_u, A_d, A_g fix the valence and momentum sum rules exactly
(:class:`~n3fit_gpu.physics.truths.AnalyticPDF`, where the other truths live).

Every function returns x times the PDF, as the theory tables (``theory.py``) expect.
"""

from collections.abc import Sequence

import numpy as np

from n3fit_gpu.physics.truths import TRUTHS


def toy_xf_flavour(x: np.ndarray) -> dict[int, np.ndarray]:
    """x f of each flavour: PDG id (-5..5 without 0, 21 for the gluon) -> array like ``x``."""
    return TRUTHS["toy"].xf_flavour(x)


def toy_xf_evolution(x: np.ndarray, basis: Sequence[str]) -> np.ndarray:
    """x f in the evolution basis, ``(len(basis), nx)``, e.g. ``basis = theory.BASIS``."""
    return TRUTHS["toy"].xf_evolution(x, basis)
