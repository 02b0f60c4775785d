"""The ``n3fit-gpu closure`` command."""

from __future__ import annotations

from pathlib import Path

import click

from n3fit_gpu.cli.errors import one_line_errors
from n3fit_gpu.cli.options import FiniteFloatRange, OptionValueError

_XMIN = FiniteFloatRange(0.0, 1.0, min_open=True, hint="a momentum fraction, e.g. --xmin 1e-3")
_XMAX = FiniteFloatRange(0.0, 1.0, min_open=True, hint="a momentum fraction, e.g. --xmax 0.7")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("fits", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Folder for closure.json and closure_pulls.png (default: the first fit's folder).",
)
@click.option("--xmin", type=_XMIN, default=1e-3, show_default=True, help="x-space region start.")
@click.option("--xmax", type=_XMAX, default=0.7, show_default=True, help="x-space region end.")
@click.option("--theory", type=click.Path(path_type=Path), help="Theory folder of the fits.")
@click.option(
    "--test",
    "tests",
    multiple=True,
    metavar="DATASET",
    help=(
        "A dataset of the fits' theory left out of every fit, as a name or "
        "'{dataset: NAME, variant: V}'; repeat for more. Adds R_bv and ξ_1σ out of sample."
    ),
)
@one_line_errors
def main(fits, output, xmin, xmax, theory, tests):
    """Judge closure fits against their truth: is the uncertainty faithful?

    FITS are folders written by `fit` from runcards with closuretest.fakedata (e.g.
    runcards/closure.yml), each fitted to its own level-1 data (another
    closuretest.filterseed) of the same truth (closuretest.fakepdf: toy, or any LHAPDF set, so
    you can bring your own). Several fits are needed for a meaningful R_bv.

    \b
    Data space: R_bv = sqrt(bias / variance) (faithful: 1, below 1: conservative) and
      ξ_1σ, how often the truth is within 1σ of the replica mean along the covariance's
      eigenvectors (faithful: 0.68). On the fitted data, and with --test on data the fits
      left out (NNPDF's closure tests judge the uncertainty there: a per-replica
      training/validation split widens the spread on the fitted data).
    X space (PDFs at Q0, XMIN ≤ x ≤ XMAX): per flavour, the fraction of points where the truth
      is inside the replicas' 68% band (faithful: 0.68) and the mean pull (mean − truth)/σ
      (a coherent pull, the same sign in every fit, is a bias of the method).

    \b
    Example:
      for s in 1 2 3 4; do fit runcards/closure.yml --seed $s -o out$s; done
      n3fit-gpu closure out*/closure -o closure_report
    """
    if xmin >= xmax:
        raise OptionValueError(
            f"got {xmin:g}, not below --xmax {xmax:g}; give --xmin < --xmax", param_hint="--xmin"
        )
    from n3fit_gpu.outputs.closure_report import (
        closure_report,
        format_report,
        load_closure_fit,
        parse_test_dataset,
    )

    test = [parse_test_dataset(text) for text in tests]
    loaded = [load_closure_fit(folder, theory, test) for folder in fits]
    report = closure_report(loaded, output or Path(fits[0]), (xmin, xmax))
    click.echo(format_report(report))
