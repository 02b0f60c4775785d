"""Runcard problems as records, and the errors that carry them.

A :class:`RunCardIssue` prints as one line, ``<file>:<line> <key.path>: <what>; got <value>``.
:class:`RunCardValidationError` reports the first issue (by line) and how many more there are;
its ``errors`` keeps them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from n3fit_gpu.errors import RunCardError


@dataclass(frozen=True)
class RunCardIssue:
    """One problem of a runcard, located by file, line and dotted key path."""

    filename: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.filename}:{self.line}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"


class RunCardValidationError(RunCardError):
    """The runcard is readable YAML but breaks the schema; ``errors`` lists every issue."""

    def __init__(self, issues: Sequence[RunCardIssue]):
        self.errors = tuple(sorted(issues, key=lambda issue: issue.line))
        more = len(self.errors) - 1
        super().__init__(str(self.errors[0]) + (f" (+{more} more)" if more else ""))


class RunCardNotFoundError(RunCardError, FileNotFoundError):
    """The runcard file does not exist."""
