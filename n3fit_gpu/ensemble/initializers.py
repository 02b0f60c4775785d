"""Per-replica weight initialisation, reproducible across backends and ensemble sizes.

Replica ``r`` of a stacked layer gets exactly the weights a one-replica model would get with
the same replica seed: each replica's block is drawn by NumPy from
``SeedSequence([seed_r, layer_key])``, never from a generator shared by the stack. That is
what makes a stacked fit of R replicas equal to R separate fits (the first requirement of
replica independence), whatever the backend. Replicas of different widths (slots of different
trials in one model) draw their block with their own shape and are zero-padded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from n3fit_gpu.errors import RunCardError

# std of a unit normal truncated at ±2σ: the factor Keras uses for its *_normal initialisers
_TRUNCATED_STD = 0.87962566103423978


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    values = rng.standard_normal(shape)
    bad = np.abs(values) > 2.0
    while bad.any():
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2.0
    return values * std / _TRUNCATED_STD


def _draw(name: str, rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    shape = (fan_in, fan_out)
    scale = {
        "glorot": 2.0 / (fan_in + fan_out),
        "he": 2.0 / fan_in,
        "lecun": 1.0 / fan_in,
    }
    family, _, kind = name.partition("_")
    if family in scale and kind == "normal":
        return _truncated_normal(rng, shape, float(np.sqrt(scale[family])))
    if family in scale and kind == "uniform":
        limit = float(np.sqrt(3.0 * scale[family]))
        return rng.uniform(-limit, limit, shape)
    if name == "random_normal":
        return rng.normal(0.0, 0.05, shape)
    if name == "random_uniform":
        return rng.uniform(-0.05, 0.05, shape)
    raise RunCardError(f"unknown initializer '{name}'; use one of {', '.join(INITIALIZERS)}")


INITIALIZERS = (
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "random_normal",
    "random_uniform",
)


def stacked_kernel(
    name: str | Sequence[str],
    seeds: Sequence[int],
    layer_key: int | Sequence[int],
    fan_in: int | Sequence[int],
    fan_out: int | Sequence[int],
) -> np.ndarray:
    """Initial kernels for every replica, shape ``(len(seeds), max fan_in, max fan_out)``.

    Parameters
    ----------
    name:
        Keras initializer name (``glorot_normal``...), or one per replica.
    seeds:
        One seed per replica; replica ``r`` depends only on ``seeds[r]`` and ``layer_key``.
    layer_key:
        Distinguishes the layers of one network; or one per replica (networks of different
        depth stacked with pass-through layers, see :mod:`n3fit_gpu.ensemble.layers`).
    fan_in, fan_out:
        The kernel's true shape, or one per replica. Replica ``r``'s block is drawn with its
        own shape (so its numbers and its glorot/he/lecun scale are those of an unpadded
        network of that width) and zero-padded to the largest shape.
    """
    replicas = len(seeds)
    names = [name] * replicas if isinstance(name, str) else list(name)
    fan_ins = np.broadcast_to(np.asarray(fan_in, dtype=int), (replicas,))
    fan_outs = np.broadcast_to(np.asarray(fan_out, dtype=int), (replicas,))
    if len(names) != replicas:
        raise ValueError(f"{len(names)} initializer names for {replicas} replicas")
    out = np.zeros((replicas, int(fan_ins.max()), int(fan_outs.max())))
    keys = np.broadcast_to(np.asarray(layer_key, dtype=int), (replicas,))
    for r, (n, s, k, i, o) in enumerate(zip(names, seeds, keys, fan_ins, fan_outs, strict=True)):
        rng = np.random.default_rng(np.random.SeedSequence([int(s), int(k)]))
        out[r, :i, :o] = _draw(n, rng, int(i), int(o))
    return out
