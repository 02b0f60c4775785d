"""Replica-stacked Keras layers: one layer object holds the weights of every replica.

Shapes: kernel ``(replica, in, out)``, bias ``(replica, out)``; activations flow as
``(replica, batch, features)``. The first layer may take an input shared by all replicas,
``(batch, in)``. A single batched ``einsum`` does the work of R separate ``Dense`` layers:
there is no reduction over the replica axis anywhere, so replicas never mix.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from n3fit_gpu.ensemble.initializers import stacked_kernel


class FixedValue(keras.initializers.Initializer):
    """Initializer returning a precomputed array (drawn per replica in NumPy)."""

    def __init__(self, value: np.ndarray):
        self.value = value

    def __call__(self, shape, dtype=None):
        if tuple(shape) != self.value.shape:
            raise ValueError(f"initial value has shape {self.value.shape}, expected {tuple(shape)}")
        return ops.convert_to_tensor(self.value, dtype=dtype)


@keras.saving.register_keras_serializable(package="n3fit_gpu")
class StackedDense(keras.layers.Layer):
    """Dense layer for R replicas at once: ``y[r] = act(x[r] @ W[r] + b[r])``.

    Parameters
    ----------
    units:
        Output features per replica.
    seeds:
        One seed per replica; the layer has ``len(seeds)`` replicas.
    layer_key:
        Index of the layer in its network (decorrelates the layers' initial weights).
    activation, kernel_initializer:
        Keras names.
    """

    def __init__(
        self,
        units: int,
        seeds: Sequence[int],
        layer_key: int,
        activation: str = "linear",
        kernel_initializer: str = "glorot_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if units < 1 or len(seeds) == 0:
            raise ValueError("StackedDense needs units >= 1 and at least one replica seed")
        self.units = int(units)
        self.seeds = tuple(int(s) for s in seeds)
        self.layer_key = int(layer_key)
        self.activation_name = activation
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = kernel_initializer

    @property
    def replicas(self) -> int:
        return len(self.seeds)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        kernel = stacked_kernel(
            self.kernel_initializer, self.seeds, self.layer_key, fan_in, self.units
        )
        self.kernel = self.add_weight(
            shape=kernel.shape, initializer=FixedValue(kernel), name="kernel"
        )
        self.bias = self.add_weight(
            shape=(self.replicas, self.units), initializer="zeros", name="bias"
        )

    def call(self, inputs):
        if self.units == 1:
            out = self._one_column(inputs)
        elif len(inputs.shape) == 2:
            out = ops.einsum("bi,rio->rbo", inputs, self.kernel)
        else:
            out = ops.einsum("rbi,rio->rbo", inputs, self.kernel)
        return self.activation(out + self.bias[:, None, :])

    def _one_column(self, inputs):
        """``(replica, batch, 1)`` as a broadcast product and sum over ``in``, not a matmul.

        PyTorch's CPU matmul computes a one-column product of ONE replica by a matrix-vector
        kernel and of several by a batched one, whose roundings differ by an ulp; training
        amplifies that ulp (4e-7 relative after 150 Nadam epochs of the engine's toy problem,
        float64), so stacked and one-at-a-time fits would differ. An elementwise product
        summed over one axis rounds the same for any number of replicas, on every backend.
        """
        x = inputs if len(inputs.shape) == 3 else inputs[None]  # (replica or 1, batch, in)
        return ops.sum(ops.expand_dims(x, -1) * ops.expand_dims(self.kernel, 1), axis=-2)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "seeds": list(self.seeds),
            "layer_key": self.layer_key,
            "activation": self.activation_name,
            "kernel_initializer": self.kernel_initializer,
        }


@keras.saving.register_keras_serializable(package="n3fit_gpu")
class UnrolledDense(StackedDense):
    """Same weights as :class:`StackedDense`, computed as R separate matmuls.

    This is NNPDF's current architecture (R separate Dense networks in one model); it exists
    as the baseline of ``scripts/benchmark.py``, to measure what batching the replica axis buys.
    """

    def call(self, inputs):
        outs = []
        for r in range(self.replicas):
            x = inputs if len(inputs.shape) == 2 else inputs[r]
            outs.append(ops.matmul(x, self.kernel[r]) + self.bias[r])
        return self.activation(ops.stack(outs))


def stacked_network(
    nodes: Sequence[int],
    activations: Sequence[str],
    seeds: Sequence[int],
    initializer: str = "glorot_normal",
    layer_class: type[StackedDense] = StackedDense,
) -> list[StackedDense]:
    """The layers of a replica-stacked fully connected network (e.g. 25-20-8, tanh-tanh-linear).

    Layers take Keras' current float type (``keras.config.floatx()``) at construction.
    """
    dtype = keras.config.floatx()
    return [
        layer_class(
            n,
            seeds,
            key,
            activation=act,
            kernel_initializer=initializer,
            name=f"dense_{key}",
            dtype=dtype,
        )
        for key, (n, act) in enumerate(zip(nodes, activations, strict=True))
    ]
