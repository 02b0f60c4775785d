"""The ``hyperscan`` command group: ``hyperscan RUNCARD`` runs a scan, ``hyperscan report DIR``
summarises one."""

from __future__ import annotations

import os
from pathlib import Path

import click

from n3fit_gpu.cli.errors import one_line_errors
from n3fit_gpu.config import load_runcard

_CONTEXT = {"help_option_names": ["-h", "--help"]}


class _RunByDefault(click.Group):
    """A group whose first argument, when it is no subcommand, is a runcard for ``run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_RunByDefault, context_settings=_CONTEXT)
def main() -> None:
    """Scan hyperparameters on ensemble statistics (hyperopt TPE, k-fold).

    \b
      hyperscan RUNCARD [OPTIONS]    run or resume a scan (same as `hyperscan run`)
      hyperscan report DIR           best trials, plots, best_runcard.yml

    Each trial fits the runcard's whole replica ensemble, stacked in one model, once per
    k-fold partition (kfold.partitions: the datasets left out and scored), and is scored by
    ensemble statistics (kfold.loss_type chi2 or phi2, replica_statistic, fold_statistic).
    """


@main.command("run", context_settings=_CONTEXT)
@click.argument("runcard", type=click.Path(path_type=Path))
@click.option("--trials", "-n", type=click.IntRange(min=1), default=20, show_default=True,
              help="Total trials of the scan (finished ones count: rerun to resume).")  # fmt: skip
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("output"),
              show_default=True, help="The scan goes to OUTPUT/<runcard name>/.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True,
              help="TPE seed: the same seed suggests the same trials.")  # fmt: skip
@click.option("--backend", type=click.Choice(["tensorflow", "jax", "torch"]), help="Keras backend.")
@click.option("--theory", type=click.Path(path_type=Path),
              help="A theory folder from scripts/build_theory.py instead of theoryid.")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@one_line_errors
def run(runcard, trials, output, seed, backend, theory, quiet):
    """Run (or resume) the scan of RUNCARD: its hyperscan_config and kfold blocks.

    Every finished trial is appended at once to OUTPUT/<name>/tries.jsonl (one hyperopt
    trial document per line; `pandas.read_json(path, lines=True)` reads it). Interrupt
    at any time and run the same command again: finished trials are kept and not rerun.

    \b
    Examples:
      hyperscan runcards/hyperscan.yml --trials 30
      hyperscan runcards/hyperscan.yml --trials 60     # 30 more, same scan
      hyperscan report output/hyperscan
    """
    card = load_runcard(runcard)
    from n3fit_gpu.ensemble.backend import select_backend

    select_backend(backend or card.backend)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from n3fit_gpu.scan.report import write_report
    from n3fit_gpu.scan.run import run_hyperscan  # imports keras: after the backend

    root = run_hyperscan(card, runcard, output, trials, seed, not quiet, theory_path=theory)
    click.echo(write_report(root))
    click.echo(f"scan written to {root}; best runcard: {root / 'report' / 'best_runcard.yml'}")


@main.command("report", context_settings=_CONTEXT)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many trials the table shows.")  # fmt: skip
@one_line_errors
def report(folder, top):
    """Summarise the scan in FOLDER (also while it runs): writes FOLDER/report/.

    best_trials.txt, loss.png (loss per trial, best so far), parameters.png (loss against
    each parameter) and best_runcard.yml (the best trial, ready for `fit`).
    """
    from n3fit_gpu.scan.report import write_report

    click.echo(write_report(folder, top))
    click.echo(f"report written to {folder / 'report'}")


if __name__ == "__main__":
    main()
