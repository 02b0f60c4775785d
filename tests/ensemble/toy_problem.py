"""A non-PDF ensemble problem for the engine's tests: noisy 1-D regression, one target per replica.

It uses only ``n3fit_gpu.ensemble`` (proving the machinery does not need the physics package).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from n3fit_gpu.ensemble.engine import (
    EnsembleTrainer,
    Losses,
    Progress,
    TrainingResult,
    TrainingSettings,
)
from n3fit_gpu.ensemble.layers import one_or_all, stack_architectures, stacked_network
from n3fit_gpu.ensemble.optimizers import make_optimizer

N_POINTS = 48
MAX_REPLICAS = 4
X = np.linspace(-2.0, 2.0, N_POINTS)[:, None]
_rng = np.random.default_rng(12345)
# replica r fits its own noisy target, on its own training mask
TARGETS = np.sin(2 * X[:, 0])[None, :] * (1 + np.arange(MAX_REPLICAS))[
    :, None
] + 0.2 * _rng.standard_normal((MAX_REPLICAS, N_POINTS))
MASKS = _rng.random((MAX_REPLICAS, N_POINTS)) < 0.7
LEARNING_RATES = np.array([0.01, 0.004, 0.02, 0.008])
CLIPNORMS = np.array([0.5, 1.0, 2.0, 0.1])
SEEDS = np.array([11, 22, 33, 44])


def fit_toy(
    replicas: Sequence[int],
    *args,
    progress: Callable[[Progress], None] | None = None,
    keep_on_interrupt: bool = False,
    **kwargs,
) -> TrainingResult:
    """Train the given replicas stacked (arguments of :func:`toy_trainer`)."""
    trainer = toy_trainer(replicas, *args, **kwargs)
    return trainer.train(progress, keep_on_interrupt=keep_on_interrupt)


def toy_trainer(
    replicas: Sequence[int],
    optimizer: str = "Adam",
    epochs: int = 150,
    patience: int = 10,
    epochs_per_call: int = 32,
    targets: np.ndarray = TARGETS,
    start_weights: dict[int, float] | None = None,
    lr_scale: float = 1.0,
    jit_compile: bool = False,
) -> EnsembleTrainer:
    """The trainer of the given replicas (indices into the module constants), stacked."""
    trial = ToyTrial(epochs=epochs, patience=patience, lr_scale=lr_scale)
    return trials_trainer(
        [trial],
        replicas,
        optimizer,
        epochs_per_call=epochs_per_call,
        targets=targets,
        start_weights=start_weights,
        jit_compile=jit_compile,
    )


@dataclass(frozen=True)
class ToyTrial:
    """One trial's hyperparameters; its replicas scale the module's learning rates and clips."""

    epochs: int = 150
    patience: int = 10
    lr_scale: float = 1.0
    clip_scale: float = 1.0
    nodes: tuple[int, ...] = (12, 12, 1)
    optimizer: str | None = None  # None: the trainer's ``optimizer``
    activation: str = "tanh"  # of the hidden layers


def trials_trainer(
    trials: Sequence[ToyTrial],
    replicas: Sequence[int],
    optimizer: str = "Adam",
    epochs_per_call: int = 32,
    targets: np.ndarray = TARGETS,
    start_weights: dict[int, float] | None = None,
    jit_compile: bool = False,
) -> EnsembleTrainer:
    """Every ``(trial, replica)`` slot in one stacked model, trial-major.

    Slot ``(k, r)`` uses replica ``r``'s seed, target and mask with trial ``k``'s settings, so
    it is replica ``r`` of trial ``k`` trained alone. ``start_weights`` sets the first kernel
    of the slots of the given replicas.
    """
    slots = [(t, r) for t in trials for r in replicas]
    idx = [r for _, r in slots]
    nodes, activations = stack_architectures(
        [t.nodes for t, _ in slots],
        [(t.activation,) * (len(t.nodes) - 1) + ("linear",) for t, _ in slots],
    )
    model = keras.Sequential(stacked_network(nodes, activations, SEEDS[idx]))
    model.build((N_POINTS, 1))
    for r, value in (start_weights or {}).items():
        kernel = model.trainable_variables[0]
        w = ops.convert_to_numpy(kernel)
        w[[i for i, s in enumerate(idx) if s == r]] = value
        kernel.assign(w)
    dtype = keras.config.floatx()
    y = ops.convert_to_tensor(targets[idx], dtype=dtype)
    tr = ops.convert_to_tensor(MASKS[idx], dtype=dtype)

    def loss_fn(out, epoch):
        sq = ops.square(out[..., 0] - y)
        training = ops.sum(sq * tr, axis=1) / ops.sum(tr, axis=1)
        validation = ops.sum(sq * (1 - tr), axis=1) / ops.sum(1 - tr, axis=1)
        return Losses(training, validation, validation < 100.0, training)

    lr = np.array([LEARNING_RATES[r] * t.lr_scale for t, r in slots])
    clip = np.array([CLIPNORMS[r] * t.clip_scale for t, r in slots])
    names = one_or_all([t.optimizer or optimizer for t, _ in slots])
    opt = make_optimizer(
        names, ops.convert_to_tensor(lr, dtype=dtype), ops.convert_to_tensor(clip, dtype=dtype)
    )
    settings = TrainingSettings(
        epochs=one_or_all([t.epochs for t, _ in slots]),
        patience=one_or_all([t.patience for t, _ in slots]),
        optimizer=opt,
        epochs_per_call=epochs_per_call,
        jit_compile=jit_compile,
    )
    return EnsembleTrainer(model, ops.convert_to_tensor(X, dtype=dtype), loss_fn, settings)
