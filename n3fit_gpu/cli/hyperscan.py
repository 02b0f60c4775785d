"""The ``hyperscan`` command group: ``hyperscan RUNCARD`` runs a scan, ``hyperscan report DIR``
summarises one, ``hyperscan ensemble DIR`` builds one PDF set from its trials."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from n3fit_gpu.atomic import atomic_write_text
from n3fit_gpu.cli.common import report_check, start_backend
from n3fit_gpu.cli.errors import EXIT_INTERRUPTED, one_line_errors
from n3fit_gpu.cli.options import FiniteFloatRange
from n3fit_gpu.config import load_runcard
from n3fit_gpu.preflight import preflight
from n3fit_gpu.scan.layout import LOG_NAME, scan_runcard
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.selection import CRITERIA, DEFAULT_CRITERION, DEFAULT_MAX_REPLICAS
from n3fit_gpu.search.store import TrialLog
from n3fit_gpu.search.worker import WorkerSettings, default_worker_id

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
      hyperscan ensemble DIR         one PDF set from the best trials, refitted on all data
      hyperscan export DIR           the trials as NNPDF's tries.json (vp-hyperoptplot)

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
              help="A theory folder (ours, or NNPDF's theory_N/) instead of theoryid.")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1), metavar="K",
              help="Run K local worker processes on the scan and wait for them.")  # fmt: skip
@click.option("--worker", is_flag=True,
              help="Join the scan as one worker (start any number, on any machines sharing "
              "OUTPUT); exits when the scan has --trials trials.")  # fmt: skip
@click.option("--worker-id", metavar="ID",
              help="With --worker [default: $SLURM_ARRAY_JOB_ID-$SLURM_ARRAY_TASK_ID, else "
              "$SLURM_JOB_ID, else <host>-<pid>]. Restarted with its id, a worker takes back "
              "its trial at once.")  # fmt: skip
@click.option("--lease", type=FiniteFloatRange(min=1.0, hint="seconds, e.g. --lease 600"),
              default=600.0, show_default=True,
              help="Seconds a worker's claim on a trial lasts without a heartbeat (one every "
              "lease/10 s); a dead worker's trial is rerun after it.")  # fmt: skip
@click.option("--trials-per-model", "-k", type=click.IntRange(min=1), default=1, show_default=True,
              metavar="K", help="Suggest K trials at a time and train them stacked in ONE model "
              "per fold (K x replicas slots; widths, depths, activations, optimizers, learning "
              "rates, clipnorm, epochs, patience, initializers may differ). Results equal "
              "trials run one by one; the device is kept busy.")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option("--check", is_flag=True,
              help="Only check the runcard, data, theory, PDFs and output folder (in about a "
              "second, no training) and list every problem.")  # fmt: skip
@click.option("--verbose", "-v", is_flag=True, help="Show the backend's start-up log lines.")
@one_line_errors
def run(runcard, trials, output, seed, backend, theory, workers, worker, worker_id, lease,
        trials_per_model, quiet, check, verbose):  # fmt: skip
    """Run (or resume) the scan of RUNCARD: its hyperscan_config and kfold blocks.

    Every finished trial is appended at once to OUTPUT/<name>/tries.jsonl (one hyperopt
    trial document per line; `pandas.read_json(path, lines=True)` reads it). Interrupt
    at any time and run the same command again: finished trials are kept and not rerun.

    Parallel scans: workers share OUTPUT/<name>/ (trial log and claims/, no server); each
    runs TPE on every trial finished so far. --workers K starts K here; --worker is the unit
    a batch system starts (see scripts/slurm/), safe to requeue or SIGKILL.

    \b
    Examples:
      hyperscan runcards/hyperscan.yml --trials 30
      hyperscan runcards/hyperscan.yml --trials 60     # 30 more, same scan
      hyperscan runcards/hyperscan.yml --trials 200 --workers 4
      hyperscan runcards/hyperscan.yml --trials 64 -k 8    # 8 trials per model
      hyperscan runcards/hyperscan.yml --trials 200 --worker    # in each job of an array
      hyperscan report output/hyperscan
      hyperscan my_scan.yml --check    # every problem at once, no training
    """
    checked = preflight(runcard, output, theory, scan=True)
    if check:
        report_check(checked, runcard)
    card = checked.raise_first("hyperscan", runcard)
    settings = _worker_settings(workers, worker, worker_id, lease)
    backend = start_backend(backend or card.backend, verbose)
    from n3fit_gpu.scan.report import write_report

    try:
        if workers:
            from n3fit_gpu.scan.parallel import run_local_scan

            root = run_local_scan(card, runcard, output, trials, seed, workers, lease, backend,
                                  not quiet, theory, trials_per_model)  # fmt: skip
        else:
            root = _run_here(card, runcard, output, trials, seed, quiet, theory, settings,
                             trials_per_model)  # fmt: skip
    except KeyboardInterrupt:
        click.echo(
            "interrupted: finished trials are kept; run the same command to resume", err=True
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
    if settings is not None:
        done = len(TrialLog(root / LOG_NAME).read())
        click.echo(f"worker {settings.worker_id}: the scan {root} has {done} trials; "
                   f"summarise it with: hyperscan report {root}")  # fmt: skip
        return
    click.echo(write_report(root))
    click.echo(f"scan written to {root}; best runcard: {root / 'report' / 'best_runcard.yml'}")


def _worker_settings(workers, worker, worker_id, lease) -> WorkerSettings | None:
    """The settings of ``--worker`` (``None`` without it); refuses option mix-ups."""
    if workers and worker:
        raise SearchError(
            "--worker and --workers exclude each other: --worker joins the scan as one "
            "worker, --workers K starts K local workers"
        )
    if worker_id is not None and not worker:
        raise SearchError("--worker-id needs --worker (the workers of --workers K get ids)")
    if not worker:
        return None
    return WorkerSettings(worker_id or default_worker_id(), lease=lease)


def _run_here(card, runcard, output, trials, seed, quiet, theory, settings, per_model) -> Path:
    """The scan in this process: alone, or as one worker (SIGTERM stops it like Ctrl-C)."""
    from n3fit_gpu.scan.run import run_hyperscan  # imports keras: after the backend

    previous = signal.getsignal(signal.SIGTERM)
    if settings is not None:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return run_hyperscan(card, runcard, output, trials, seed, not quiet, theory, settings,
                             per_model)  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, previous)


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


@main.command("export", context_settings=_CONTEXT)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--nnpdf", "to", type=click.Path(path_type=Path), metavar="DIR",
              help="Where to write NNPDF's layout [default: FOLDER/nnpdf].")  # fmt: skip
@one_line_errors
def export(folder, to):
    """Write the scan in FOLDER as NNPDF's tries.json, for vp-hyperoptplot.

    \b
    Writes DIR/nnfit/replica_1/tries.json (one JSON array of hyperopt trials with n3fit's
    misc.space_vals and kfold_meta fields) and DIR/filter.yml (the scan's runcard).
    Example:
      hyperscan export output/hyperscan
      vp-hyperoptplot output/hyperscan/nnpdf --loss_target average
    """
    from n3fit_gpu.scan.nnpdf_export import export_nnpdf_tries

    runcard = scan_runcard(folder)
    card = load_runcard(runcard)
    docs = TrialLog(Path(folder) / LOG_NAME).read()
    if not docs:
        raise SearchError(f"{folder} has no finished trial yet; export after some have run")
    target = to or Path(folder) / "nnpdf"
    path = export_nnpdf_tries(docs, card, target)
    atomic_write_text(target / "filter.yml", runcard.read_text())
    click.echo(f"{len(docs)} trials written to {path}; read them with: "
               f"vp-hyperoptplot {target}")  # fmt: skip


@main.command("ensemble", context_settings=_CONTEXT)
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--max-replicas", type=click.IntRange(min=1), default=DEFAULT_MAX_REPLICAS,
              show_default=True,
              help="Size budget: the set never has more replicas.")  # fmt: skip
@click.option("--criterion", type=click.Choice(CRITERIA), default=DEFAULT_CRITERION,
              show_default=True,
              help="chi2_mean: χ²/N of the ensemble's mean prediction (the central PDF); "
              "chi2_replicas: the mean of the replicas' χ²/N.")  # fmt: skip
@click.option("--replica-level", is_flag=True,
              help="Add single replicas instead of whole trials.")  # fmt: skip
@click.option("--covariance", type=click.Choice(["full", "folds"]), default="full",
              show_default=True, help="Correlations across folds kept (full) or dropped "
              "(folds: each fold's block, as the scan scores folds).")  # fmt: skip
@click.option("--no-refit", is_flag=True, help="Stop after the selection (nothing is fitted).")
@click.option("--name", help="Name of the set and its folder [default: <scan name>_ensemble].")
@click.option("--resume", is_flag=True, help="Keep the set's replicas already fitted.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an earlier, different ensemble/selection.json (refused otherwise).",
)
@click.option("--backend", type=click.Choice(["tensorflow", "jax", "torch"]), help="Keras backend.")
@click.option("--theory", type=click.Path(path_type=Path),
              help="The theory folder the scan was run with, if not its theoryid.")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@one_line_errors
def ensemble(folder, max_replicas, criterion, replica_level, covariance, no_refit, name, resume,
             force, backend, theory, quiet):  # fmt: skip
    """Build one PDF set from the trials of the scan in FOLDER (ensemble selection).

    Every trial saved its out-of-fold predictions: each point of a kfold partition predicted
    by the replicas that were trained without it. Starting from nothing, the trial (with
    --replica-level: the replica) whose addition lowers the criterion most is added, until
    nothing lowers it or nothing fits in --max-replicas; φ² is reported along the way.
    chi2_mean keeps adding members whose errors cancel the others' (the mean moves towards
    the data); chi2_replicas adds only members better than the current average, so it often
    keeps the best trial alone. The chosen (trial, replica) pairs are then refitted on ALL
    the data, each with its trial's hyperparameters and its replica's seeds (trials whose
    runcards allow it stacked in one model), and written as a fit: replicas renumbered
    1..M, summary.json, LHAPDF6 set.

    \b
    Writes FOLDER/ensemble/:
      selection.json   the greedy path, chosen members, Pareto fronts of the criterion
                       against replicas and against inference cost, replica numbering
                       (a different one from an earlier run is kept unless --force)
      pareto.png       the same, drawn
      <name>/          the set: nnfit/replica_N, summary.json, lhapdf/<name>/, plots/

    \b
    Examples:
      hyperscan ensemble output/hyperscan --no-refit             # look first
      hyperscan ensemble output/hyperscan --max-replicas 50
      hyperscan ensemble output/hyperscan --replica-level --covariance folds
    """
    runcard = load_runcard(scan_runcard(folder))
    start_backend(backend or runcard.backend, verbose=False)
    from n3fit_gpu.scan.ensemble import EnsembleSettings, build_ensemble, summary_text

    settings = EnsembleSettings(criterion, max_replicas, replica_level, covariance,
                                not no_refit, name, resume, force)  # fmt: skip
    report = build_ensemble(folder, settings, theory, show_progress=not quiet)
    click.echo(summary_text(report))
    where = folder / "ensemble"
    if no_refit:
        click.echo(f"selection written to {where / 'selection.json'}; fit it without --no-refit")
    else:
        click.echo(f"set written to {where / report['set']['name']}")


if __name__ == "__main__":
    main()
