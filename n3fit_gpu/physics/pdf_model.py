"""The replica-stacked PDF model: x → x·f(x) at Q0 in the FK tables' evolution basis.

Chain (shapes with R replicas, n x points, 8 fitted flavours, 9 FK-basis labels)::

    x (n,) ──(x, ln x)──▶ stacked NN ─▶ (R, n, 8) ──× x^(1-α)(1-x)^β──▶ (R, n, 8)
        ──rotation (8, 9)──▶ (R, n, 9) ──× sum-rule factors (R, 9)──▶ x·f (R, n, 9)

The sum-rule factors are integrals of the same network evaluated on a fixed quadrature grid
(:mod:`.sumrules`), so each call evaluates the network on ``n + n_quad`` points at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from n3fit_gpu.ensemble.layers import StackedDense, stacked_network
from n3fit_gpu.physics.basis import EVOL_FLAVOURS, rotation_matrix
from n3fit_gpu.physics.preprocessing import FlavourPreprocessing, Preprocessing
from n3fit_gpu.physics.sumrules import integration_grid, normalisation


class StackedPDF(keras.layers.Layer):
    """x·f at Q0 for R replicas; ``call(x)`` with ``x`` of shape ``(n,)`` returns ``(R, n, 9)``.

    Parameters
    ----------
    seeds:
        One network seed per replica (``nnseed``-derived); fixes its initial weights and
        preprocessing exponents.
    nodes, activations, initializer:
        Network architecture (NNPDF's ``nodes_per_layer``...). The last layer has 8 units.
        A layer's entry of ``nodes`` and ``initializer`` may also give one value per replica
        (stacked trials; widths are padded, see :func:`~n3fit_gpu.ensemble.layers.stacked_network`).
    basis:
        Preprocessing ranges for the 8 fitted flavours (NNPDF's ``fitting.basis``).
    fk_basis:
        Labels of the FK tables' basis (the output's last axis).
    sum_rules:
        ``ALL``, ``MSR``, ``VSR`` or ``NONE``.
    layer_class:
        :class:`StackedDense` (batched einsum) or a variant such as ``UnrolledDense``.
    """

    def __init__(
        self,
        seeds: Sequence[int],
        nodes: Sequence[int | Sequence[int]],
        activations: Sequence[str],
        initializer: str | Sequence[str],
        basis: Sequence[FlavourPreprocessing],
        fk_basis: Sequence[str],
        sum_rules: str = "ALL",
        layer_class: type[StackedDense] = StackedDense,
        **kwargs,
    ):
        super().__init__(**kwargs)
        fitted = tuple(f.fl for f in basis)
        if sorted(fitted) != sorted(EVOL_FLAVOURS) or nodes[-1] != len(fitted):
            raise ValueError(f"fitting basis must be {EVOL_FLAVOURS} with a last layer of 8 units")
        self.fk_basis = tuple(fk_basis)
        self.sum_rules = sum_rules
        self.network = stacked_network(nodes, activations, seeds, initializer, layer_class)
        self.preprocessing = Preprocessing(
            basis, seeds, name="preprocessing", dtype=kwargs.get("dtype")
        )
        self.rotation = rotation_matrix(fitted, self.fk_basis)
        self.quad_x, self.quad_w = integration_grid()

    @property
    def replicas(self) -> int:
        return self.network[0].replicas

    def build(self, input_shape):
        width = 2
        for layer in self.network:
            layer.build((None, width))
            width = layer.units
        self.preprocessing.build(None)

    def unnormalised(self, x):
        """x·f before the sum rules, ``(R, n, 9)``."""
        features = ops.stack([x, ops.log(x)], axis=-1)
        h = features
        for layer in self.network:
            h = layer(h)
        xf_fit = self.preprocessing(x, h)
        return ops.einsum("rnf,fb->rnb", xf_fit, ops.cast(self.rotation, xf_fit.dtype))

    def call(self, x):
        n = x.shape[0]
        quad = ops.cast(self.quad_x, x.dtype)
        xf = self.unnormalised(ops.concatenate([x, quad]))
        factors = normalisation(xf[:, n:], self.quad_x, self.quad_w, self.fk_basis, self.sum_rules)
        return xf[:, :n] * factors[:, None, :]


def evaluate(model: StackedPDF, x: np.ndarray) -> np.ndarray:
    """x·f on arbitrary x as NumPy, ``(R, n, 9)``."""
    dtype = keras.config.floatx()
    return ops.convert_to_numpy(model(ops.convert_to_tensor(np.asarray(x), dtype=dtype)))
