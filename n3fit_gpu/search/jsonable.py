"""Plain-JSON conversion for trial records.

Trial records must pass ``json.dumps(..., allow_nan=False)``: numpy scalars and arrays become
Python numbers and (nested) lists, tuples become lists, mapping keys become strings, and every
non-finite float (NaN, +-Inf) becomes ``None`` (JSON ``null``). Readers turn ``null`` back into
NaN where a number is expected (:func:`float_or_nan`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def to_json(value: Any) -> Any:
    """Return ``value`` as plain JSON data (dict, list, str, int, float, bool or None).

    Raises
    ------
    TypeError
        For objects with no JSON form (a bug in the caller, not a user error).
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.ndarray):
        return [to_json(v) for v in value.tolist()] if value.ndim else to_json(value.item())
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in a trial record")


def float_or_nan(value: Any) -> float:
    """Read back a number written by :func:`to_json` (``None`` becomes NaN)."""
    return math.nan if value is None else float(value)
