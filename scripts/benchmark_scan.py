#!/usr/bin/env python
"""Benchmark the scan's shared trial store: worker utilization, cost per suggestion, scale-out.

Three parts, each printed as a table and written together as JSON (``--json PATH``):

(a) utilization: ``--workers`` (64) worker processes (forked after the imports, so they
    start at once) run ``n3fit_gpu.search.worker.run_worker`` on one scan folder with a toy
    objective that sleeps 1-2 s. Utilization = time in the objective / (workers x wall),
    wall from the common start to the end of the last trial. Run with random suggestions
    (``--samplers random``: what the store and the claims cost) and with TPE (``tpe``: adds
    hyperopt's CPU time, which on a small machine 64 processes share).
(b) cost per suggestion at ``--store-sizes`` (100, 1,000, 10,000) trials already in the
    store: one worker's read of the new records (another worker appends one per cycle),
    claim (``--other-claims`` live claims of other workers to skip), ``append_new`` and
    release, averaged over ``--cycles``; beside it hyperopt's TPE suggestion on that history
    and the conversion of the whole log into ``hyperopt.Trials`` (which workers avoid).
(c) a discrete-event simulation of ``--sim-workers`` (2,000) workers: trial durations drawn
    from a log-normal (mean ``--sim-mean-seconds``), every store operation REAL on a temp
    folder, performed at the worker's simulated time, each worker with its own reader and
    claims. The log's lock is modelled as one server (an append waits while another holds
    it, for the real time the append took). Reports store time per trial against the mean
    trial, the lock's busy fraction and the implied utilization.

    python scripts/benchmark_scan.py --json scan_bench.json          # everything (~10 min)
    python scripts/benchmark_scan.py --parts b --store-sizes 100 1000 10000
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import multiprocessing
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # forked workers: no BLAS thread pools

import numpy as np  # noqa: E402

from n3fit_gpu.search.claims import Claims  # noqa: E402
from n3fit_gpu.search.driver import Sampler  # noqa: E402
from n3fit_gpu.search.kfold import FoldResult, KFoldSettings, run_folds  # noqa: E402
from n3fit_gpu.search.space import Choice, LogUniform, Uniform, to_hyperopt  # noqa: E402
from n3fit_gpu.search.store import TrialLog, to_hyperopt_trials, trial_document  # noqa: E402
from n3fit_gpu.search.worker import WorkerSettings, run_worker  # noqa: E402

SPACE = {
    "learning_rate": LogUniform(1e-4, 1e-1),
    "clipnorm": LogUniform(1e-3, 10.0),
    "units": Uniform(5.0, 50.0),
    "activation": Choice(("tanh", "sigmoid")),
}
NO_TPE = 10**9  # n_startup_jobs above the budget: hyperopt draws every point at random


def _result(loss: float, replicas: int = 10) -> dict:
    """A k-fold result record shaped like a real trial's (2 folds x ``replicas``; ~2 KB)."""
    chi2 = loss + 0.01 * np.arange(replicas)
    fold = FoldResult(chi2, phi2=0.1, penalties={"saturation": chi2 * 0}, replica_epochs=10**4)
    return run_folds(lambda k: fold, 2, KFoldSettings(threshold=1e9)).to_result_dict()


def _doc(tid: int, rng: random.Random, owner: str = "bench") -> dict:
    lr, clip = 10 ** rng.uniform(-4, -1), 10 ** rng.uniform(-3, 1)
    units, act = rng.uniform(5, 50), rng.randrange(2)
    vals = {"learning_rate": [lr], "clipnorm": [clip], "units": [units], "activation": [act]}
    point = {"learning_rate": lr, "clipnorm": clip, "units": units, "activation": "ts"[act]}
    now = datetime.now(UTC)
    loss = (math.log10(lr) + 2.5) ** 2 + units / 50
    return trial_document(tid, vals, point, _result(loss), now, now, owner)


# ---------------------------------------------------------------- (a) utilization


def _utilization_worker(index: int, args: argparse.Namespace, folder: Path, go: float,
                        n_startup: int, out: Path) -> None:  # fmt: skip
    rng, busy = random.Random(index), []

    def objective(point: dict):
        start = time.time()
        time.sleep(rng.uniform(*args.trial_seconds))
        busy.append((start, time.time()))
        fold = FoldResult(np.array([point["units"]]), phi2=0.1, penalties={}, replica_epochs=1)
        return run_folds(lambda k: fold, 1, KFoldSettings(threshold=1e9))

    time.sleep(max(go - time.time(), 0.0))
    settings = WorkerSettings(f"bench-{index}", lease=120.0)
    budget = args.workers * args.trials_per_worker
    cpu = sum(os.times()[:2])
    run_worker(SPACE, objective, TrialLog(folder / "tries.jsonl"), folder / "claims", budget,
               0, settings, n_startup_jobs=n_startup)  # fmt: skip
    out.write_text(json.dumps({"busy": busy, "cpu_s": sum(os.times()[:2]) - cpu}))


