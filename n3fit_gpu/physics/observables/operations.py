"""How NNPDF combines a dataset's FK operands (nnpdf-data ``theory.operation``).

Each operation is plain arithmetic on the operands' ``(R, n)`` predictions, so the same function
serves numpy arrays and Keras tensors. A one-point operand (a normalisation table) broadcasts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce

from n3fit_gpu.errors import TheoryError


def _sum(*parts):
    return reduce(lambda a, b: a + b, parts)


# operation -> (number of operands, combination), with the meanings validphys gives them
OPERATIONS: dict[str, tuple[int, Callable]] = {
    "NULL": (1, lambda a: a),
    "ADD": (2, lambda a, b: a + b),
    "RATIO": (2, lambda a, b: a / b),
    "ASY": (2, lambda a, b: (a - b) / (a + b)),
    "SMN": (4, lambda a, b, c, d: (a + b) / (c + d)),
    "SMT": (10, _sum),
    "COM": (20, lambda *p: _sum(*p[:10]) / _sum(*p[10:])),
}


def combine(operation: str, predictions: Sequence):
    """The dataset's predictions from each operand's ``(R, n_k)`` (numpy or Keras)."""
    return OPERATIONS[operation][1](*predictions)


def check_operation(dataset: str, operation: str, operands: int) -> None:
    """One-line :class:`TheoryError` for an operation we lack or a wrong operand count."""
    if operation not in OPERATIONS:
        raise TheoryError(
            f"dataset {dataset}: operation {operation} is not supported "
            f"(supported: {', '.join(OPERATIONS)}); drop the dataset from the runcard"
        )
    if OPERATIONS[operation][0] != operands:
        raise TheoryError(
            f"dataset {dataset}: operation {operation} takes {OPERATIONS[operation][0]} "
            f"operands, its metadata lists {operands} FK_tables entries"
        )
