"""Per-replica optimizers: every replica has its own learning rate, clip norm and state.

Keras' optimizers clip a gradient by the norm of the WHOLE variable (``axes=None``); on a
replica-stacked variable that norm mixes all replicas, which is why NNPDF's stacked layer gave
different results from sequential fits. Here every reduction names its axes: the clip norm of
replica ``r`` is computed over the non-replica axes of that replica's slice of the variable
(Keras' per-variable ``clipnorm`` semantics, replica by replica).

The update formulas are Keras 3's (SGD, Adam, Amsgrad, Nadam, RMSprop, Adadelta with Keras'
defaults), written as pure functions of ``(gradient, variable, slots)`` so the whole epoch can
live inside one compiled loop. The base class owns clipping (a template method); subclasses
only write ``update``.

Shapes: every variable and gradient is ``(replica, ...)``; ``learning_rate`` and ``clipnorm``
are ``(replica,)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from keras import ops

from n3fit_gpu.errors import RunCardError

EPSILON = 1e-7


def _per_replica(vector, like):
    """Reshape a ``(replica,)`` vector to broadcast against ``like`` (``(replica, ...)``)."""
    return ops.reshape(vector, (-1,) + (1,) * (len(like.shape) - 1))


def clip_by_replica_norm(gradient, clipnorm):
    """Scale each replica's slice so its L2 norm (over non-replica axes) is at most ``clipnorm``."""
    axes = tuple(range(1, len(gradient.shape)))
    norm = ops.sqrt(ops.sum(ops.square(gradient), axis=axes, keepdims=True))
    limit = ops.cast(_per_replica(clipnorm, gradient), gradient.dtype)
    safe = ops.where(norm > limit, norm, ops.ones_like(norm))
    return ops.where(norm > limit, gradient * limit / safe, gradient)


class ReplicaOptimizer:
    """Template: clipping and bookkeeping here, the update rule in subclasses.

    Parameters
    ----------
    learning_rate:
        Per-replica learning rates ``(replica,)`` (a tensor or list).
    clipnorm:
        Per-replica clip norms ``(replica,)``, or ``None`` for no clipping.
    """

    slots: ClassVar[tuple[str, ...]] = ()
    default_learning_rate: ClassVar[float] = 1e-3

    def __init__(self, learning_rate, clipnorm=None):
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm

    def init_state(self, params: Sequence) -> tuple:
        """Zero slots per variable, plus the optimizer's global scalars."""
        per_var = tuple(tuple(ops.zeros_like(p) for _ in self.slots) for p in params)
        return per_var, self.init_globals(params[0].dtype)

    def init_globals(self, dtype) -> tuple:
        return ()

    def apply(
        self, grads: Sequence, params: Sequence, state: tuple, iteration
    ) -> tuple[list, tuple]:
        """One update of every variable. ``iteration`` counts from 0. Returns (params, state)."""
        grads = self.clipped(grads)
        per_var, globals_ = state
        globals_ = self.advance_globals(globals_, iteration)
        new_params, new_slots = [], []
        for g, p, slots in zip(grads, params, per_var, strict=True):
            lr = ops.cast(_per_replica(self.learning_rate, p), p.dtype)
            p_new, s_new = self.update(g, p, slots, lr, iteration, globals_)
            new_params.append(p_new)
            new_slots.append(tuple(s_new))
        return new_params, (tuple(new_slots), globals_)

    def clipped(self, grads: Sequence) -> Sequence:
        """``grads`` with each replica's slice clipped to its ``clipnorm`` (if any)."""
        if self.clipnorm is None:
            return grads
        return [clip_by_replica_norm(g, self.clipnorm) for g in grads]

    def advance_globals(self, globals_: tuple, iteration) -> tuple:
        return globals_

    def update(self, g, p, slots, lr, iteration, globals_):  # pragma: no cover - abstract
        raise NotImplementedError


class SGD(ReplicaOptimizer):
    default_learning_rate = 0.01

    def update(self, g, p, slots, lr, iteration, globals_):
        return p - lr * g, ()


class Adam(ReplicaOptimizer):
    slots = ("m", "v")
    beta_1, beta_2 = 0.9, 0.999

    def update(self, g, p, slots, lr, iteration, globals_):
        m, v = slots
        t = ops.cast(iteration + 1, p.dtype)
        alpha = lr * ops.sqrt(1 - ops.power(self.beta_2, t)) / (1 - ops.power(self.beta_1, t))
        m = m + (g - m) * (1 - self.beta_1)
        v = v + (ops.square(g) - v) * (1 - self.beta_2)
        return p - m * alpha / (ops.sqrt(v) + EPSILON), (m, v)


class Amsgrad(Adam):
    slots = ("m", "v", "v_hat")

    def update(self, g, p, slots, lr, iteration, globals_):
        m, v, v_hat = slots
        t = ops.cast(iteration + 1, p.dtype)
        alpha = lr * ops.sqrt(1 - ops.power(self.beta_2, t)) / (1 - ops.power(self.beta_1, t))
        m = m + (g - m) * (1 - self.beta_1)
        v = v + (ops.square(g) - v) * (1 - self.beta_2)
        v_hat = ops.maximum(v_hat, v)
        return p - m * alpha / (ops.sqrt(v_hat) + EPSILON), (m, v, v_hat)


