#!/usr/bin/env python
"""Benchmark the stacked-replica PDF fit: replica-epochs per second, in ONE run.

For each backend and each R it measures, each in a fresh subprocess (so peak memory is per
configuration):

- ``stacked``: R replicas in one model, weights ``(R, in, out)``, one batched einsum;
- ``sequential``: the same code fitting one replica at a time (its rate is the R=1 rate:
  R fits of one replica take R times as long);
- ``separate``: R separate per-replica networks in one model (NNPDF's current architecture),
  one matmul per replica (:class:`n3fit_gpu.ensemble.layers.UnrolledDense`);
- ``n3fit`` (with ``--n3fit-python``): NNPDF's own n3fit trained on the same problem, by
  ``scripts/n3fit_reference.py`` in the virtualenv whose Python is given (see its docstring
  for the two install commands), for R up to ``--n3fit-max``.

Timings exclude compilation: each configuration trains once to compile, then is timed on a
second run of ``--epochs`` epochs (stopping disabled). Each row also has the peak resident
memory of its process and, on a GPU, the device's peak memory. Prints a table and writes JSON.

The problem is a runcard's (``--runcard``, default the quickstart: 1,233 DIS points) or, with
``--problem nnpdf40``, one of NNPDF4.0's size: 4,672 points, 2,250 of them hadronic
(synthetic tables with a real table's sparsity; ``scripts/nnpdf40_problem.py``).

    python scripts/benchmark.py                              # R = 1, 10, 100, 1000
    python scripts/benchmark.py --problem nnpdf40 --epochs 30   # NNPDF4.0 size
    python scripts/benchmark.py --replicas 1 10 --epochs 200 --backends jax
    python scripts/benchmark.py --n3fit-python /tmp/n3fit-venv/bin/python   # + NNPDF's n3fit
    KERAS_BACKEND=jax python scripts/benchmark.py --backends jax   # on a GPU machine
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "runcards" / "quickstart.yml"
N3FIT_REFERENCE = Path(__file__).resolve().parent / "n3fit_reference.py"


def worker(args: argparse.Namespace) -> dict:
    """Train one configuration twice (compile, then timed) and return its figures."""
    from n3fit_gpu.ensemble.backend import select_backend

    select_backend(args.backend)
    import keras

    from n3fit_gpu.config import load_runcard
    from n3fit_gpu.ensemble.backend import set_precision
    from n3fit_gpu.ensemble.layers import StackedDense, UnrolledDense
    from n3fit_gpu.fit import make_trainer
    from n3fit_gpu.physics.fit_data import load_fit_data
    from n3fit_gpu.physics.theory_source import load_card_theory

    set_precision(False)
    if args.problem == "nnpdf40":
        from nnpdf40_problem import nnpdf40_problem

        card, theory, data = nnpdf40_problem(args.replicas)
    else:
        card = load_runcard(args.runcard)
        theory = load_card_theory(card, args.theory)
        data = load_fit_data(card, theory, list(range(1, args.replicas + 1)))
    params = card.parameters.model_copy(update={"epochs": args.epochs, "stopping_patience": 1.0})
    card = card.model_copy(update={"parameters": params})
    layer = UnrolledDense if args.mode == "separate" else StackedDense
    _, trainer = make_trainer(card, theory, data, layer_class=layer)
    start = time.perf_counter()
    trainer.train()
    compile_and_first = time.perf_counter() - start
    result = trainer.train()
    return {
        "backend": keras.backend.backend(),
        "device": _device(keras.backend.backend()),
        "problem": args.problem,
        "points": int(data.central.size),
        "mode": args.mode,
        "replicas": args.replicas,
        "epochs": args.epochs,
        "seconds": result.seconds,
        "first_run_seconds": compile_and_first,
        "replica_epochs_per_s": args.replicas * result.epochs_run / result.seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_device_mb": _device_peak_mb(keras.backend.backend()),
    }


def _device_peak_mb(backend: str) -> float | None:
    """Peak memory in use on the accelerator (first device), or None when running on the CPU."""
    if backend == "jax":
        import jax

        first = jax.devices()[0]
        stats = first.memory_stats() if first.platform != "cpu" else None
        return stats["peak_bytes_in_use"] / 2**20 if stats else None
    if backend == "tensorflow":
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            return None
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def _device(backend: str) -> str:
    """The device the configuration ran on, e.g. ``gpu: NVIDIA H100 80GB HBM3 x1`` or
    ``cpu: AMD EPYC x2`` (JAX: the devices the replicas were split across)."""
    if backend == "jax":
        import jax

        devices = jax.devices()
        kind = _cpu_name() if devices[0].platform == "cpu" else devices[0].device_kind
        return f"{devices[0].platform}: {kind} x{len(devices)}"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"gpu: {gpus[0].name}" if gpus else f"cpu: {_cpu_name()}"
    import torch

    return (
        f"gpu: {torch.cuda.get_device_name()}"
        if torch.cuda.is_available()
        else f"cpu: {_cpu_name()}"
    )


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def run_one(backend: str, mode: str, replicas: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--backend", backend, "--mode", mode]
    cmd += [
        "--replicas-one",
        str(replicas),
        "--epochs",
        str(args.epochs),
        "--runcard",
        str(args.runcard),
        "--problem",
        args.problem,
    ]
    if args.theory:
        cmd += ["--theory", str(args.theory)]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
        return {
            "backend": backend,
            "mode": mode,
            "replicas": replicas,
            "error": tail[0].removeprefix("error: "),
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_n3fit(replicas: int, args: argparse.Namespace) -> dict:
    """NNPDF's n3fit on the same problem: export it here, time it in the n3fit virtualenv."""
    row = {"backend": "tensorflow", "mode": "n3fit", "replicas": replicas}
    with tempfile.TemporaryDirectory() as tmp:
        problem = Path(tmp) / "problem.npz"
        steps = [
            [sys.executable, str(N3FIT_REFERENCE), "export", "--runcard", str(args.runcard)]
            + ["--problem", args.problem, "--replicas", str(replicas), "--out", str(problem)]
            # NNPDF4.0's deuteron uncertainties correlate NMC, SLAC and BCDMS
            + (["--grouping", "correlated"] if args.problem == "nnpdf40" else []),
            [str(args.n3fit_python), str(N3FIT_REFERENCE), "time", str(problem)]
            + ["--epochs", str(args.epochs), "--warmup", str(args.n3fit_warmup)],
        ]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
        for cmd in steps:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                tail = proc.stderr.strip().splitlines()[-1:] or ["?"]
                return {**row, "error": tail[0].removeprefix("error: ")}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--epochs", type=int, default=500, help="timed epochs per configuration")
    parser.add_argument("--backends", nargs="+", default=None, help="default: all installed")
    parser.add_argument("--separate-max", type=int, default=100, help="largest R for the baseline")
    parser.add_argument("--runcard", type=Path, default=QUICKSTART)
    parser.add_argument(
        "--problem",
        choices=("runcard", "nnpdf40"),
        default="runcard",
        help="runcard: the --runcard's fit (default quickstart, 1,233 DIS points); nnpdf40: "
        "NNPDF4.0 size, 4,672 points (2,422 real DIS, 2,250 synthetic hadronic with NNPDF-like "
        "sparsity; scripts/nnpdf40_problem.py)",
    )
    parser.add_argument("--theory", type=Path, help="theory folder instead of the runcard's id")
    parser.add_argument("--json", type=Path, default=Path("benchmark.json"))
    parser.add_argument(
        "--n3fit-python",
        type=Path,
        help="Python of a virtualenv with NNPDF's n3fit (pip install nnpdf lhapdf-management): "
        "also time n3fit on the same problem",
    )
    parser.add_argument("--n3fit-max", type=int, default=100, help="largest R for n3fit")
    parser.add_argument(
        "--n3fit-warmup", type=int, default=100, help="n3fit's untimed steps before the timed ones"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="stacked", help=argparse.SUPPRESS)
    parser.add_argument("--replicas-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.problem == "nnpdf40" and (args.theory or args.runcard != QUICKSTART):
        parser.error("--problem nnpdf40 builds its own data and theory; drop --runcard/--theory")
    if args.worker:
        args.replicas = args.replicas_one
        print(json.dumps(worker(args)))
        return
    backends = args.backends or [
        b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b) is not None
    ]
    rows = []
    for backend in backends:
        for r in args.replicas:
            modes = ["stacked"] + (["separate"] if 1 < r <= args.separate_max else [])
            for mode in modes:
                rows.append(run_one(backend, mode, r, args))
                print(_table([rows[-1]], []).splitlines()[1], flush=True)
    if args.n3fit_python:
        for r in (r for r in args.replicas if r <= args.n3fit_max):
            rows.append(run_n3fit(r, args))
            print(_table([rows[-1]], []).splitlines()[1], flush=True)
    report = {
        "rows": rows,
        "ratios": _ratios(rows),
        "host": platform.node(),
        "cpus": os.cpu_count(),
    }
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(_table(rows, report["ratios"]))
    print(f"\nJSON written to {args.json}")


