"""NNPDF's k-fold penalties, one value per replica (``(R,)`` arrays).

- ``saturation``: Σ over Σ and g of 1 / (|mean slope| + std slope) of x·f against log10 x on
  100 points in [1e-6, 1e-4]: large when the PDF is flat (saturates) at small x.
- ``patience``: validation χ² · exp(1e-4 · |epochs − patience − best epoch|): zero distance when
  the best epoch is exactly one patience before the end, i.e. the epoch budget fitted.
- ``integrability``: exp(Σ of the integrability numbers above 0.5) − 1 (capped at e⁵⁰), an
  integrability number being Σ |x·f| over an integrability observable's small-x points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from n3fit_gpu.ensemble.engine import TrainingResult
from n3fit_gpu.physics.observables.predict import predict_stacked
from n3fit_gpu.physics.theory import Theory

SATURATION_X = np.logspace(-6, -4, 100)
SATURATION_FLAVOURS = ("sigma", "g")
PATIENCE_ALPHA = 1e-4
INTEGRABILITY_THRESHOLD = 0.5
OVERFLOW = 50.0


def saturation(xf: np.ndarray, basis: Sequence[str]) -> np.ndarray:
    """Per replica: Σ_flavour 1 / (1e-7 + |mean slope| + std slope) of x·f ``(R, n, 9)``
    given on :data:`SATURATION_X`."""
    columns = [list(basis).index(label) for label in SATURATION_FLAVOURS]
    slope = np.diff(xf[:, :, columns], axis=1) / np.diff(np.log10(SATURATION_X))[None, :, None]
    spread = np.abs(slope.mean(axis=1)) + slope.std(axis=1)  # (R, flavours)
    return np.sum(1.0 / (1e-7 + spread), axis=1)


def patience(result: TrainingResult, epochs: int, patience_epochs: int) -> np.ndarray:
    """Per replica: best validation loss · exp(α · |epochs − patience − best epoch|)."""
    distance = np.abs(epochs - patience_epochs - result.best_epoch)
    return result.best_validation * np.exp(PATIENCE_ALPHA * distance)


def integrability(theory: Theory, names: Sequence[str], xf: np.ndarray) -> np.ndarray:
    """Per replica, for x·f ``(R, nx, 9)`` on the theory grid and the named observables."""
    if not names:
        return np.zeros(xf.shape[0])
    numbers = np.stack(
        [np.abs(predict_stacked([theory.integrability[n]], xf)).sum(axis=1) for n in names], 1
    )
    overflow = np.where(numbers > INTEGRABILITY_THRESHOLD, numbers, 0.0).sum(axis=1)
    return np.expm1(np.minimum(overflow, OVERFLOW))