class Nadam(ReplicaOptimizer):
    slots = ("m", "v")
    beta_1, beta_2 = 0.9, 0.999

    def init_globals(self, dtype):
        return (ops.ones((), dtype=dtype),)  # running product of the momentum schedule

    def _u(self, step, dtype):
        return self.beta_1 * (1.0 - 0.5 * ops.power(ops.cast(0.96, dtype), ops.cast(step, dtype)))

    def advance_globals(self, globals_, iteration):
        (u_product,) = globals_
        return (u_product * self._u(iteration + 1, u_product.dtype),)

    def update(self, g, p, slots, lr, iteration, globals_):
        m, v = slots
        (u_product,) = globals_
        u_t = self._u(iteration + 1, p.dtype)
        u_t1 = self._u(iteration + 2, p.dtype)
        u_product = ops.cast(u_product, p.dtype)
        m = m + (g - m) * (1 - self.beta_1)
        v = v + (ops.square(g) - v) * (1 - self.beta_2)
        m_hat = u_t1 * m / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - ops.power(self.beta_2, ops.cast(iteration + 1, p.dtype)))
        return p - m_hat * lr / (ops.sqrt(v_hat) + EPSILON), (m, v)


class RMSprop(ReplicaOptimizer):
    slots = ("velocity",)
    rho = 0.9

    def update(self, g, p, slots, lr, iteration, globals_):
        (velocity,) = slots
        velocity = self.rho * velocity + (1 - self.rho) * ops.square(g)
        return p - lr * g / ops.sqrt(velocity + EPSILON), (velocity,)


class Adadelta(ReplicaOptimizer):
    slots = ("accumulated_grad", "accumulated_delta")
    rho = 0.95

    def update(self, g, p, slots, lr, iteration, globals_):
        acc_g, acc_d = slots
        acc_g = self.rho * acc_g + (1 - self.rho) * ops.square(g)
        delta = -ops.sqrt(acc_d + EPSILON) * g / ops.sqrt(acc_g + EPSILON)
        acc_d = self.rho * acc_d + (1 - self.rho) * ops.square(delta)
        return p + lr * delta, (acc_g, acc_d)


OPTIMIZERS: dict[str, type[ReplicaOptimizer]] = {
    "SGD": SGD,
    "Adam": Adam,
    "Amsgrad": Amsgrad,
    "Nadam": Nadam,
    "RMSprop": RMSprop,
    "Adadelta": Adadelta,
}


class MixedOptimizer(ReplicaOptimizer):
    """Replicas with different update rules in one model (slots of stacked trials).

    Every rule in ``names`` updates every replica (clipping is done once, per replica, before)
    and each replica keeps the result of its own rule: a ``where`` on the replica axis, so a
    replica's parameters and state follow exactly the arithmetic of its rule alone. The other
    rules' state for that replica is carried but never used. The state is laid out as the
    engine expects: per variable, the slots of every rule in turn; the globals likewise.
    """

    def __init__(self, names: Sequence[str], learning_rate, clipnorm=None):
        super().__init__(learning_rate, clipnorm)
        rules = [_optimizer_class(name) for name in names]
        distinct = list(dict.fromkeys(rules))
        self.parts = [rule(learning_rate) for rule in distinct]
        self.replicas_of = [np.array([r is rule for r in rules]) for rule in distinct]

    def init_state(self, params: Sequence) -> tuple:
        states = [part.init_state(params) for part in self.parts]
        per_var = tuple(tuple(s for st in states for s in st[0][i]) for i in range(len(params)))
        return per_var, tuple(g for st in states for g in st[1])

    def apply(
        self, grads: Sequence, params: Sequence, state: tuple, iteration
    ) -> tuple[list, tuple]:
        grads = self.clipped(grads)
        per_var, globals_ = state
        new_params, new_slots, new_globals = list(params), [() for _ in params], ()
        slot, glob = 0, 0
        for part, replicas in zip(self.parts, self.replicas_of, strict=True):
            n_globals = len(part.init_globals(params[0].dtype))
            part_state = (
                tuple(v[slot : slot + len(part.slots)] for v in per_var),
                globals_[glob : glob + n_globals],
            )
            p_part, (s_part, g_part) = part.apply(grads, params, part_state, iteration)
            mine = ops.convert_to_tensor(replicas)
            new_params = [
                ops.where(_per_replica(mine, p), p_new, p_old)
                for p, p_new, p_old in zip(params, p_part, new_params, strict=True)
            ]
            new_slots = [old + tuple(s) for old, s in zip(new_slots, s_part, strict=True)]
            new_globals += tuple(g_part)
            slot, glob = slot + len(part.slots), glob + n_globals
        return new_params, (tuple(new_slots), new_globals)


def _optimizer_class(name: str) -> type[ReplicaOptimizer]:
    by_lower = {k.lower(): v for k, v in OPTIMIZERS.items()}
    if name.lower() not in by_lower:
        raise RunCardError(f"unknown optimizer '{name}'; use one of {', '.join(OPTIMIZERS)}")
    return by_lower[name.lower()]


def make_optimizer(name: str | Sequence[str], learning_rate, clipnorm=None) -> ReplicaOptimizer:
    """A per-replica optimizer from its NNPDF runcard name (case-insensitive), or from one
    name per replica (:class:`MixedOptimizer` when they differ)."""
    if isinstance(name, str):
        return _optimizer_class(name)(learning_rate, clipnorm)
    if len({n.lower() for n in name}) == 1:
        return _optimizer_class(name[0])(learning_rate, clipnorm)
    return MixedOptimizer(name, learning_rate, clipnorm)
