#!/usr/bin/env python
"""Benchmark whole scans: trials per hour with stacked trials, replica-epochs saved by early
termination. Each scan runs ``hyperscan`` in a fresh process on a copy of the shipped scan
runcard (real data, real theory; compilation, data loading and the trial log included).

(a) stacked trials: the same ``--trials`` trials (same seed) with ``--trials-per-model`` 1
    and each K of ``--per-model``; trials/hour, and the largest difference between the two
    scans' trial losses (the trials are the same ones: they should agree to float round-off).
(b) early termination: the same scan without and with ``early_termination`` (``--rung``,
    ``--eta``, ``--bootstrap``), both at the largest K: best loss and total replica-epochs.

With ``--trials`` at most 20 (hyperopt's random start-up) both scans of a pair run exactly
the same points, so the comparison is of the scheduling alone.

    python scripts/benchmark_trials.py --json trials_bench.json
    python scripts/benchmark_trials.py --trials 8 --replicas 4 --max-epochs 300 --parts a
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SCAN = Path(__file__).resolve().parents[1] / "runcards" / "hyperscan.yml"
MAIN = "from n3fit_gpu.cli.hyperscan import main; main(prog_name='hyperscan')"


def scan_card(args: argparse.Namespace, folder: Path, rung: bool) -> Path:
    """The shipped scan runcard with this benchmark's size (and early termination)."""
    card = yaml.safe_load(SCAN.read_text())
    card["replicas"] = args.replicas
    card["hyperscan_config"]["stopping"].update(
        {"min_epochs": args.min_epochs, "max_epochs": args.max_epochs}
    )
    if rung:
        card["hyperscan_config"]["early_termination"] = {
            "min_epochs": args.rung, "eta": args.eta, "bootstrap": args.bootstrap
        }  # fmt: skip
    path = folder / ("scan_rungs.yml" if rung else "scan.yml")
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path


def run_scan(card: Path, output: Path, args: argparse.Namespace, per_model: int) -> dict:
    """One scan in a fresh process; its wall time and trial log."""
    command = [sys.executable, "-c", MAIN, str(card), "--trials", str(args.trials)]
    command += ["--seed", str(args.seed), "-o", str(output), "-k", str(per_model), "--quiet"]
    if args.backend:
        command += ["--backend", args.backend]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    log = output / card.stem / "tries.jsonl"
    docs = sorted(
        (json.loads(line) for line in log.read_text().splitlines()), key=lambda d: d["tid"]
    )
    losses = [d["result"]["loss"] for d in docs]
    stopped = [
        (d["result"].get("early_termination") or {}).get("stopped_at_epoch") is not None
        for d in docs
    ]
    finite = [x for x in losses if x is not None]
    return {
        "trials_per_model": per_model,
        "seconds": seconds,
        "trials_per_hour": 3600 * len(docs) / seconds,
        "replica_epochs": sum(d["result"]["replica_epochs"] for d in docs),
        "best_loss": min(finite) if finite else None,
        "losses": losses,
        "stopped_by_rungs": sum(stopped),
    }


def _max_relative_difference(a: list, b: list) -> float | None:
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    if not pairs:
        return None
    return max(abs(x - y) / max(abs(x), abs(y), 1e-300) for x, y in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", default="ab", help="a: stacked trials, b: early termination")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--per-model", type=int, nargs="+", default=[8])
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--min-epochs", type=int, default=300, help="scanned epochs: smallest")
    parser.add_argument("--max-epochs", type=int, default=1000, help="scanned epochs: largest")
    parser.add_argument("--rung", type=int, default=100, help="first rung (epochs)")
    parser.add_argument("--eta", type=float, default=3.0)
    parser.add_argument("--bootstrap", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", help="Keras backend of the scans (default: the runcard's)")
    parser.add_argument("--json", type=Path, default=Path("trials_bench.json"))
    args = parser.parse_args()
    settings = {**vars(args), "json": str(args.json)}
    report: dict = {"machine": platform.node(), "cpus": os.cpu_count(), "args": settings}
    k = max(args.per_model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        card = scan_card(args, folder, rung=False)
        if "a" in args.parts:
            one = run_scan(card, folder / "k1", args, 1)
            rows = [one] + [run_scan(card, folder / f"k{n}", args, n) for n in args.per_model]
            for row in rows[1:]:
                row["speedup"] = row["trials_per_hour"] / one["trials_per_hour"]
                row["max_relative_loss_difference"] = _max_relative_difference(
                    one["losses"], row["losses"]
                )
            report["stacked"] = rows
            print(f"{'K':>3} {'seconds':>9} {'trials/h':>9} {'speedup':>8} {'max dloss':>10}")
            for row in rows:
                print(f"{row['trials_per_model']:>3} {row['seconds']:>9.1f} "
                      f"{row['trials_per_hour']:>9.1f} {row.get('speedup', 1.0):>8.2f} "
                      f"{row.get('max_relative_loss_difference') or 0:>10.2e}")  # fmt: skip
        if "b" in args.parts:
            full = next((r for r in report.get("stacked", []) if r["trials_per_model"] == k), None)
            full = full or run_scan(card, folder / "full", args, k)
            halved = run_scan(scan_card(args, folder, rung=True), folder / "rungs", args, k)
            halved["replica_epoch_fraction"] = halved["replica_epochs"] / full["replica_epochs"]
            report["early_termination"] = {"full": full, "rungs": halved}
            print(
                f"full scan: best loss {full['best_loss']:.4g}, "
                f"{full['replica_epochs']:,} replica-epochs, {full['seconds']:.0f} s"
            )
            print(f"rungs:     best loss {halved['best_loss']:.4g}, "
                  f"{halved['replica_epochs']:,} replica-epochs "
                  f"({100 * halved['replica_epoch_fraction']:.0f}%), {halved['seconds']:.0f} s, "
                  f"{halved['stopped_by_rungs']} of {args.trials} stopped at a rung")  # fmt: skip
    args.json.write_text(json.dumps(report, indent=1))
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
