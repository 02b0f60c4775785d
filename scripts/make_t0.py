"""Make a theory's own t0 PDF by iterating fits until their predictions stop moving.

The t0 covariance takes multiplicative uncertainties relative to a PDF's predictions rather
than to the data (no d'Agostini bias), so it needs a PDF that already fits the data. NNPDF
takes it from a previous NNPDF set; offline there is none, so this script iterates::

    t0 = --start (default: the toy PDF)
    repeat: fit the runcard with t0pdfset = t0;  t0 = the fit's postfit-selected mean PDF
    until no prediction of the new t0 moved from the previous t0's by more than --tolerance
    times its Monte Carlo standard error (the replica spread over √replicas, of both means)

and stores the last t0 (x·f at Q0 on the theory's x grid) in the theory folder as ``t0.npz``
with a ``t0`` record in ``theory.json`` (how it was made, the convergence history, the median
prediction/data per dataset). Fits that leave ``datacuts.t0pdfset`` null then use it.

    python scripts/make_t0.py --theory n3fit_gpu/physics/theories/n3fit_gpu_dis_nlo \\
        --runcard runcards/quickstart.yml --replicas 20 --work output/t0

Each iteration is one ``fit`` (its folder under --work is kept for inspection).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import yaml


def predictions(observables, xf: np.ndarray) -> np.ndarray:
    """Predictions ``(..., ndata)`` of x·f ``(..., nbasis, nx)`` for every data point."""
    from n3fit_gpu.physics.fit_data import predict

    flat = xf.reshape(-1, *xf.shape[-2:])
    rows = [np.concatenate([predict(obs, one) for obs in observables]) for one in flat]
    return np.reshape(rows, (*xf.shape[:-2], -1))


def selected_xf(folder: Path) -> np.ndarray:
    """x·f at Q0 ``(R, nbasis, nx)`` of the replicas postfit selected in a finished fit."""
    summary = json.loads((folder / "summary.json").read_text())
    chosen = summary["postfit"]["selected"]
    return np.stack(
        [np.load(folder / "nnfit" / f"replica_{r}" / "pdf_q0.npz")["xf"] for r in chosen]
    )


def movement(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    """How far the mean prediction moved: the largest relative change, and the largest change
    in units of its Monte Carlo standard error (both ensembles ``(R, ndata)``)."""
    change = after.mean(axis=0) - before.mean(axis=0)
    error = np.sqrt(
        before.var(axis=0, ddof=1) / len(before) + after.var(axis=0, ddof=1) / len(after)
    )
    return float(np.max(np.abs(change / before.mean(axis=0)))), float(
        np.max(np.abs(change) / error)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--theory", type=Path, required=True, help="theory folder to add t0 to")
    parser.add_argument("--runcard", type=Path, default=Path("runcards/quickstart.yml"))
    parser.add_argument("--replicas", type=int, default=20)
    parser.add_argument("--start", default="toy", help="t0 of the first fit (default: toy)")
    parser.add_argument("--iterations", type=int, default=5, help="at most this many fits")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1.0,
        help="converged when every prediction moved by less than this many Monte Carlo "
        "standard errors (default 1)",
    )
    parser.add_argument("--work", type=Path, default=Path("output/t0"))
    parser.add_argument("--name", help="the t0 PDF's name (default: <theory name>_t0)")
    parser.add_argument("--backend", default=None)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, if not installed
    from n3fit_gpu.config import load_runcard
    from n3fit_gpu.ensemble.backend import select_backend

    select_backend(args.backend)
    from n3fit_gpu.fit import run_fit
    from n3fit_gpu.physics.fit_data import load_datasets
    from n3fit_gpu.physics.theory import load_theory, write_t0

    theory = load_theory(path=args.theory)
    card = load_runcard(args.runcard)
    _, observables = load_datasets(card, theory)
    t0_spec, history, previous = args.start, [], None
    for iteration in range(1, args.iterations + 1):
        cuts = card.datacuts.model_copy(update={"t0pdfset": t0_spec})
        fitted = card.model_copy(update={"datacuts": cuts})
        runcard = args.work / f"t0_iteration_{iteration}.yml"  # a record of what was fitted
        runcard.parent.mkdir(parents=True, exist_ok=True)
        runcard.write_text(yaml.safe_dump(fitted.model_dump(mode="json"), sort_keys=False))
        folder = run_fit(
            fitted,
            runcard,
            args.work,
            list(range(1, args.replicas + 1)),
            theory_path=args.theory,
            announce=lambda line: print(line, file=sys.stderr),
        )
        replicas = selected_xf(folder)
        current = predictions(observables, replicas)
        summary = json.loads((folder / "summary.json").read_text())
        ratios = {k: v["pred_over_data"] for k, v in summary["chi2_per_dataset"].items()}
        record = {"t0": t0_spec, "replicas": len(replicas), "pred_over_data": ratios}
        if previous is not None:
            relative, standard = movement(previous, current)
            record.update(max_relative_change=relative, max_change_in_mc_errors=standard)
            print(
                f"iteration {iteration}: predictions moved by at most {relative:.2e} "
                f"({standard:.2f} Monte Carlo standard errors)"
            )
        history.append(record)
        for name, ratio in ratios.items():
            print(f"    {name:34s} median pred/data {ratio:.4f}")
        t0_spec, previous = str(folder / "lhapdf" / folder.name), current
        if len(history) > 1 and history[-1]["max_change_in_mc_errors"] < args.tolerance:
            break
    else:
        print(
            f"warning: not converged to {args.tolerance} in {args.iterations} fits", file=sys.stderr
        )
    record = {
        "name": args.name or f"{theory.name}_t0",
        "made_by": "python " + shlex.join(["scripts/make_t0.py", *(argv or sys.argv[1:])]),
        "runcard": str(args.runcard),
        "replicas": args.replicas,
        "date": datetime.date.today().isoformat(),
        "iterations": history,
    }
    write_t0(args.theory, replicas.mean(axis=0), record)
    print(f"t0 PDF '{record['name']}' written to {args.theory}")


if __name__ == "__main__":
    main()
