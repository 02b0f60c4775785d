"""Backend selection and the framework-specific primitives the training engine needs.

Everything in ``n3fit_gpu`` speaks ``keras.ops``. Only these differ between TensorFlow,
JAX and PyTorch and live here, in one place:

- ``value_and_grad(fn)``: the gradient of a scalar objective w.r.t. a list of tensors;
- ``compile_loop(step, n)``: a function running ``step`` ``n`` times inside ONE compiled call
  (``jax.jit`` + ``lax.fori_loop``; ``tf.function`` + ``tf.while_loop``; a Python loop for
  torch). Running many epochs per call is what removes the per-epoch framework overhead
  (~33 ms per Keras ``fit`` epoch on TF, measured; see shared/facts.md);
- ``replica_placement(R)``: on JAX, the replica axis is split across the devices (GPUs, or
  one CPU device per core): replicas never interact, so each device trains its share alone.

The backend must be chosen before keras is first imported: :func:`select_backend` does that.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

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
    if name == "jax":
        _host_devices()
    return name


def start_quietly(name: str | None, verbose: bool = False) -> str:
    """:func:`select_backend`, then import keras and find the devices with the process's
    standard error (file descriptor 2, where C++ logs go) set aside: TensorFlow's start-up
    lines on a machine without a GPU ("Could not find cuda drivers", "failed call to cuInit")
    are not shown unless ``verbose`` or the start fails. Returns the backend's name."""
    name = select_backend(name)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if verbose:
        _find_devices(name)
        return name
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            _find_devices(name)
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return name


def _find_devices(name: str) -> None:
    import keras  # noqa: F401  (the import that starts the backend)

    if name == "tensorflow":
        import tensorflow as tf

        tf.config.list_physical_devices()
    elif name == "jax":
        import jax

        jax.devices()


def _host_devices() -> None:
    """Give JAX one CPU device per usable core (unless ``XLA_FLAGS`` already sets a count), so
    that replicas split across them run in parallel (:func:`replica_placement`). Effective only
    before JAX starts; no effect on GPUs."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "jax" in sys.modules or "xla_force_host_platform_device_count" in flags:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = f"--xla_force_host_platform_device_count={max(cores or 1, 1)}"
    os.environ["XLA_FLAGS"] = f"{flags} {count}".strip()


def current_backend() -> str:
    """The backend keras runs on."""
    import keras

    return keras.backend.backend()


def set_precision(double: bool) -> str:
    """Set keras' float type: float64 with ``double=True``, else float32. Returns it.

    Either way, products of float32 matrices are computed in full float32 on every backend.
    By default JAX and TensorFlow round their inputs to TensorFloat-32 (a 10-bit mantissa) on
    NVIDIA GPUs from Ampere on: a rounding of 5e-4 relative, 8,000 times float32's, in every FK
    prediction and χ² term, and a stacked fit would no longer match its replicas fitted alone.
    Our products are small and launch-bound on a GPU: full precision costs little there.
    """
    import keras

    floatx = "float64" if double else "float32"
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
        if double:
            jax.config.update("jax_enable_x64", True)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)
    else:
        import torch

        torch.set_float32_matmul_precision("highest")
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
    step: Callable[[Any, Any], Any], n_steps: int, jit_compile: bool = True
) -> Callable[[Any, Any], Any]:
    """Return ``run(state, constants) -> state`` applying ``step(state, constants)`` ``n_steps``
    times in one compiled call; ``constants`` (any nesting of tensors, or None) is an argument,
    not part of the compiled program.

    ``jit_compile=False`` lets TensorFlow run a plain graph instead of XLA: ~4× faster to
    compile, ~2.5× slower per epoch (toy network, 2 CPU cores). JAX always uses XLA.
    """
    backend = current_backend()
    if backend == "jax":
        import jax

        def jax_loop(state, constants):
            return jax.lax.fori_loop(0, n_steps, lambda _, s: step(s, constants), state)

        return jax.jit(jax_loop)
    if backend == "tensorflow":
        import tensorflow as tf

        def tf_loop(state, constants):
            return tf.while_loop(
                lambda i, _: i < n_steps,
                lambda i, s: (i + 1, step(s, constants)),
                (tf.constant(0), state),
            )[1]

        return tf.function(tf_loop, jit_compile=jit_compile)

    def eager_loop(state, constants):
        for _ in range(n_steps):
            state = step(state, constants)
        return state

    return eager_loop


def replica_devices(replicas: int) -> list:
    """The JAX devices ``replicas`` are split across: the most of ``jax.devices()`` (at most
    one per replica) that divide ``replicas`` evenly. Other backends: ``[]`` (one device)."""
    if current_backend() != "jax":
        return []
    import jax

    devices = jax.devices()
    count = max(d for d in range(1, min(len(devices), replicas) + 1) if replicas % d == 0)
    return devices[:count]


def replica_placement(replicas: int) -> Callable[[Any], Any]:
    """``place(tree)``: puts every array of ``tree`` whose leading axis has ``replicas``
    entries split along that axis across :func:`replica_devices`, the others whole on each.

    Replicas never interact, so the devices run their shares with no communication; a compiled
    call follows the placement of its arguments. The identity with one device.
    """
    devices = replica_devices(replicas)
    if len(devices) <= 1:
        return lambda tree: tree
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(devices), ("replica",))
    split = NamedSharding(mesh, PartitionSpec("replica"))
    whole = NamedSharding(mesh, PartitionSpec())

    def place(leaf):
        shape = getattr(leaf, "shape", ())
        return jax.device_put(leaf, split if len(shape) and shape[0] == replicas else whole)

    return lambda tree: jax.tree_util.tree_map(place, tree)
