"""Click parameter types shared by the commands.

:class:`FiniteFloatRange` is ``click.FloatRange`` that also refuses ``nan``, ``inf`` and
``-inf``: ``float()`` reads them, and every comparison with NaN is false, so
``FloatRange(min=1.0)`` lets ``--lease nan`` through. Its refusals are one line on stderr
(``error: --lease: ...``, exit code 2), as every user error of these commands is.
"""

from __future__ import annotations

import math
from typing import Any

import click

from n3fit_gpu.cli.errors import EXIT_USER_ERROR


class OptionValueError(click.BadParameter):
    """A bad option value, shown as one line ``error: <option>: <message>`` (no usage text)."""

    exit_code = EXIT_USER_ERROR

    def format_message(self) -> str:
        if isinstance(self.param_hint, str):
            return f"{self.param_hint}: {self.message}"
        opts = self.param.opts if self.param is not None else []
        return f"{max(opts, key=len, default='value')}: {self.message}"

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


class FiniteFloatRange(click.FloatRange):
    """A finite float within ``[min, max]`` (``min_open`` / ``max_open``: the bound excluded).

    ``hint`` ends the message of a refusal with what the option means and an example, e.g.
    ``"seconds a claim lasts, e.g. --lease 600"``.
    """

    name = "float range"

    def __init__(
        self,
        min: float | None = None,
        max: float | None = None,
        min_open: bool = False,
        max_open: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(min, max, min_open, max_open, clamp=False)
        self.hint = hint

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        inside = math.isfinite(number) and self._inside(number)
        if not inside:
            fix = f"give a finite number{self._bounds()}"
            if self.hint:
                fix += f" ({self.hint})"
            raise OptionValueError(f"got {value!r}; {fix}", ctx, param)
        return number

    def _inside(self, number: float) -> bool:
        low_ok = self.min is None or (number > self.min if self.min_open else number >= self.min)
        high_ok = self.max is None or (number < self.max if self.max_open else number <= self.max)
        return low_ok and high_ok

    def _bounds(self) -> str:
        low = None if self.min is None else f"{'>' if self.min_open else '≥'} {self.min:g}"
        high = None if self.max is None else f"{'<' if self.max_open else '≤'} {self.max:g}"
        if low and high:
            return f" {low} and {high}"
        return f" {low or high}" if (low or high) else ""
