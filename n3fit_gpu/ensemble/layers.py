"""Replica-stacked Keras layers: one layer object holds the weights of every replica.

Shapes: kernel ``(replica, in, out)``, bias ``(replica, out)``; activations flow as
``(replica, batch, features)``. The first layer may take an input shared by all replicas,
``(batch, in)``. A single batched ``einsum`` does the work of R separate ``Dense`` layers:
there is no reduction over the replica axis anywhere, so replicas never mix.

Replicas of different widths (slots of several trials stacked in one model) are padded: the
kernel and bias are allocated at the largest width and multiplied in ``call`` by a constant
0/1 mask, so a padded entry contributes nothing, gets a zero gradient (its optimizer state
stays zero and its replica's clip norm is unchanged) and never moves. Padded output columns
hold ``activation(0)``; the next layer's masked kernel rows ignore them. Layers whose replicas
all have the same width build no mask and compute exactly as before. Slots may also differ in
activation: every distinct activation of the layer is applied to every replica and each replica
keeps its own (a ``where`` on the replica axis). Networks of different depth are stacked by
giving the shallower ones pass-through layers (activation :data:`PASS_THROUGH`) before their
output layer: a fixed identity kernel, no bias, nothing trainable, so ``h @ I = h`` exactly and
the replica computes what its own network does. Each replica's real layers keep the
initializer keys of its own network (:func:`stack_architectures`, :func:`stacked_network`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import keras
import numpy as np
from keras import ops

from n3fit_gpu.ensemble.initializers import stacked_kernel

PASS_THROUGH = "pass_through"  # a replica's layer that returns its input (depth padding)


class FixedValue(keras.initializers.Initializer):
    """Initializer returning a precomputed array (drawn per replica in NumPy)."""

    def __init__(self, value: np.ndarray):
        self.value = value

    def __call__(self, shape, dtype=None):
        if tuple(shape) != self.value.shape:
            raise ValueError(f"initial value has shape {self.value.shape}, expected {tuple(shape)}")
        return ops.convert_to_tensor(self.value, dtype=dtype)


def one_or_all(values: Iterable):
    """The common value when every replica (slot) has it, else a tuple of all of them; the
    scalar form keeps the scalar fast paths of layers, optimizers and the engine."""
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def _per_replica(name: str, value, replicas: int) -> tuple | None:
    """``None`` for a scalar (or ``None``), else a tuple of ``replicas`` entries."""
    if value is None or isinstance(value, int | str | np.integer):
        return None
    value = tuple(value)
    if len(value) != replicas:
        raise ValueError(f"StackedDense {name} has {len(value)} entries for {replicas} replicas")
    return value


@keras.saving.register_keras_serializable(package="n3fit_gpu")
class StackedDense(keras.layers.Layer):
    """Dense layer for R replicas at once: ``y[r] = act(x[r] @ W[r] + b[r])``.

    Parameters
    ----------
    units:
        Output features: one int for every replica, or one per replica (padded to the largest,
        see the module docstring); ``self.units`` is the (padded) width of the output.
    seeds:
        One seed per replica; the layer has ``len(seeds)`` replicas.
    layer_key:
        Index of the layer in its network (decorrelates the layers' initial weights), or one
        per replica.
    activation:
        Keras name, or one per replica (see the module docstring); :data:`PASS_THROUGH` for a
        replica whose layer only passes its input on (its ``units`` equal its input width).
    kernel_initializer:
        Keras name, or one per replica.
    input_units:
        The true input width of each replica when the input is padded (the previous layer's
        per-replica ``units``); ``None``: every replica uses the whole input.
    """

    def __init__(
        self,
        units: int | Sequence[int],
        seeds: Sequence[int],
        layer_key: int | Sequence[int],
        activation: str | Sequence[str] = "linear",
        kernel_initializer: str | Sequence[str] = "glorot_normal",
        input_units: Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.seeds = tuple(int(s) for s in seeds)
        replica_units = _per_replica("units", units, len(self.seeds))
        widths = replica_units or (units,)
        if min(widths, default=0) < 1 or len(seeds) == 0:
            raise ValueError("StackedDense needs units >= 1 and at least one replica seed")
        self.units = int(max(widths))
        self.replica_units = tuple(int(u) for u in replica_units) if replica_units else None
        self.input_units = _per_replica("input_units", input_units, len(self.seeds))
        self.layer_key = _per_replica("layer_key", layer_key, self.replicas) or int(layer_key)
        replica_activations = _per_replica("activation", activation, len(self.seeds))
        self.activation_name = replica_activations or activation
        self._passing = np.array([a == PASS_THROUGH for a in replica_activations or ()], bool)
        names = list(dict.fromkeys(replica_activations or (activation,)))
        self._activations = tuple(
            (
                keras.activations.get("linear" if name == PASS_THROUGH else name),
                np.array([a == name for a in replica_activations or ()]),
            )
            for name in names
        )
        self._fixed: np.ndarray | None = None
        per_replica_init = _per_replica("kernel_initializer", kernel_initializer, self.replicas)
        self.kernel_initializer = per_replica_init or kernel_initializer
        self._mask: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def replicas(self) -> int:
        return len(self.seeds)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        fan_ins = self.input_units or (fan_in,) * self.replicas
        fan_outs = self.replica_units or (self.units,) * self.replicas
        if max(fan_ins) > fan_in:
            raise ValueError(f"input_units {fan_ins} exceed the input width {fan_in}")
        kernel = stacked_kernel(
            self.kernel_initializer, self.seeds, self.layer_key, fan_ins, fan_outs
        )
        kernel = np.pad(kernel, ((0, 0), (0, fan_in - kernel.shape[1]), (0, 0)))
        if set(fan_ins) != {fan_in} or set(fan_outs) != {self.units} or self._passing.any():
            rows = np.arange(fan_in)[None, :] < np.asarray(fan_ins)[:, None]  # (R, in)
            cols = np.arange(self.units)[None, :] < np.asarray(fan_outs)[:, None]  # (R, out)
            cols[self._passing] = False  # nothing of a pass-through replica is trainable
            self._mask = (rows[:, :, None] & cols[:, None, :], cols)
        if self._passing.any():
            kernel[self._passing] = 0.0
            self._fixed = np.zeros_like(kernel)
            for r in np.flatnonzero(self._passing):
                if fan_ins[r] != fan_outs[r]:
                    raise ValueError(f"a pass-through replica needs units == input width; got "
                                     f"{fan_outs[r]} for {fan_ins[r]} inputs")  # fmt: skip
                self._fixed[r, : fan_ins[r], : fan_ins[r]] = np.eye(fan_ins[r])
        self.kernel = self.add_weight(
            shape=kernel.shape, initializer=FixedValue(kernel), name="kernel"
        )
        self.bias = self.add_weight(
            shape=(self.replicas, self.units), initializer="zeros", name="bias"
        )

    def weights_in_use(self):
        """Kernel and bias with padded entries multiplied by 0 (as they are without padding)."""
        if self._mask is None:
            return self.kernel, self.bias
        kernel_mask, bias_mask = (ops.convert_to_tensor(m, self.kernel.dtype) for m in self._mask)
        kernel = self.kernel * kernel_mask
        if self._fixed is not None:
            kernel = kernel + ops.convert_to_tensor(self._fixed, self.kernel.dtype)
        return kernel, self.bias * bias_mask

    def call(self, inputs):
        kernel, bias = self.weights_in_use()
        if self.units == 1:
            out = self._one_column(inputs, kernel)
        elif len(inputs.shape) == 2:
            out = ops.einsum("bi,rio->rbo", inputs, kernel)
        else:
            out = ops.einsum("rbi,rio->rbo", inputs, kernel)
        return self.activation(out + bias[:, None, :])

    def activation(self, z):
        """The layer's activation of ``z`` ``(replica, batch, out)``, replica by replica."""
        first, *others = self._activations
        out = first[0](z)
        for function, replicas in others:
            out = ops.where(ops.convert_to_tensor(replicas[:, None, None]), function(z), out)
        return out

    def _one_column(self, inputs, kernel):
        """``(replica, batch, 1)`` as a broadcast product and sum over ``in``, not a matmul.

        PyTorch's CPU matmul computes a one-column product of ONE replica by a matrix-vector
        kernel and of several by a batched one, whose roundings differ by an ulp; training
        amplifies that ulp (4e-7 relative after 150 Nadam epochs of the engine's toy problem,
        float64), so stacked and one-at-a-time fits would differ. An elementwise product
        summed over one axis rounds the same for any number of replicas, on every backend.
        """
        x = inputs if len(inputs.shape) == 3 else inputs[None]  # (replica or 1, batch, in)
        return ops.sum(ops.expand_dims(x, -1) * ops.expand_dims(kernel, 1), axis=-2)

    def get_config(self):
        listed = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
        return {
            **super().get_config(),
            "units": listed(self.replica_units) or self.units,
            "seeds": list(self.seeds),
            "layer_key": listed(self.layer_key),
            "activation": listed(self.activation_name),
            "kernel_initializer": listed(self.kernel_initializer),
            "input_units": listed(self.input_units),
        }


@keras.saving.register_keras_serializable(package="n3fit_gpu")
class UnrolledDense(StackedDense):
    """Same weights as :class:`StackedDense`, computed as R separate matmuls.

    This is NNPDF's current architecture (R separate Dense networks in one model); it exists
    as the baseline of ``scripts/benchmark.py``, to measure what batching the replica axis buys.
    """

    def call(self, inputs):
        kernel, bias = self.weights_in_use()
        outs = []
        for r in range(self.replicas):
            x = inputs if len(inputs.shape) == 2 else inputs[r]
            outs.append(ops.matmul(x, kernel[r]) + bias[r])
        return self.activation(ops.stack(outs))


def stacked_network(
    nodes: Sequence[int | Sequence[int]],
    activations: Sequence[str | Sequence[str]],
    seeds: Sequence[int],
    initializer: str | Sequence[str] = "glorot_normal",
    layer_class: type[StackedDense] = StackedDense,
) -> list[StackedDense]:
    """The layers of a replica-stacked fully connected network (e.g. 25-20-8, tanh-tanh-linear).

    Parameters
    ----------
    nodes:
        Units per layer: an int (every replica), or one width per replica (padded layers).
    activations:
        One Keras activation per layer: a name, or one per replica.
    seeds:
        One seed per replica.
    initializer:
        Keras initializer name, or one per replica.
    layer_class:
        :class:`StackedDense` or a variant with the same weights.

    Layers take Keras' current float type (``keras.config.floatx()``) at construction.
    """
    dtype = keras.config.floatx()
    layers, previous = [], None
    real_layers = np.zeros(len(seeds), int)  # per replica: its own layers so far (the key)
    for index, (n, act) in enumerate(zip(nodes, activations, strict=True)):
        key = int(real_layers[0]) if len(set(real_layers)) == 1 else tuple(map(int, real_layers))
        real_layers += [a != PASS_THROUGH for a in np.broadcast_to(np.asarray(act), len(seeds))]
        layers.append(
            layer_class(
                n,
                seeds,
                key,
                activation=act,
                kernel_initializer=initializer,
                input_units=previous,
                name=f"dense_{index}",
                dtype=dtype,
            )
        )
        previous = None if isinstance(n, int | np.integer) else tuple(n)
    return layers


def stack_architectures(
    nodes: Sequence[Sequence[int]], activations: Sequence[Sequence[str]]
) -> tuple[list[int | tuple[int, ...]], list[str | tuple[str, ...]]]:
    """Combine per-replica architectures into :func:`stacked_network`'s ``nodes, activations``.

    Parameters
    ----------
    nodes:
        One ``nodes_per_layer`` per replica, e.g. ``[[25, 20, 8], [10, 8]]``.
    activations:
        One ``activation_per_layer`` per replica, as long as its ``nodes_per_layer``.

    Returns
    -------
    nodes, activations:
        Per layer an int (a name) where every replica has that width (activation), else a
        tuple with one per replica (``[(25, 10), (20, 10), 8]``, ``[tanh, (tanh,
        pass_through), linear]``). A network shallower than the deepest gets pass-through
        layers of its last hidden width just before its output layer.
    """
    depth = max(len(n) for n in nodes)
    padded_nodes, padded_acts = [], []
    for widths, acts in zip(nodes, activations, strict=True):
        if len(widths) != len(acts):
            raise ValueError(f"{len(widths)} layers but {len(acts)} activations: {acts}")
        if len(widths) < 2 and len(widths) < depth:
            raise ValueError("a network without hidden layers cannot be stacked with deeper ones")
        extra = depth - len(widths)
        padded_nodes.append([*widths[:-1], *[widths[-2]] * extra, widths[-1]])
        padded_acts.append([*acts[:-1], *[PASS_THROUGH] * extra, acts[-1]])
    stacked = [one_or_all(int(w) for w in widths) for widths in zip(*padded_nodes)]
    return stacked, [one_or_all(acts) for acts in zip(*padded_acts)]