def _ratios(rows: list[dict]) -> list[dict]:
    """Per backend and R: stacked/sequential (= stacked R / stacked R=1), stacked/separate
    and stacked/n3fit (n3fit at the same R, whatever backend ours ran on)."""
    ok = [r for r in rows if "error" not in r and r["replica_epochs_per_s"] > 0]
    rate = {(r["backend"], r["mode"], r["replicas"]): r["replica_epochs_per_s"] for r in ok}
    n3fit = {n: v for (_, mode, n), v in rate.items() if mode == "n3fit"}
    out = []
    for (backend, mode, n), value in rate.items():
        if mode != "stacked":
            continue
        entry = {"backend": backend, "replicas": n}
        if n > 1 and (backend, "stacked", 1) in rate:
            entry["stacked_over_sequential"] = value / rate[(backend, "stacked", 1)]
        if (backend, "separate", n) in rate:
            entry["stacked_over_separate"] = value / rate[(backend, "separate", n)]
        if n in n3fit:
            entry["stacked_over_n3fit"] = value / n3fit[n]
        if len(entry) > 2:
            out.append(entry)
    return out


def _table(rows: list[dict], ratios: list[dict]) -> str:
    gpu = any(r.get("peak_device_mb") is not None for r in rows)
    header = f"{'backend':<11}{'mode':<11}{'R':>6}{'rep-epochs/s':>15}{'peak MB':>10}"
    lines = [header + (f"{'device MB':>11}" if gpu else "") + "  device"]
    for r in rows:
        if "error" in r:
            lines.append(
                f"{r['backend']:<11}{r['mode']:<11}{r['replicas']:>6}  error: {r['error']}"
            )
            continue
        device_mb = r.get("peak_device_mb")
        on_device = "" if not gpu else f"{device_mb:>11,.0f}" if device_mb is not None else " " * 11
        lines.append(
            f"{r['backend']:<11}{r['mode']:<11}{r['replicas']:>6}{r['replica_epochs_per_s']:>15,.0f}"
            f"{r['peak_rss_mb']:>10,.0f}{on_device}  {r['device']}"
        )
    lines.append("")
    for q in ratios:
        parts = [f"{k}={v:.2f}" for k, v in q.items() if k.startswith("stacked_")]
        lines.append(f"{q['backend']:<11}R={q['replicas']:<6}" + "  ".join(parts))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
