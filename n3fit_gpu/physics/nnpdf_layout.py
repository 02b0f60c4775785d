"""Write FK tables as an NNPDF theory folder: ``theory_<ID>/fastkernel/<TABLE>.pineappl.lz4``.

The reader side is :mod:`.nnpdf_theory` (which tables a dataset needs, from nnpdf-data) and
:mod:`.pineappl_fk` (one file into our basis). This module writes what both read: a genuine
PineAPPL FK table (one perturbative order (0, 0, 0, 0, 0), one factorisation scale Q0², the
given channels, weights on f at the x nodes), converted by PineAPPL's own ``FkTable(grid)``,
which checks what makes an FK table, and written with ``write_lz4``.

Tables hold one row per data point of the dataset, in commondata order, as NNPDF's do (cuts
are applied after the convolution). Bins are the point indices ``[k, k + 1)``: width 1, so
PineAPPL's bin normalisation divides by one. A builder that computes only some points of a
dataset (:func:`expand_rows`) leaves the others as zero rows and must say which.

n3fit_gpu's own theory ids (never an NNPDF number) start with 9: no NNPDF theory card in
nnpdf-data 4.1.5 does (:data:`N3FIT_GPU_THEORY_ID`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXTENSION = "pineappl.lz4"
PROTON = 2212
N3FIT_GPU_THEORY_ID = 90000001  # DIS (card 40000000, NLO, ZM-VFNS, overrides) + E866 DY (LO)


def fastkernel_path(theory: str | Path, table: str) -> Path:
    """``theory/fastkernel/<table>.pineappl.lz4``."""
    return Path(theory) / "fastkernel" / f"{table}.{EXTENSION}"


def expand_rows(table: np.ndarray, rows: np.ndarray, ndata: int) -> np.ndarray:
    """``table`` ``(k, ...)`` placed at ``rows`` of a zero ``(ndata, ...)`` array."""
    out = np.zeros((ndata, *table.shape[1:]), dtype=table.dtype)
    out[np.asarray(rows)] = table
    return out


def write_fk_table(
    path: str | Path,
    table: np.ndarray,
    channels: Sequence[tuple[int, ...]],
    xgrid: np.ndarray,
    q0: float,
    evolution_ids: bool = True,
) -> Path:
    """Write ``table`` as a PineAPPL FK table at ``path`` (its folder is created).

    Parameters
    ----------
    table : np.ndarray
        ``(n, c, nx)`` (DIS) or ``(n, c, nx, nx)`` (hadronic): weights on the PDFs f (not x f)
        of the proton at ``q0`` on ``xgrid``, one row per point; PineAPPL's convolution is
        ``sum table[n, c, i(, j)] f_a(x_i) (f_b(x_j))``.
    channels : sequence of tuple of int
        ``(a,)`` or ``(a, b)`` per column ``c``: evolution-basis ids (pineko's choice) or PDG
        ids (``evolution_ids=False``).
    """
    from pineappl.fk_table import FkTable

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = _grid(
        np.asarray(table, dtype=np.float64), channels, np.asarray(xgrid), q0, evolution_ids
    )
    FkTable(grid).write_lz4(str(path))
    return path


def proton_conv():
    """PineAPPL's convolution with the unpolarised proton PDF (what our reader accepts)."""
    from pineappl.convolutions import Conv, ConvType

    return Conv(convolution_types=ConvType(polarized=False, time_like=False), pid=PROTON)


def empty_grid(
    channels: list, nbins: int, nconv: int, evolution_ids: bool, q2min: float, xmin: float
):
    """A PineAPPL grid of one order (0, 0, 0, 0, 0), ``nbins`` bins ``[k, k + 1)``, no subgrids.

    ``channels`` are PineAPPL ``Channel`` entries, ``[[(ids, factor), ...], ...]``; the
    convolutions are the proton's; mu_F = mu_R = the scale node. Callers set every subgrid
    on its own nodes (``ImportSubgridV1``), so the interpolation settings are only recorded.
    """
    from pineappl.boc import BinsWithFillLimits, Channel, Kinematics, Order, ScaleFuncForm, Scales
    from pineappl.grid import Grid
    from pineappl.pids import PidBasis

    return Grid(
        pid_basis=PidBasis.Evol if evolution_ids else PidBasis.Pdg,
        channels=[Channel(entries) for entries in channels],
        orders=[Order(0, 0, 0, 0, 0)],
        bins=BinsWithFillLimits.from_fill_limits(fill_limits=[float(k) for k in range(nbins + 1)]),
        convolutions=[proton_conv()] * nconv,
        interpolations=[interpolation(q2min, q2min * 1e4)] + [interpolation(xmin, 1.0)] * nconv,
        kinematics=[Kinematics.Scale(0)] + [Kinematics.X(k) for k in range(nconv)],
        scale_funcs=Scales(
            ren=ScaleFuncForm.Scale(0), fac=ScaleFuncForm.Scale(0), frg=ScaleFuncForm.NoScale(0)
        ),
    )


def _grid(table: np.ndarray, channels, xgrid: np.ndarray, q0: float, evolution_ids: bool):
    from pineappl.subgrid import ImportSubgridV1

    nconv = table.ndim - 2
    if len(channels) != table.shape[1] or any(len(c) != nconv for c in channels):
        raise ValueError(f"{len(channels)} channels of {nconv} ids for a table {table.shape}")
    entries = [[(list(ids), 1.0)] for ids in channels]
    grid = empty_grid(entries, table.shape[0], nconv, evolution_ids, q0**2, float(xgrid[0]))
    nodes = [np.array([q0**2])] + [xgrid] * nconv
    for n, c in np.ndindex(table.shape[:2]):
        if np.any(table[n, c]):
            subgrid = ImportSubgridV1(array=table[n, c][None], node_values=nodes)
            grid.set_subgrid(0, n, c, subgrid.into())
    return grid


def interpolation(lo: float, hi: float):
    """Interpolation settings the grid records (unused: subgrids are set on their nodes)."""
    from pineappl.interpolation import (
        Interp,
        InterpolationMethod,
        MappingMethod,
        ReweightingMethod,
    )

    return Interp(
        min=lo,
        max=hi,
        nodes=20,
        order=3,
        reweight_meth=ReweightingMethod.NoReweight,
        map=MappingMethod.ApplGridH0,
        interpolation_meth=InterpolationMethod.Lagrange,
    )
