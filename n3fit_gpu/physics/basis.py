"""Fitting basis and its rotation to the evolution basis of the FK tables.

The network outputs 8 flavours in NNPDF's ``EVOL`` fitting basis
``(sng, g, v, v3, v8, t3, t8, t15)``. FK tables at Q0 (fitted, symmetric charm: c = c̄; no b, t)
use 9 evolution-basis labels ``(sigma, g, v, v3, v8, v15, t3, t8, t15)``; with c⁻ = 0,
V15 = V. The rotation is a fixed ``(8, 9)`` 0/1 matrix built from the labels, so a theory
may order its basis freely.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from n3fit_gpu.errors import TheoryError

EVOL_FLAVOURS = ("sng", "g", "v", "v3", "v8", "t3", "t8", "t15")
# which fitted flavour each FK-basis label takes its value from
_SOURCE = {
    "sigma": "sng",
    "g": "g",
    "v": "v",
    "v3": "v3",
    "v8": "v8",
    "v15": "v",
    "t3": "t3",
    "t8": "t8",
    "t15": "t15",
}
VALENCE_SUM_RULES = {"v": 3.0, "v3": 1.0, "v8": 3.0}


def fk_label(fitted: str) -> str:
    """The FK-basis label holding the fitted flavour ``fitted`` (``sng`` → ``sigma``; ``v``,
    which V15 copies, → ``v``)."""
    return next(label for label, source in _SOURCE.items() if source == fitted)


def rotation_matrix(fit_flavours: Sequence[str], fk_basis: Sequence[str]) -> np.ndarray:
    """Matrix ``(n_fit, n_basis)``: ``xf_basis = xf_fit @ matrix``."""
    matrix = np.zeros((len(fit_flavours), len(fk_basis)))
    for j, label in enumerate(fk_basis):
        if label not in _SOURCE:
            raise TheoryError(
                f"theory basis label '{label}' is not supported; expected {sorted(_SOURCE)}"
            )
        matrix[list(fit_flavours).index(_SOURCE[label]), j] = 1.0
    return matrix
