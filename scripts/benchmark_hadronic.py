"""Time one NNPDF4.0-sized hadronic FK table three ways, forward + backward, on JAX.

A synthetic table (the sizes of a large LHC dataset: ``--points`` bins, every one of the 45
symmetrised flavour pairs, nx = 50 with a ``--box``-node x range used) is contracted with
``R`` replicas' x f by (1) :func:`~n3fit_gpu.physics.channel_convolution.predict` (luminosity
+ one GEMM), (2) one einsum per channel, (3) the dense ``(n, 9, nx, 9, nx)`` einsum. Prints the
median milliseconds of a jitted value-and-gradient and the table's memory per layout::

    KERAS_BACKEND=jax python scripts/benchmark_hadronic.py --replicas 100
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from n3fit_gpu.physics.channel_convolution import ChannelPlan, predict  # noqa: E402
from n3fit_gpu.physics.pineappl_fk import FKTable  # noqa: E402


def synthetic_table(points: int, box: int, nx: int = 50, seed: int = 0) -> FKTable:
    pairs = np.array([(a, b) for a in range(9) for b in range(a, 9)])
    table = np.zeros((points, len(pairs), nx, nx), np.float32)
    rng = np.random.default_rng(seed)
    table[:, :, nx - box :, nx - box :] = rng.normal(size=(points, len(pairs), box, box))
    return FKTable("SYNTH", np.geomspace(1e-7, 0.9, nx), pairs, table, 1.65)


def timed(fn, *args, repeat: int = 20) -> float:
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=100)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--box", type=int, default=35)
    args = parser.parse_args()
    fk = synthetic_table(args.points, args.box)
    plan = ChannelPlan.from_table(fk)
    xf = jnp.asarray(np.random.default_rng(1).normal(size=(args.replicas, 50, 9)), jnp.float32)
    matrix = jnp.asarray(plan.matrix)
    blocks = jnp.asarray(fk.table[:, :, plan.lo :, plan.lo :])
    dense = jnp.asarray(fk.dense().astype(np.float32))

    def sparse(x):
        return predict(plan, x, ops, matrix)

    def per_channel(x):
        box = x[:, plan.lo :]
        return sum(
            jnp.einsum("nij,ri,rj->rn", blocks[:, c], box[:, :, a], box[:, :, b])
            for c, (a, b) in enumerate(fk.channels)
        )

    def full(x):
        return jnp.einsum("naibj,ria,rjb->rn", dense, x, x)

    print(f"R={args.replicas} n={args.points} box={args.box} ({jax.devices()[0].platform})")
    for name, fn, table in (
        ("luminosity + GEMM", sparse, matrix),
        ("einsum per channel", per_channel, blocks),
        ("dense einsum", full, dense),
    ):
        step = jax.jit(jax.value_and_grad(lambda x, fn=fn: jnp.sum(fn(x) ** 2)))
        print(f"{name:20s} {timed(step, xf):8.2f} ms   table {table.nbytes / 2**20:7.1f} MiB")


if __name__ == "__main__":
    main()
