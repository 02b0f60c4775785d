"""Search-space dimensions and their translation to a hyperopt space.

A :data:`Space` is a flat mapping ``name -> Dimension | constant``. Sub-spaces live only inside
:class:`Choice` options: an option is either a constant or a mapping ``name -> Dimension |
constant`` (e.g. one option per optimizer, each with its own learning-rate range).

Labels (hyperopt's parameter names, the keys of a trial's ``misc.vals``)
------------------------------------------------------------------------
- a top-level dimension is labelled by its key: ``"learning_rate"``;
- a dimension inside option ``i`` of the Choice labelled ``P`` is labelled ``"P.<tag>.<key>"``,
  where ``<tag>`` is the option's *name*: the string value of its ``"name"`` key, else of its
  ``"<last part of P>_name"`` key (NNPDF's ``optimizer_name`` under ``optimizer``), else the
  option index ``i``. If two options of one Choice have the same name, all its options use
  their index. Example: ``"optimizer.Adam.learning_rate"``.

Keys must not contain ``"."``, so labels are unique by construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hyperopt import hp, space_eval
from hyperopt.pyll import scope

from n3fit_gpu.search.errors import SearchError

_CONSTANTS = (str, int, float, bool, tuple, type(None))
# IntUniform samples a continuous value in [low - m, high + m] and rounds it: with m just
# below 1/2 every integer has (almost exactly) the same probability and rounding stays in range.
_INT_MARGIN = 0.5 - 1e-6


def _check_range(kind: str, low: float, high: float, positive: bool = False) -> None:
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise SearchError(f"{kind}({low}, {high}): need finite low < high; swap or fix the bounds")
    if positive and low <= 0:
        raise SearchError(f"{kind}({low}, {high}): low must be > 0; use Uniform for ranges with 0")


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly in ``[low, high]``."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_range("Uniform", self.low, self.high)


@dataclass(frozen=True)
class LogUniform:
    """A float whose logarithm is uniform in ``[log low, log high]`` (``0 < low < high``)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_range("LogUniform", self.low, self.high, positive=True)


@dataclass(frozen=True)
class IntUniform:
    """An integer drawn uniformly in ``[low, high]``, both included."""

    low: int
    high: int

    def __post_init__(self) -> None:
        for bound in (self.low, self.high):
            if isinstance(bound, bool) or not isinstance(bound, int):
                raise SearchError(f"IntUniform({self.low}, {self.high}): bounds must be integers")
        if self.low > self.high:
            raise SearchError(f"IntUniform({self.low}, {self.high}): need low <= high")


@dataclass(frozen=True)
class Choice:
    """One of ``options``: constants (str, int, float, None, tuple) or sub-space mappings."""

    options: tuple

    def __post_init__(self) -> None:
        if isinstance(self.options, list):
            object.__setattr__(self, "options", tuple(self.options))
        if not isinstance(self.options, tuple) or not self.options:
            raise SearchError(f"Choice({self.options!r}): give a non-empty tuple of options")
        for option in self.options:
            if isinstance(option, Mapping):
                _check_entries(option, where="a Choice option")
            else:
                _check_constant(option, where="a Choice option")


Dimension = Uniform | LogUniform | IntUniform | Choice
Space = Mapping[str, Any]  # name -> Dimension | constant
_DIMENSIONS = (Uniform, LogUniform, IntUniform, Choice)


def _check_constant(value: Any, where: str) -> None:
    if not isinstance(value, _CONSTANTS):
        raise SearchError(
            f"{value!r} in {where} is neither a dimension nor a constant "
            "(str, int, float, bool, None, tuple); nest sub-spaces only as Choice options"
        )


def _check_entries(entries: Mapping, where: str) -> None:
    for key, value in entries.items():
        if not isinstance(key, str) or not key or "." in key:
            raise SearchError(f"key {key!r} in {where}: use a non-empty string without '.'")
        if not isinstance(value, _DIMENSIONS):
            _check_constant(value, where=f"{where} (key {key!r})")


def _option_tags(choice: Choice, label: str) -> list[str]:
    name_keys = ("name", f"{label.rsplit('.', 1)[-1]}_name")
    tags = []
    for i, option in enumerate(choice.options):
        names = [option.get(k) for k in name_keys] if isinstance(option, Mapping) else []
        tags.append(next((n for n in names if isinstance(n, str) and n), str(i)))
    return tags if len(set(tags)) == len(tags) else [str(i) for i in range(len(tags))]


def _translate(value: Any, label: str) -> Any:
    if isinstance(value, Uniform):
        return hp.uniform(label, value.low, value.high)
    if isinstance(value, LogUniform):
        return hp.loguniform(label, math.log(value.low), math.log(value.high))
    if isinstance(value, IntUniform):
        low, high = value.low - _INT_MARGIN, value.high + _INT_MARGIN
        return scope.int(hp.quniform(label, low, high, 1))
    if isinstance(value, Choice):
        options = [
            _translate_entries(option, f"{label}.{tag}") if isinstance(option, Mapping) else option
            for option, tag in zip(value.options, _option_tags(value, label))
        ]
        return hp.choice(label, options)
    return value


def _translate_entries(entries: Mapping, prefix: str) -> dict:
    return {key: _translate(value, f"{prefix}.{key}") for key, value in entries.items()}


def to_hyperopt(space: Space) -> dict:
    """Translate ``space`` into a hyperopt (pyll) space with the labels described above.

    Raises
    ------
    SearchError
        If a key contains ``"."`` or a value is neither a dimension nor a constant.
    """
    if not isinstance(space, Mapping):
        raise SearchError(f"a search space is a mapping name -> dimension; got {space!r}")
    _check_entries(space, where="the search space")
    return {key: _translate(value, key) for key, value in space.items()}


def point_from_vals(hp_space: dict, vals: Mapping[str, list]) -> dict:
    """Decode hyperopt's ``misc.vals`` (one-element lists, empty if inactive) into a point.

    Choice entries hold option *indices*; the point holds the chosen options themselves.
    """
    assignment = {label: values[0] for label, values in vals.items() if len(values)}
    return space_eval(hp_space, assignment)
