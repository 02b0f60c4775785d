"""A dataset's FK tables in an NNPDF theory folder, and the operation that combines them.

NNPDF keeps a theory as ``theory_N/fastkernel/<table>.pineappl.lz4``; which tables a dataset
needs comes from nnpdf-data, the ``theory`` block of the dataset's observable in its
``metadata.yaml`` (a variant may replace it)::

    theory:
      FK_tables: [[A1, A2], [B]]   # operands; the tables of one operand are stacked along points
      operation: ratio             # how the operands' predictions combine (case-insensitive)
      conversion_factor: 1000.0    # multiplies every table (e.g. pb -> fb)
      normalization: {A2: 2.0}     # multiplies one table
      shifts: {A2: 3}              # leaves 3 points without prediction before A2's rows

:func:`load_dataset_fk` returns that as a :class:`DatasetFK`: the tables read by
:func:`~.pineappl_fk.read_fk_table` with the factors applied, the point index of every row, and
the operation as :meth:`DatasetFK.combine`, plain arithmetic on the operands' ``(R, n)``
predictions, so the same function serves numpy and Keras tensors (a one-point RATIO
denominator broadcasts, as the normalisation tables of NNPDF's pineappl theories are).

How it will plug in (not wired yet): the data loader calls :func:`load_dataset_fk` per
dataset of the runcard, builds one :class:`~.channel_convolution.ChannelConvolution` per table
on the theory's x grid (:func:`common_xgrid` of all tables, as validphys takes the union),
concatenates each operand's predictions, places them at ``rows``, combines the operands, then
applies the cuts (:class:`~.commondata.CommonData` ``indices``) and C-factors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import reduce
from pathlib import Path

import nnpdf_data
import numpy as np
from validobj import ValidationError

from n3fit_gpu.errors import DataError, TheoryError, TheoryNotFoundError
from n3fit_gpu.physics.pineappl_fk import FKTable, read_fk_table

EXTENSION = "pineappl.lz4"


def _sum(*parts):
    return reduce(lambda a, b: a + b, parts)


# operation -> (number of operands, combination), as validphys.convolution.OP defines them
OPERATIONS: dict[str, tuple[int, Callable]] = {
    "NULL": (1, lambda a: a),
    "ADD": (2, lambda a, b: a + b),
    "RATIO": (2, lambda a, b: a / b),
    "ASY": (2, lambda a, b: (a - b) / (a + b)),
    "SMN": (4, lambda a, b, c, d: (a + b) / (c + d)),
    "SMT": (10, _sum),
    "COM": (20, lambda *p: _sum(*p[:10]) / _sum(*p[10:])),
}


@dataclass(frozen=True)
class Operand:
    """The tables of one operand, stacked along points.

    Attributes
    ----------
    tables : tuple[FKTable, ...]
        conversion factor and normalisation applied.
    rows : np.ndarray
        ``(sum of the tables' ndata,)`` the data point each row predicts (shifts leave gaps).
    """

    tables: tuple[FKTable, ...]
    rows: np.ndarray


@dataclass(frozen=True)
class DatasetFK:
    """The FK tables of one dataset and their operation (see the module docstring)."""

    name: str
    operation: str
    operands: tuple[Operand, ...]

    def combine(self, predictions: Sequence):
        """The dataset's predictions from each operand's ``(R, n_k)`` (numpy or Keras)."""
        return OPERATIONS[self.operation][1](*predictions)

    @property
    def tables(self) -> tuple[FKTable, ...]:
        """Every table, operand by operand."""
        return tuple(t for operand in self.operands for t in operand.tables)


def load_dataset_fk(
    theory: str | Path, dataset: str, variant: str | None = None, metadata=None
) -> DatasetFK:
    """The FK tables of ``dataset`` in the NNPDF theory folder ``theory`` (``theory_N/``).

    Parameters
    ----------
    metadata :
        nnpdf-data's ``TheoryMeta`` to use instead of the dataset's (``variant`` applied).

    Raises
    ------
    TheoryNotFoundError
        no ``fastkernel/`` folder, or tables missing from it (all named).
    TheoryError
        an operation we do not implement, or the wrong number of operands for it.
    DataError
        an unknown dataset or variant.
    """
    folder = Path(theory) / "fastkernel"
    if not folder.is_dir():
        raise TheoryNotFoundError(
            f"{theory}: no fastkernel/ folder; give an NNPDF theory folder (theory_N/, "
            "e.g. from `vp-get theoryID N`)"
        )
    meta = metadata if metadata is not None else theory_metadata(dataset, variant)
    operation = "NULL" if meta.operation is None else str(meta.operation).upper()
    _check_operation(dataset, operation, len(meta.FK_tables))
    names = [name for operand in meta.FK_tables for name in operand]
    missing = [n for n in names if not (folder / f"{n}.{EXTENSION}").is_file()]
    if missing:
        raise TheoryNotFoundError(
            f"{folder}: no FK table {', '.join(missing)} for {dataset}; this theory does not "
            "cover the dataset (use a theory that does, or drop the dataset)"
        )
    operands = tuple(_operand(folder, operand, meta) for operand in meta.FK_tables)
    return DatasetFK(dataset, operation, operands)


def theory_metadata(dataset: str, variant: str | None = None):
    """nnpdf-data's ``TheoryMeta`` of ``dataset`` (``<setname>_<observable>``) and variant.

    Unlike :func:`~.commondata.load_commondata` this needs no uncertainties, so positivity
    sets and datasets without default uncertainties are read as they are.
    """
    setname, _, observable = dataset.rpartition("_")
    path = Path(nnpdf_data.__file__).parent / "commondata" / setname / "metadata.yaml"
    try:
        meta = nnpdf_data.parse_new_metadata(path, observable, variant=variant).theory
    except (OSError, ValueError, ValidationError) as error:
        reason = (str(error).splitlines() or ["unreadable"])[0]
        raise DataError(
            f"dataset {dataset!r} (variant {variant}): {reason}; check the name and variant "
            f"in nnpdf-data's commondata/{setname or dataset}/metadata.yaml"
        ) from None
    if meta is None:
        raise DataError(f"dataset {dataset} has no theory block in nnpdf-data (no FK tables)")
    return meta


def common_xgrid(tables: Sequence[FKTable]) -> np.ndarray:
    """The union of the tables' x grids: the grid to evaluate the PDF on for all of them."""
    return reduce(np.union1d, [t.xgrid for t in tables])


def _check_operation(dataset: str, operation: str, operands: int) -> None:
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


def _operand(folder: Path, names: Sequence[str], meta) -> Operand:
    shifts, normalization = meta.shifts or {}, meta.normalization or {}
    tables, rows, start = [], [], 0
    for name in names:
        fk = read_fk_table(folder / f"{name}.{EXTENSION}")
        factor = float(meta.conversion_factor) * float(normalization.get(name, 1.0))
        tables.append(replace(fk, table=fk.table * factor) if factor != 1.0 else fk)
        start += int(shifts.get(name, 0))
        rows.append(np.arange(start, start + fk.ndata))
        start += fk.ndata
    return Operand(tuple(tables), np.concatenate(rows))
