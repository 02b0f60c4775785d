"""Pydantic's validation errors rewritten as runcard issues a newcomer can act on.

Each error becomes ``<key.path>: <what is wrong>; got <value> (<hint>)``: the rule is phrased
as what the value must be, unknown keys get the closest allowed key, and common keys carry a
short reminder of what they mean.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from n3fit_gpu.config.issues import RunCardIssue
from n3fit_gpu.config.vocabulary import FieldIssue, closest

Path = tuple[str | int, ...]

_HINTS = {
    "stopping_patience": "a fraction of epochs",
    "frac": "the fraction of a dataset's points used for training",
    "epochs": "the most training steps",
    "dropout": "a fraction of the units",
    "threshold_chi2": "validation χ² per point above which a replica fails",
    "smallx": "range of the small-x exponent",
    "largex": "range of the large-x exponent",
    "maxlambda": "the Lagrange multiplier reached at the last epoch",
    "learning_rate": "the optimizer's step size",
    "clipnorm": "the largest gradient norm per replica",
    "theoryid": "an installed theory, e.g. n3fit_gpu_dis_nlo (the shipped NLO DIS theory)",
    "theory": "e.g. theory: {theoryid: n3fit_gpu_dis_nlo}",
    "dataset_inputs": "a list of {dataset: NAME, variant: ..., frac: ...}",
    "parameters": "the network and training block, see runcards/quickstart.yml",
    "replicas": "N, [first, last] or a list of replica indices",
}
# NNPDF runcard keys that n3fit_gpu does not implement
_NNPDF_ONLY = {
    "tensorboard", "save", "load", "parallel_models", "fiatlux", "theorycovmatconfig",
    "maxcores", "interpolation_points", "regularizer", "regularizer_args", "cfac", "weight",
    "sys", "use_cuts", "savepseudodata", "errorsize", "rancutprob", "rancutmethod",
}  # fmt: skip
_RULES = {
    "missing": "missing required key",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "invalid_key": "keys must be text",
    "finite_number": "must be a finite number",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "model_type": "must be a block of keys",
    "model_attributes_type": "must be a block of keys",
    "dict_type": "must be a block of keys",
}
_BOUNDS = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}


def _flow(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, dict):
        return "a block of keys" if value else "an empty block"
    return repr(value) if isinstance(value, str) else str(value)


def show(value: Any) -> str:
    """Write a runcard value in YAML's flow style, cut to 60 characters."""
    text = _flow(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number_hint(value: Any) -> str | None:
    """For ``1e4`` (which YAML reads as text): how to write it as a whole number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return f"write it as {int(number)}" if number.is_integer() else None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The model that validates the block at ``path`` (list indices are skipped)."""
    model: type[BaseModel] | None = root
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        model = _inner_model(field.annotation) if field else None
    return model


def _unknown_key(root: type[BaseModel], path: Path) -> str:
    key = str(path[-1])
    if key in _NNPDF_ONLY:
        return f"'{key}' is an NNPDF runcard key that n3fit_gpu does not support; remove it"
    model = _model_at(root, path[:-1])
    allowed = list(model.model_fields) if model else []
    near = closest(key, allowed)
    if near:
        return f"unknown key '{key}' — did you mean '{near}'?"
    return f"unknown key '{key}'; allowed here: {', '.join(allowed)}"


def _with_value(what: str, got: Any, hint: str | None, *, has_got: bool = True) -> str:
    text = f"{what}; got {show(got)}" if has_got else what
    return f"{text} ({hint})" if hint else text


def _hint(path: Path) -> str | None:
    return _HINTS.get(next((p for p in reversed(path) if isinstance(p, str)), ""))


def _describe(root: type[BaseModel], error: Any) -> tuple[Path, str]:
    """Return the full key path of one pydantic error and its message."""
    path: Path = tuple(error["loc"])
    kind = error["type"]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, FieldIssue):
        path += cause.at
        # a model-level issue without its own value would only show the whole block
        got = cause.got if cause.has_got else error["input"]
        shown = cause.has_got or not cause.at
        hint = cause.hint or _hint(path)
        return path, _with_value(cause.message, got, hint, has_got=shown)
    hint = _hint(path)
    if kind == "extra_forbidden":
        return path, _unknown_key(root, path)
    if kind == "missing":
        return path, _with_value(_RULES[kind], None, hint, has_got=False)
    if kind in _BOUNDS:
        bound = show(next(iter(error["ctx"].values())))
        return path, _with_value(f"must be {_BOUNDS[kind]} {bound}", error["input"], hint)
    if kind == "int_parsing":
        hint = _number_hint(error["input"]) or hint
    if kind == "string_type" and not isinstance(error["input"], dict | list):
        hint = "put it in quotes"
    if kind in ("too_short", "too_long"):
        limit = error["ctx"].get("min_length", error["ctx"].get("max_length"))
        word = "at least" if kind == "too_short" else "at most"
        return path, _with_value(f"must have {word} {limit} item(s)", error["input"], hint)
    what = _RULES.get(kind, error["msg"])
    return path, _with_value(what, error["input"], hint)


def dotted(path: Path) -> str:
    """``("dataset_inputs", 2, "frac")`` → ``dataset_inputs[2].frac``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _counts_only_valid_items(error: Any) -> bool:
    """A ``too_short`` error on a list that has enough items as written.

    Pydantic checks a tuple's ``min_length`` on the items that validated, so one bad item of
    ``optimizer: [{optimizer_name: Adamm}]`` also gives "must have at least 1 item(s)" on the
    list; the item's own error says what is wrong, so this one is dropped.
    """
    if error["type"] != "too_short" or not isinstance(error["input"], list | tuple):
        return False
    return len(error["input"]) >= error.get("ctx", {}).get("min_length", 0)


def issues_from(
    error: ValidationError, root: type[BaseModel], filename: str, line_of: Callable[[Path], int]
) -> list[RunCardIssue]:
    """One :class:`RunCardIssue` per pydantic error, located with ``line_of(key_path)``.

    Missing keys come last, so that on one line a misspelt key (with its suggestion) is
    reported before the key it should have been.
    """
    issues = []
    kept = [item for item in error.errors() if not _counts_only_valid_items(item)]
    for item in sorted(kept, key=lambda item: item["type"] == "missing"):
        path, message = _describe(root, item)
        issues.append(RunCardIssue(filename, line_of(path), dotted(path), message))
    return issues