def utilization(args: argparse.Namespace, sampler: str) -> dict:
    """Part (a) with one sampler: ``random`` or ``tpe``."""
    context, load = multiprocessing.get_context("fork"), os.getloadavg()[0]
    n_startup = NO_TPE if sampler == "random" else 20
    with tempfile.TemporaryDirectory() as tmp:
        folder, go = Path(tmp), time.time() + 1.0 + 0.02 * args.workers
        outs = [folder / f"busy-{i}.json" for i in range(args.workers)]
        procs = [
            context.Process(target=_utilization_worker, args=(i, args, folder, go, n_startup, out))
            for i, out in enumerate(outs)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        if any(proc.exitcode != 0 for proc in procs):
            raise RuntimeError("a benchmark worker failed")
        results = [json.loads(out.read_text()) for out in outs]
        docs = TrialLog(folder / "tries.jsonl").read()
    busy = [interval for result in results for interval in result["busy"]]
    wall = max(end for _, end in busy) - go
    busy_s = sum(end - start for start, end in busy)
    return {
        "sampler": sampler,
        "workers": args.workers,
        "trials": len(docs),
        "trial_seconds": list(args.trial_seconds),
        "wall_s": wall,
        "busy_s": busy_s,
        "utilization": busy_s / (args.workers * wall),
        "overhead_per_trial_s": (args.workers * wall - busy_s) / len(busy),
        "worker_cpu_ms_per_trial": 1e3 * sum(r["cpu_s"] for r in results) / len(busy),
        "cpus": os.cpu_count(),
        "load_average_before": load,
        "duplicates": len(busy) - len(docs),
    }


# ---------------------------------------------------------------- (b) cost per suggestion


def _timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def _fill(path: Path, size: int, rng: random.Random) -> None:
    with open(path, "w") as handle:
        handle.writelines(json.dumps(_doc(tid, rng)) + "\n" for tid in range(size))


def _unfinished(log: TrialLog, low: int, budget: int):
    return (tid for tid in range(low, budget) if tid not in log.finished)


def store_overhead(args: argparse.Namespace, size: int) -> dict:
    """Part (b) at ``size`` trials in the store."""
    rng, times = random.Random(size), {"read": [], "claim": [], "append": [], "release": []}
    budget = size + args.other_claims + 2 * args.cycles + 1
    with tempfile.TemporaryDirectory() as tmp:
        path, claims_folder = Path(tmp) / "tries.jsonl", Path(tmp) / "claims"
        _fill(path, size, rng)
        other, other_claims = TrialLog(path), Claims(claims_folder, "others", lease=3600)
        for _ in range(args.other_claims):
            other_claims.claim_next(_unfinished(other, size, budget))
        mine, claims = TrialLog(path), Claims(claims_folder, "me", lease=3600)
        docs, cold = _timed(mine.read)
        for _ in range(args.cycles):
            done = min(other_claims.held)  # another worker finishes a trial, claims the next
            other.append_new(_doc(done, rng, "others"))
            other_claims.release(done)
            other_claims.claim_next(_unfinished(other, size, budget))
            _, took = _timed(mine.records)
            times["read"].append(took)
            tid, took = _timed(claims.claim_next, _unfinished(mine, size, budget))
            times["claim"].append(took)
            times["append"].append(_timed(mine.append_new, _doc(tid, rng, "me"))[1])
            times["release"].append(_timed(claims.release, tid)[1])
        trials, convert = _timed(to_hyperopt_trials, docs)
        sampler = Sampler(to_hyperopt(SPACE))
        tpe = [_timed(sampler.suggest, trials, size + i, 0)[1] for i in range(args.tpe_repeats)]
    row = {f"{k}_ms": 1e3 * statistics.mean(v) for k, v in times.items()}
    row["store_ms"] = sum(row.values())
    return {
        "trials_in_store": size,
        **row,
        "store_ms_p90": 1e3 * _p(np.sum(list(times.values()), axis=0), 90),
        "cold_read_ms": 1e3 * cold,
        "tpe_suggest_ms": 1e3 * statistics.median(tpe),
        "to_hyperopt_trials_ms": 1e3 * convert,
    }


def _p(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


# ---------------------------------------------------------------- (c) 2,000-worker simulation


class _TidsOnly(TrialLog):
    """A reader that keeps only the trial ids it parsed. A real worker keeps the documents
    for TPE; 2,000 simulated readers in one process cannot. The parsing is the same."""

    def _keep(self, doc: dict) -> None:
        self._tids.add(doc["tid"])


class _Simulation:
    """Simulated workers performing real store operations at their simulated times."""

    def __init__(self, args: argparse.Namespace, folder: Path):
        self.workers, self.budget = args.sim_workers, args.sim_workers * args.sim_trials_per_worker
        self.mu = math.log(args.sim_mean_seconds) - args.sim_sigma**2 / 2
        self.sigma, self.rng = args.sim_sigma, random.Random(1)
        self.readers = [_TidsOnly(folder / "tries.jsonl") for _ in range(self.workers)]
        self.claims = [
            Claims(folder / "claims", f"sim-{w}", lease=1e9) for w in range(self.workers)
        ]
        self.lows = [0] * self.workers
        self.lock_free, self.lock_busy, self.makespan, self.busy = 0.0, 0.0, 0.0, 0.0
        self.parts = {"read": [], "claim": [], "append": [], "lock_wait": []}
        self.store, self.pending = [], {}

    def claim(self, now: float, w: int) -> tuple[float, int, str, int] | None:
        reader = self.readers[w]
        _, read = _timed(reader.records)
        while self.lows[w] in reader.finished:
            self.lows[w] += 1
        candidates = _unfinished(reader, self.lows[w], self.budget)
        tid, claim = _timed(self.claims[w].claim_next, candidates)
        if tid is None:
            return None  # every trial left is claimed: this worker is done
        duration = self.rng.lognormvariate(self.mu, self.sigma)
        self.busy += duration
        self.pending[w] = (read, claim)
        return (now + read + claim + duration, w, "finish", tid)

    def finish(self, now: float, w: int, tid: int) -> tuple[float, int, str, int]:
        """Catch up on the log (unlocked, as ``append_new`` does first), then append.

        The lock is taken to be held for the whole ``append_new`` after that (an upper bound:
        it includes opening the file and the fsync, which runs after unlocking).
        """
        doc = _doc(tid, self.rng, f"sim-{w}")
        _, catch_up = _timed(self.readers[w].records)
        start = max(now + catch_up, self.lock_free)  # the log's lock as one server
        _, hold = _timed(self.readers[w].append_new, doc)
        _, release = _timed(self.claims[w].release, tid)
        self.lock_free, self.lock_busy = start + hold, self.lock_busy + hold
        read, claim = self.pending.pop(w)
        wait = start - now - catch_up
        for part, took in zip(self.parts, (read + catch_up, claim, hold + release, wait)):
            self.parts[part].append(took)
        self.store.append(read + catch_up + claim + hold + release + wait)
        self.makespan = max(self.makespan, start + hold + release)
        return (start + hold + release, w, "claim", -1)

    def run(self) -> None:
        events = [(0.0, w, "claim", -1) for w in range(self.workers)]
        heapq.heapify(events)
        while events:
            now, w, kind, tid = heapq.heappop(events)
            nxt = self.claim(now, w) if kind == "claim" else self.finish(now, w, tid)
            if nxt is not None:
                heapq.heappush(events, nxt)


def simulate(args: argparse.Namespace) -> dict:
    """Part (c)."""
    with tempfile.TemporaryDirectory() as tmp:
        sim, start = _Simulation(args, Path(tmp)), time.perf_counter()
        sim.run()
        finished = len(TrialLog(Path(tmp) / "tries.jsonl").read())
    store, trials = sum(sim.store), len(sim.store)
    return {
        "workers": sim.workers,
        "trials": trials,
        "finished_in_log": finished,
        "mean_trial_s": sim.busy / trials,
        "store_ms_per_trial": 1e3 * store / trials,
        "store_ms_per_trial_p99": 1e3 * _p(sim.store, 99),
        **{f"{k}_ms_mean": 1e3 * statistics.mean(v) for k, v in sim.parts.items()},
        "lock_wait_ms_max": 1e3 * max(sim.parts["lock_wait"]),
        "lock_busy_fraction": sim.lock_busy / sim.makespan,
        "implied_utilization": sim.busy / (sim.busy + store),
        "utilization_with_tail": sim.busy / (sim.workers * sim.makespan),
        "simulated_makespan_s": sim.makespan,
        "real_seconds": time.perf_counter() - start,
    }


# ---------------------------------------------------------------- main


def _print_table(title: str, rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    print(f"\n{title}")
    print("  ".join(f"{header:>{len(header) + 2}}" for header, _, _ in columns))
    for row in rows:
        cells = [f"{row[key]:{fmt}}" for _, key, fmt in columns]
        print("  ".join(f"{c:>{len(h) + 2}}" for c, (h, _, _) in zip(cells, columns)))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--parts", nargs="+", choices=["a", "b", "c"], default=["a", "b", "c"])
    add("--workers", type=int, default=64, help="(a) worker processes")
    add("--trials-per-worker", type=int, default=30, help="(a) budget = workers x this")
    add("--trial-seconds", type=float, nargs=2, default=(1.0, 2.0), help="(a) uniform range")
    add("--samplers", nargs="+", choices=["random", "tpe"], default=["random", "tpe"])
    add("--store-sizes", type=int, nargs="+", default=[100, 1000, 10000])
    add("--cycles", type=int, default=50, help="(b) suggestions timed per size")
    add("--other-claims", type=int, default=64, help="(b) live claims of other workers")
    add("--tpe-repeats", type=int, default=3)
    add("--sim-workers", type=int, default=2000)
    add("--sim-trials-per-worker", type=int, default=3)
    add("--sim-mean-seconds", type=float, default=600.0, help="(c) mean trial duration")
    add("--sim-sigma", type=float, default=0.5, help="(c) log-normal sigma of durations")
    add("--json", type=Path, help="write the results here")
    return parser


UTILIZATION_COLUMNS = [
    ("sampler", "sampler", ""),
    ("workers", "workers", "d"),
    ("trials", "trials", "d"),
    ("wall s", "wall_s", ".1f"),
    ("utilization", "utilization", ".1%"),
    ("overhead/trial s", "overhead_per_trial_s", ".3f"),
    ("CPU/trial ms", "worker_cpu_ms_per_trial", ".1f"),
    ("load before", "load_average_before", ".1f"),
    ("duplicates", "duplicates", "d"),
]
STORE_COLUMNS = [
    ("in store", "trials_in_store", "d"),
    ("read", "read_ms", ".3f"),
    ("claim", "claim_ms", ".3f"),
    ("append", "append_ms", ".3f"),
    ("release", "release_ms", ".3f"),
    ("store", "store_ms", ".3f"),
    ("store p90", "store_ms_p90", ".3f"),
    ("cold read", "cold_read_ms", ".1f"),
    ("TPE suggest", "tpe_suggest_ms", ".1f"),
    ("log->Trials", "to_hyperopt_trials_ms", ".1f"),
]
SIMULATION_COLUMNS = [
    ("workers", "workers", "d"),
    ("trials", "trials", "d"),
    ("mean trial s", "mean_trial_s", ".0f"),
    ("store ms/trial", "store_ms_per_trial", ".2f"),
    ("p99", "store_ms_per_trial_p99", ".2f"),
    ("read", "read_ms_mean", ".2f"),
    ("claim", "claim_ms_mean", ".2f"),
    ("append", "append_ms_mean", ".2f"),
    ("lock wait max ms", "lock_wait_ms_max", ".2f"),
    ("lock busy", "lock_busy_fraction", ".3%"),
    ("implied util.", "implied_utilization", ".4%"),
    ("with tail", "utilization_with_tail", ".1%"),
]


def main() -> None:
    args = _parser().parse_args()
    machine = {"cpus": os.cpu_count(), "platform": platform.platform()}
    report: dict = {"machine": {**machine, "python": platform.python_version()}}
    if "a" in args.parts:
        rows = report["utilization"] = [utilization(args, name) for name in args.samplers]
        _print_table("(a) utilization = busy worker time / (workers x wall)", rows,
                     UTILIZATION_COLUMNS)  # fmt: skip
    if "b" in args.parts:
        rows = report["store_overhead"] = [store_overhead(args, n) for n in args.store_sizes]
        totals = [row["store_ms"] for row in rows]
        report["store_flatness"] = max(totals) / min(totals)
        _print_table("(b) per suggestion, ms (store = read new + claim + append_new + release)",
                     rows, STORE_COLUMNS)  # fmt: skip
        print(f"store cost, largest / smallest: {report['store_flatness']:.2f}x")
    if "c" in args.parts:
        report["simulation"] = simulate(args)
        _print_table("(c) simulated workers, real store operations", [report["simulation"]],
                     SIMULATION_COLUMNS)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
