"""Turn user-facing errors into one line on stderr and exit code 2 (bugs keep their traceback).

User-facing: our :class:`~n3fit_gpu.errors.N3fitError` and the operating system's
:class:`OSError` (read-only or full disk, a file where a folder should be...)."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any

import click

from n3fit_gpu.errors import FitCheckpointed, FitInterrupted, N3fitError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
EXIT_CHECKPOINTED = 75  # EX_TEMPFAIL: stopped on a signal after a checkpoint; --resume goes on


_OS_FIXES = {
    errno.EROFS: "write elsewhere (--output)",
    errno.EACCES: "write elsewhere (--output) or fix the permissions",
    errno.ENOSPC: "free some space or write elsewhere (--output); finished files are kept",
    errno.EDQUOT: "free some quota or write elsewhere (--output); finished files are kept",
    errno.ENOTDIR: "a file stands where a folder is needed; move it or choose another --output",
    errno.EEXIST: "a file stands where a folder is needed; move it or choose another --output",
}


def os_error_line(error: OSError) -> str:
    """One line for an error the operating system reported, with the path and a fix."""
    where = f" at {error.filename}" if error.filename else ""
    fix = _OS_FIXES.get(error.errno, "check the path, its permissions and the free space")
    return f"{error.strerror or error}{where}; {fix}"


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for click callbacks: :class:`N3fitError` → ``error: <message>``, exit 2.

    Ctrl-C → ``interrupted: ...`` (how many replicas are kept, if the fit says), exit 130.
    A stop on SIGTERM/SIGUSR1 after a checkpoint → ``stopped (SIGTERM): ...``, exit 75.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except N3fitError as error:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(EXIT_USER_ERROR) from None
        except OSError as error:  # the filesystem's word: read-only, full, not a folder...
            click.echo(f"error: {os_error_line(error)}", err=True)
            raise SystemExit(EXIT_USER_ERROR) from None
        except FitCheckpointed as stop:
            click.echo(f"stopped ({stop.signal}): {stop}", err=True)
            raise SystemExit(EXIT_CHECKPOINTED) from None
        except FitInterrupted as interrupt:
            click.echo(f"interrupted: {interrupt}", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:
            click.echo("interrupted: finished replicas are kept; rerun with --resume", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None

    return wrapper
