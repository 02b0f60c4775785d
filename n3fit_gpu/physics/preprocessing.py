"""Preprocessing ``x^(1-α) (1-x)^β`` per replica and flavour.

``α`` and ``β`` have shape ``(replica, flavour)``: each replica draws them uniformly from the
runcard's ``smallx`` / ``largex`` ranges with its own seed (so a replica's exponents do not
depend on how many replicas are stacked). Flavours marked ``trainable`` are fitted and kept
inside their ranges by a constraint; the others stay at their drawn values (the constraint
resets them, so one variable serves both kinds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from n3fit_gpu.ensemble.layers import FixedValue


@dataclass(frozen=True)
class FlavourPreprocessing:
    """Runcard entry of ``fitting.basis``: ranges of the small- and large-x exponents."""

    fl: str
    smallx: tuple[float, float]
    largex: tuple[float, float]
    trainable: bool = False


def draw_exponents(
    basis: Sequence[FlavourPreprocessing], seeds: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform draws of ``(α, β)``, each ``(replica, flavour)``, from per-replica seeds."""
    alphas, betas = [], []
    for seed in seeds:
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7919]))
        alphas.append([rng.uniform(*f.smallx) for f in basis])
        betas.append([rng.uniform(*f.largex) for f in basis])
    return np.asarray(alphas), np.asarray(betas)


class _KeepInRange(keras.constraints.Constraint):
    """Clip trainable entries to their range; reset frozen ones to their initial value."""

    def __init__(
        self, initial: np.ndarray, low: np.ndarray, high: np.ndarray, trainable: np.ndarray
    ):
        self.initial, self.low, self.high, self.trainable = initial, low, high, trainable

    def __call__(self, w):
        clipped = ops.clip(w, ops.cast(self.low, w.dtype), ops.cast(self.high, w.dtype))
        return ops.where(self.trainable, clipped, ops.cast(self.initial, w.dtype))


class Preprocessing(keras.layers.Layer):
    """Multiply network outputs ``(replica, x, flavour)`` by ``x^(1-α)(1-x)^β``."""

    def __init__(self, basis: Sequence[FlavourPreprocessing], seeds: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.basis = tuple(basis)
        self.seeds = tuple(int(s) for s in seeds)

    def build(self, input_shape):
        alpha, beta = draw_exponents(self.basis, self.seeds)
        trainable = np.array([f.trainable for f in self.basis])[None, :].repeat(len(self.seeds), 0)
        any_trainable = bool(trainable.any())
        self.alpha = self._exponent(
            "alpha", alpha, [f.smallx for f in self.basis], trainable, any_trainable
        )
        self.beta = self._exponent(
            "beta", beta, [f.largex for f in self.basis], trainable, any_trainable
        )

    def _exponent(self, name, initial, ranges, trainable, any_trainable):
        low = np.broadcast_to(np.array([r[0] for r in ranges]), initial.shape)
        high = np.broadcast_to(np.array([r[1] for r in ranges]), initial.shape)
        return self.add_weight(
            shape=initial.shape,
            initializer=FixedValue(initial),
            trainable=any_trainable,
            constraint=_KeepInRange(initial, low, high, trainable) if any_trainable else None,
            name=name,
        )

    def call(self, x, network_output):
        logx = ops.log(x)[None, :, None]
        # x = 1 is clamped so that d/dβ of (1-x)^β stays finite (the PDF vanishes there anyway)
        log1mx = ops.log1p(-ops.minimum(x, 1.0 - 1e-7))[None, :, None]
        factor = ops.exp((1.0 - self.alpha[:, None, :]) * logx + self.beta[:, None, :] * log1mx)
        return factor * network_output
