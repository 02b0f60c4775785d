"""Backend selection and the two framework-specific primitives the training engine needs.

Everything in ``n3fit_gpu`` speaks ``keras.ops``. Only two things differ between TensorFlow,
JAX and PyTorch and live here, in one place:

- ``value_and_grad(fn)``: the gradient of a scalar objective w.r.t. a list of tensors;
- ``compile_loop(step, n)``: a function running ``step`` ``n`` times inside ONE compiled call
  (``jax.jit`` + ``lax.fori_loop``; ``tf.function`` + ``tf.while_loop``; a Python loop for
  torch). Running many epochs per call is what removes the per-epoch framework overhead
  (~33 ms per Keras ``fit`` epoch on TF, measured; see shared/facts.md).

The backend must be chosen before keras is first imported: :func:`select_backend` does that.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from n3fit_gpu.errors import N3fitError

SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")
_EXTRA = {"tensorflow": "tensorflow", "jax": "n3fit_gpu[jax]", "torch": "n3fit_gpu[torch]"}


class BackendError(N3fitError, RuntimeError):
    """The requested backend cannot be used."""


def select_backend(name: str | None) -> str:
    """Choose the Keras backend (``None`` keeps ``$KERAS_BACKEND`` or Keras' default).

    Must run before ``keras`` is imported; afterwards only the same backend is accepted.
    """
    if name is None:
        name = os.environ.get("KERAS_BACKEND", "tensorflow")
    if name not in SUPPORTED_BACKENDS:
        raise BackendError(
            f"unknown backend '{name}'; choose one of {', '.join(SUPPORTED_BACKENDS)}"
        )
    if importlib.util.find_spec(name) is None:
        raise BackendError(
            f"backend '{name}' is not installed: pip install '{_EXTRA[name]}' or choose another"
        )
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != name:
            raise BackendError(
                f"backend '{name}' requested but keras is already running on '{current}'; "
                f"start a new process with KERAS_BACKEND={name}"
            )
        return name
    os.environ["KERAS_BACKEND"] = name
    return name


def current_backend() -> str:
    """The backend keras runs on."""
    import keras

    return keras.backend.backend()


def set_precision(double: bool) -> str:
    """Set keras' float type: float64 with ``double=True``, else float32. Returns it."""
    import keras

    floatx = "float64" if double else "float32"
    if double and keras.backend.backend() == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    keras.config.set_floatx(floatx)
    return floatx


def value_and_grad(
    fn: Callable[..., tuple[Any, Any]],
) -> Callable[..., tuple[tuple[Any, Any], list]]:
    """Wrap ``fn(params, *args) -> (scalar, aux)`` to also return the gradients w.r.t. params."""
    backend = current_backend()
    if backend == "jax":
        import jax

        return jax.value_and_grad(fn, has_aux=True)
    if backend == "tensorflow":
        import tensorflow as tf

        def tf_value_and_grad(params, *args):
            with tf.GradientTape() as tape:
                tape.watch(params)
                value, aux = fn(params, *args)
            return (value, aux), tape.gradient(value, params)

        return tf_value_and_grad
    import torch

    def torch_value_and_grad(params, *args):
        params = [p.detach().requires_grad_(True) for p in params]
        value, aux = fn(params, *args)
        grads = torch.autograd.grad(value, params)
        detach = lambda t: t.detach() if isinstance(t, torch.Tensor) else t  # noqa: E731
        aux = type(aux)(*(detach(a) for a in aux)) if isinstance(aux, tuple) else aux
        return (value.detach(), aux), list(grads)

    return torch_value_and_grad


def compile_loop(
    step: Callable[[Any], Any], n_steps: int, jit_compile: bool = True
) -> Callable[[Any], Any]:
    """Return ``run(state) -> state`` applying ``step`` ``n_steps`` times in one compiled call.

    ``jit_compile=False`` lets TensorFlow run a plain graph instead of XLA: ~4× faster to
    compile, ~2.5× slower per epoch (toy network, 2 CPU cores). JAX always uses XLA.
    """
    backend = current_backend()
    if backend == "jax":
        import jax

        return jax.jit(lambda state: jax.lax.fori_loop(0, n_steps, lambda _, s: step(s), state))
    if backend == "tensorflow":
        import tensorflow as tf

        def tf_loop(state):
            return tf.while_loop(
                lambda i, _: i < n_steps,
                lambda i, s: (i + 1, step(s)),
                (tf.constant(0), state),
            )[1]

        return tf.function(tf_loop, jit_compile=jit_compile)

    def eager_loop(state):
        for _ in range(n_steps):
            state = step(state)
        return state

    return eager_loop
