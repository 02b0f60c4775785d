"""Closure study: several level-1 closure fits of one truth, then their closure report.

    python scripts/closure_study.py --truth steep_sea --fits 4 --replicas 25 \\
        --work output/closure/steep_sea [--set parameters.epochs=4000 ...]
    python scripts/closure_study.py --runcard runcards/closure_dis_dy.yml --fits 8 \\
        --work output/closure/dis_dy --test "{dataset: HERA_NC_318GEV_EM-SIGMARED, variant: legacy}"

Fit k (1..--fits) is ``--runcard`` (default runcards/closure.yml: level 2, NNPDF's standard
closure test) with ``closuretest.fakepdf`` = --truth (a built-in truth: toy, steep_sea,
soft_gluon, or an LHAPDF set), its own level-1 noise (``filterseed`` = base + k) and its own
seeds (``nnseed``, ``mcseed``, ``trvlseed`` = base + k), plus any ``--set KEY=YAML`` edits
(e.g. ``--set "positivity.posdatasets=[]"``). Finished fits are kept (rerun to resume), then
``n3fit-gpu closure`` judges them: R_bv, ξ_1σ, x-space coverage and pulls per flavour
(``<work>/report/closure.json``, ``closure_pulls.png``). Each ``--test DATASET`` (a name or
``{dataset: NAME, variant: V}``, in the runcard's theory but not in its dataset_inputs) adds
R_bv and ξ_1σ on data the fits have not seen, as NNPDF evaluates them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--truth", default="steep_sea")
    parser.add_argument("--fits", type=int, default=4)
    parser.add_argument("--replicas", type=int, default=25)
    parser.add_argument("--runcard", type=Path, default=Path("runcards/closure.yml"))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=100, help="base of every fit's seeds")
    parser.add_argument("--set", dest="edits", action="append", default=[], metavar="KEY=YAML")
    parser.add_argument(
        "--test",
        action="append",
        default=[],
        metavar="DATASET",
        help="a dataset of the runcard's theory left out of the fits, as a name or "
        "'{dataset: NAME, variant: V}' (repeat for more): R_bv and ξ_1σ out of sample",
    )
    parser.add_argument("--backend", default=None)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, if not installed
    from n3fit_gpu.ensemble.backend import select_backend
    from n3fit_gpu.errors import N3fitError
    from n3fit_gpu.outputs.closure_report import parse_test_dataset

    try:
        test = [parse_test_dataset(text) for text in args.test]
    except N3fitError as exc:
        parser.error(str(exc))

    select_backend(args.backend)
    from n3fit_gpu.closure_study import run_closure_study
    from n3fit_gpu.outputs.closure_report import format_report

    report = run_closure_study(
        args.runcard, args.truth, args.fits, args.replicas, args.work, args.edits, args.seed, test
    )
    print(format_report(report))


if __name__ == "__main__":
    main()
