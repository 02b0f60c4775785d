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

How it plugs in: :func:`load_nnpdf_theory` (called by
:func:`~.theory_source.load_card_theory`) reads every dataset, positivity and integrability
observable of a runcard, puts all tables on one x grid (:func:`common_xgrid`, the union, as
validphys takes it) and turns each table into a kernel of :mod:`~.observables` (DIS or
hadronic) whose ``rows`` are the points it predicts; the data loader then cuts, matches rows to
points and applies C-factors like for any other theory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import reduce
from pathlib import Path

import nnpdf_data
import numpy as np
from validobj import ValidationError

from n3fit_gpu.errors import DataError, TheoryError, TheoryNotFoundError
from n3fit_gpu.physics.nnpdf_export import read_evolution_link
from n3fit_gpu.physics.observables import dis, hadronic
from n3fit_gpu.physics.observables.operations import check_operation, combine
from n3fit_gpu.physics.observables.protocol import Observable
from n3fit_gpu.physics.pineappl_fk import FKTable, read_fk_table
from n3fit_gpu.physics.theory import BASIS, Theory

EXTENSION = "pineappl.lz4"


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
        return combine(self.operation, predictions)

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
    meta = check_dataset_fk(theory, dataset, variant, metadata)
    folder = Path(theory) / "fastkernel"
    operation = "NULL" if meta.operation is None else str(meta.operation).upper()
    operands = tuple(_operand(folder, operand, meta) for operand in meta.FK_tables)
    return DatasetFK(dataset, operation, operands)


def check_dataset_fk(theory: str | Path, dataset: str, variant: str | None = None, metadata=None):
    """The checks of :func:`load_dataset_fk` without reading a table; returns the TheoryMeta.

    Raises as :func:`load_dataset_fk` does (each a one-line message naming the dataset).
    """
    folder = Path(theory) / "fastkernel"
    if not folder.is_dir():
        raise TheoryNotFoundError(
            f"{theory}: no fastkernel/ folder; give an NNPDF theory folder (theory_N/, "
            "e.g. from `vp-get theoryID N`)"
        )
    meta = metadata if metadata is not None else theory_metadata(dataset, variant)
    operation = "NULL" if meta.operation is None else str(meta.operation).upper()
    check_operation(dataset, operation, len(meta.FK_tables))
    names = [name for operand in meta.FK_tables for name in operand]
    missing = [n for n in names if not (folder / f"{n}.{EXTENSION}").is_file()]
    if missing:
        raise TheoryNotFoundError(
            f"{folder}: no FK table {', '.join(missing)} for {dataset}; this theory does not "
            "cover the dataset (use a theory that does, or drop the dataset)"
        )
    return meta


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


EKO_FILE = "eko.tar"


def load_nnpdf_theory(
    folder: str | Path,
    theoryid: int | str,
    datasets: Sequence[tuple[str, str | None]] = (),
    positivity: Sequence[str] = (),
    integrability: Sequence[str] = (),
) -> Theory:
    """The observables a runcard needs from the NNPDF theory folder ``folder`` (``theory_N/``).

    ``datasets`` are ``(name, variant)``; the x grid is the union of every table's grid. NNPDF
    folders carry no t0 PDF of ours (``datacuts.t0pdfset`` must name one) and their evolution
    (``eko.tar``) is not read yet: such a theory fits and writes exportgrids, not LHAPDF sets,
    unless the folder has our ``n3fit_gpu_evolution.json`` (:mod:`.nnpdf_export`), which lends
    it a shipped theory's evolution, card and x grid (its tables' nodes must lie on it).
    """
    folder = Path(folder)
    loaded = {
        "datasets": {name: load_dataset_fk(folder, name, variant) for name, variant in datasets},
        "positivity": {name: load_dataset_fk(folder, name) for name in positivity},
        "integrability": {name: load_dataset_fk(folder, name) for name in integrability},
    }
    tables = [t for group in loaded.values() for d in group.values() for t in d.tables]
    if not tables:
        raise TheoryError(f"{folder}: the runcard asks for no dataset of this theory")
    q0s = sorted({round(t.q0, 10) for t in tables})
    if len(q0s) > 1:
        raise TheoryError(f"{folder}: FK tables at different Q0 {q0s}; use one theory's tables")
    xgrid = common_xgrid(tables)
    link = read_evolution_link(folder, q0s[0], xgrid)
    evolution = {"no_evolution": _no_evolution(folder, theoryid)} if link is None else link[0]
    xgrid = xgrid if link is None else link[1]
    kinds = {"hadronic" if t.hadronic else "DIS" for t in tables}
    metadata = {
        "name": folder.name,
        "theoryid": theoryid,
        "theory_card": _theory_card(theoryid),
        "q0": q0s[0],
        "observables": " + ".join(sorted(kinds)),
        "nnpdf_folder": str(folder),
        **evolution,
    }
    card = metadata["theory_card"]
    groups = {
        group: {name: _observable(d, xgrid) for name, d in members.items()}
        for group, members in loaded.items()
    }
    return Theory(
        name=folder.name,
        theoryid=theoryid,
        path=folder,
        q0=q0s[0],
        xgrid=xgrid,
        basis=BASIS,
        theory_card=card,
        cuts={},
        metadata=metadata,
        **groups,
    )


def _observable(dataset_fk: DatasetFK, xgrid: np.ndarray) -> Observable:
    """A :class:`DatasetFK` as kernels on ``xgrid``, each with the points its rows predict."""
    operands = []
    for operand in dataset_fk.operands:
        offsets = np.cumsum([0, *(t.ndata for t in operand.tables)])
        operands.append(
            tuple(
                (hadronic if t.hadronic else dis).from_fk_table(t, xgrid, operand.rows[a:b])
                for t, a, b in zip(operand.tables, offsets[:-1], offsets[1:])
            )
        )
    return Observable(dataset_fk.name, dataset_fk.operation, tuple(operands))


def _theory_card(theoryid) -> dict:
    """nnpdf-data's theory card ``theory_cards/<id>.yaml`` (empty if it ships none)."""
    import yaml

    path = Path(nnpdf_data.__file__).parent / "theory_cards" / f"{theoryid}.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def _no_evolution(folder: Path, theoryid) -> str:
    """Why an NNPDF folder without our evolution link writes no LHAPDF set."""
    if (folder / EKO_FILE).is_file():
        return (
            f"theory {theoryid} ({folder}) has an {EKO_FILE} but reading EKOs is not supported yet"
        )
    return (
        f"theory {theoryid} ({folder}) has no {EKO_FILE} (NNPDF's evolution operator): "
        "download it with `vp-get theoryID` or add it to the folder"
    )
