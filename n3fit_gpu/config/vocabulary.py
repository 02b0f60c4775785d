"""The words a runcard may use (optimizers, activations, ...) and the checks shared by the models.

Names are accepted case-insensitively and normalised to the spelling listed here (NNPDF's).
Checks raise :class:`FieldIssue`, a ``ValueError`` that pydantic reports as a ``value_error``;
it may carry the sub-path of the offending key (for checks made by a model on its own fields),
the offending value and a hint, which :mod:`n3fit_gpu.config.messages` turns into one line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from n3fit_gpu.ensemble.initializers import INITIALIZERS  # numpy only: no keras import

OPTIMIZERS = ("SGD", "Adam", "Nadam", "RMSprop", "Adadelta", "Amsgrad")
# learning rates used when the runcard gives none: Keras' defaults, as NNPDF gets them
DEFAULT_LEARNING_RATES = {name: 0.01 if name == "SGD" else 1e-3 for name in OPTIMIZERS}
ACTIVATIONS = ("tanh", "sigmoid", "linear", "relu", "elu", "selu", "softplus", "leaky_relu", "gelu")
LAYER_TYPES = ("dense",)
EVOL_FLAVOURS = ("sng", "g", "v", "v3", "v8", "t3", "t8", "t15")
SUM_RULES = ("ALL", "MSR", "VSR", "NONE")
PENALTIES = ("saturation", "patience", "integrability")
LOSS_TYPES = ("chi2", "phi2")
STATISTICS = ("average", "average_best", "best_worst", "std")
BACKENDS = ("tensorflow", "jax", "torch")

_UNSET: Any = object()


class FieldIssue(ValueError):
    """A runcard value is wrong: ``message`` says what and how to fix it.

    Parameters
    ----------
    message:
        What is wrong, phrased as the rule (``must be ≤ max_epochs (100)``).
    at:
        Path of the offending key below the model that raised (empty: the key pydantic names).
    got:
        The offending value, when pydantic's own ``input`` is not the one to show.
    hint:
        How to fix it, shown in parentheses after the value.
    """

    def __init__(
        self,
        message: str,
        *,
        at: tuple[str | int, ...] = (),
        got: Any = _UNSET,
        hint: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.at = at
        self.got = got
        self.hint = hint

    @property
    def has_got(self) -> bool:
        """Whether the issue names its own offending value."""
        return self.got is not _UNSET


def closest(word: Any, choices: Sequence[str]) -> str | None:
    """Return the choice closest to ``word`` (compared case-insensitively), if any is close."""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def canonical(name: Any, allowed: Sequence[str], what: str) -> str:
    """Return ``allowed``'s spelling of ``name`` (compared case-insensitively) or raise."""
    for choice in allowed:
        if isinstance(name, str) and choice.lower() == name.lower():
            return choice
    near = closest(name, allowed) if isinstance(name, str) else None
    hint = f"did you mean '{near}'? " if near else ""
    raise FieldIssue(f"unknown {what}", hint=f"{hint}use one of {', '.join(allowed)}")


def _named(allowed: Sequence[str], what: str) -> BeforeValidator:
    return BeforeValidator(lambda name: canonical(name, allowed, what))


OptimizerName = Annotated[str, _named(OPTIMIZERS, "optimizer")]
ActivationName = Annotated[str, _named(ACTIVATIONS, "activation")]
InitializerName = Annotated[str, _named(INITIALIZERS, "initializer")]
LayerType = Annotated[str, _named(LAYER_TYPES, "layer type")]
FlavourName = Annotated[str, _named(EVOL_FLAVOURS, "EVOL flavour")]
PenaltyName = Annotated[str, _named(PENALTIES, "penalty")]
LossType = Annotated[str, _named(LOSS_TYPES, "loss type")]
Statistic = Annotated[str, _named(STATISTICS, "statistic")]
BackendName = Annotated[str, _named(BACKENDS, "backend")]


def _theory_id(value: Any) -> int | str:
    """An NNPDF theory number (a whole number ≥ 0) or one of our theory names (letters first)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", value):
        return value
    raise FieldIssue("must be a theory name (letters first) or an NNPDF theory number")


TheoryId = Annotated[int | str, BeforeValidator(_theory_id)]


def _pair(value: Any) -> Any:
    if isinstance(value, list | tuple) and len(value) != 2:
        raise FieldIssue("must be a [min, max] pair")
    return value


def _ordered(pair: tuple[float, float]) -> tuple[float, float]:
    if pair[0] > pair[1]:
        raise FieldIssue("must be ordered [min, max] with min ≤ max")
    return pair


def _positive_range(pair: tuple[float, float]) -> tuple[float, float]:
    if pair[0] <= 0:
        raise FieldIssue("both ends must be > 0")
    return pair


Range = Annotated[tuple[float, float], BeforeValidator(_pair), AfterValidator(_ordered)]
PositiveRange = Annotated[Range, AfterValidator(_positive_range)]


def _no_dropout(value: float | None) -> float | None:
    if value:
        raise FieldIssue(
            "dropout is not implemented yet",
            hint="set 0; a silently ignored rate would mislead a fit or a scan",
        )
    return value


# Dropout rates: only 0 until replica-independent dropout masks exist (NNPDF4.0 uses 0).
DropoutRate = Annotated[float, AfterValidator(_no_dropout)]


def check_pair(model: Any, low: str, high: str) -> None:
    """Raise unless ``model.low ≤ model.high`` or both are unset (naming the key to fix)."""
    lo, hi = getattr(model, low), getattr(model, high)
    if (lo is None) != (hi is None):
        missing = high if hi is None else low
        raise FieldIssue(f"set both {low} and {high}, or neither", at=(missing,))
    if lo is not None and lo > hi:
        shown = f"{hi:g}" if isinstance(hi, float) else str(hi)
        raise FieldIssue(f"must be ≤ {high} ({shown})", at=(low,), got=lo)
