"""Turn user-facing errors into one line on stderr and exit code 2 (bugs keep their traceback)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from n3fit_gpu.errors import FitInterrupted, N3fitError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for click callbacks: :class:`N3fitError` → ``error: <message>``, exit 2.

    Ctrl-C → ``interrupted: ...`` (how many replicas are kept, if the fit says), exit 130.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except N3fitError as error:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(EXIT_USER_ERROR) from None
        except FitInterrupted as interrupt:
            click.echo(f"interrupted: {interrupt}", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:
            click.echo("interrupted: finished replicas are kept; rerun with --resume", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None

    return wrapper
