"""The ``fit`` command."""

from __future__ import annotations

import json
from pathlib import Path

import click

from n3fit_gpu.cli.common import report_check, start_backend
from n3fit_gpu.cli.errors import one_line_errors
from n3fit_gpu.cli.options import FiniteFloatRange
from n3fit_gpu.errors import RunCardError
from n3fit_gpu.preflight import preflight


def _replica_range(text: str | None) -> list[int] | None:
    """``--replicas``: a count ``N`` (replicas 1..N) or a range ``A-B`` (1 <= A <= B)."""
    if text is None:
        return None
    bad = RunCardError(f"--replicas '{text}': give a count (10) or a range of replica numbers "
                       "from 1 (1-10, 11-20)")  # fmt: skip
    try:
        first, _, last = text.partition("-")
        first, last = (1, int(first)) if not last else (int(first), int(last))
    except ValueError:
        raise bad from None
    if not 1 <= first <= last:
        raise bad
    return list(range(first, last + 1))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("runcard", type=click.Path(path_type=Path))
@click.option("--replicas", "-r", help="How many replicas (e.g. 10) or which (e.g. 11-20).")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder for results; the fit goes to OUTPUT/<runcard name>/.",
)
@click.option("--backend", type=click.Choice(["tensorflow", "jax", "torch"]), help="Keras backend.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1),
              help="Override nnseed, mcseed and trvlseed at once.")  # fmt: skip
@click.option(
    "--theory",
    type=click.Path(path_type=Path),
    help="A theory folder (ours, or NNPDF's theory_N/) instead of the runcard's theoryid.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Skip replicas already written; fit the rest, from the checkpoint if there is one.",
)
@click.option(
    "--checkpoint-minutes",
    type=FiniteFloatRange(min=0.0, hint="minutes, e.g. --checkpoint-minutes 10; 0: never"),
    default=10.0,
    show_default=True,
    help="Save the training state this often, and on SIGTERM/SIGUSR1 (then stop); 0: never.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--check", is_flag=True,
              help="Only check the runcard, data, theory, PDFs and output folder (in about a "
              "second, no training) and list every problem.")  # fmt: skip
@click.option("--verbose", "-v", is_flag=True, help="Show the backend's start-up log lines.")
@one_line_errors
def main(runcard, replicas, output, backend, seed, theory, resume, checkpoint_minutes, quiet,
         check, verbose):  # fmt: skip
    """Fit an ensemble of PDF replicas, all stacked in ONE Keras model.

    RUNCARD is an NNPDF-style YAML file (see runcards/quickstart.yml). Each replica is
    trained on its own Monte Carlo copy of the data with its own training/validation split,
    exactly as if fitted alone, and stops on its own validation χ².

    The theory (order, scheme, Q0) is printed as the fit starts. Every fit uses the t0
    covariance (datacuts.t0pdfset; null: the theory's own t0 PDF). After training, replicas
    are selected as NNPDF's postfit does (convergence, integrability, 4σ χ² and arc-length
    outliers); the exit code is 2 when none is selected.

    \b
    Writes OUTPUT/<name>/:
      report.html                                       the fit at a glance (open it first)
      nnfit/replica_N/<name>.exportgrid, .json, .dat    per replica (NNPDF formats)
      nnfit/<name>.info, filter.yml                     for NNPDF's postfit and validphys
      summary.json                                      theory, χ² per dataset, postfit
      lhapdf/<name>/                                    LHAPDF6 set of the selected replicas
      plots/*.png                                       PDFs at Q0, χ² per dataset, training

    Checkpoints: while replicas train, their whole training state is saved to
    OUTPUT/<name>/checkpoint/ every --checkpoint-minutes, and at once on SIGTERM (preemption,
    scancel) or SIGUSR1 (SLURM's --signal=B:USR1@120 before the time limit): the fit then
    writes the replicas already finished and exits with code 75, "checkpoint saved at epoch N;
    rerun with --resume". --resume goes on from the checkpoint exactly as if never stopped
    (same weights on the same machine and backend) and refuses one written with other
    settings; the checkpoint is deleted once its replicas are written.

    \b
    Examples:
      fit runcards/quickstart.yml
      fit runcards/nnpdf40_dis.yml --replicas 100 --backend jax
      fit runcards/quickstart.yml --resume        # after an interruption or a signal
      fit my_runcard.yml --check                  # every problem at once, no training
    """
    replica_list = _replica_range(replicas)
    checked = preflight(runcard, output, theory)
    if check:
        report_check(checked, runcard)
    card = checked.raise_first("fit", runcard)
    if seed is not None:
        card = card.model_copy(update=dict(nnseed=seed, mcseed=seed, trvlseed=seed))
    start_backend(backend or card.backend, verbose)
    from n3fit_gpu.fit import run_fit  # imports keras: only after the backend is chosen

    folder = run_fit(
        card,
        runcard,
        output,
        replica_list,
        resume,
        not quiet,
        theory_path=theory,
        announce=click.echo,
        checkpoint_minutes=checkpoint_minutes,
    )
    summary = json.loads((folder / "summary.json").read_text())
    counts = summary["replicas"]
    vetoed = counts["written"] - counts["selected"]
    note = f", {vetoed} vetoed (reasons in summary.json)" if vetoed else ""
    click.echo(
        f"fit written to {folder}: postfit selected {counts['selected']} of {counts['written']} "
        f"replicas{note}; open {folder / 'report.html'}"
    )


if __name__ == "__main__":
    main()
