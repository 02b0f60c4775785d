"""What the commands share once arguments are parsed: the ``--check`` report and a quiet
backend start."""

from __future__ import annotations

from pathlib import Path

import click

from n3fit_gpu.cli.errors import EXIT_USER_ERROR
from n3fit_gpu.preflight import Preflight


def report_check(checked: Preflight, runcard: Path) -> None:
    """Print every problem of ``--check`` (exit 2), or that there is none (exit 0)."""
    for problem in checked.problems:
        click.echo(f"error: {problem}", err=True)
    if checked.problems:
        count = len(checked.problems)
        click.echo(f"{runcard}: {count} problem{'s' * (count > 1)}", err=True)
        raise SystemExit(EXIT_USER_ERROR)
    card = checked.card
    assert card is not None
    click.echo(
        f"{runcard}: no problem found ({len(card.dataset_inputs)} datasets, theory "
        f"{card.theory.theoryid}, {len(card.replica_indices)} replicas)"
    )
    raise SystemExit(0)


def start_backend(name: str | None, verbose: bool) -> str:
    """Choose and start the Keras backend; its start-up log lines only with ``verbose``."""
    from n3fit_gpu.ensemble.backend import start_quietly

    return start_quietly(name, verbose)
