"""Read a PineAPPL FK table (``<name>.pineappl.lz4``, as NNPDF theories ship them) into our basis.

A PineAPPL FK table holds ``table[n, c, i(, j)]``, weights on the PDFs f (not x f) of the
file's channels ``c`` (one PDG or evolution-basis id per convolution), on the table's x grid;
PineAPPL's own prediction divides by the bin normalisation (the bin width):
``sigma[n] = sum table[n, c, i, j] f_p(x_i) f_q(x_j) / norm[n]``.

:func:`read_fk_table` turns it into our conventions (``theory.py``): weights on ``x f`` at Q0 in
the 9-flavour evolution basis ``BASIS`` (fitted charm; no bottom, top or photon at Q0), so::

    DIS       pred[n] = sum_{c,i}   table[n, c, i]    xf[i, a_c]
    hadronic  pred[n] = sum_{c,i,j} table[n, c, i, j] xf[i, a_c] xf[j, b_c]

with ``channels[c] = (a_c,)`` or ``(a_c, b_c)`` indices into ``BASIS``. The file's channels
are folded into these: an evolution-basis id maps to one label (T24 = T35 = Sigma and
V24 = V35 = V when b = t = 0), a PDG id to its row of the inverse of
:func:`~.theory.evolution_rotation`; ids that vanish at Q0 (b, t, photon) drop out. For two
identical protons, pair (b, a) is added to (a, b) with its x axes swapped, so only ``a <= b``
remains: at most 45 pairs instead of 81, each a dense ``(n, nx, nx)`` block.

A DIS table's :meth:`FKTable.dense` ``(n, 9, nx)`` is the layout of our own theories
(``theory.py``), so it can also go through :class:`~.convolution.FKConvolution`; hadronic
tables go through :mod:`.channel_convolution`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import numpy as np

from n3fit_gpu.errors import TheoryError, TheoryNotFoundError
from n3fit_gpu.physics.theory import BASIS, Q0_PIDS, evolution_rotation

PROTON = 2212
# PineAPPL's evolution-basis ids -> our label, at Q0 where b = bbar = t = tbar = 0
EVOL_IDS: dict[int, str] = {
    **dict.fromkeys((100, 124, 135), "sigma"),
    **dict.fromkeys((200, 224, 235), "v"),
    21: "g",
    203: "v3",
    208: "v8",
    215: "v15",
    103: "t3",
    108: "t8",
    115: "t15",
}
VANISHING_IDS = (22, 5, -5, 6, -6)  # the photon, bottom and top: zero at Q0 in a QCD fit
PINEKO_HINT = "evolve it with pineko (`pineko theory fks THEORY DATASET`)"


@dataclass(frozen=True)
class FKTable:
    """One FK table in our basis and x f convention (see the module docstring).

    Attributes
    ----------
    name : str
        the file name without ``.pineappl.lz4``.
    xgrid : np.ndarray
        ``(nx,)`` the table's x nodes, increasing.
    channels : np.ndarray
        ``(c, 1)`` (DIS) or ``(c, 2)`` (hadronic, ``a <= b``) int indices into ``BASIS``.
    table : np.ndarray
        ``(n, c, nx)`` or ``(n, c, nx, nx)`` weights on x f, bin normalisation divided out.
    q0 : float
        the scale of the PDFs the table takes, in GeV.
    """

    name: str
    xgrid: np.ndarray
    channels: np.ndarray
    table: np.ndarray
    q0: float

    @property
    def hadronic(self) -> bool:
        """True for two convolutions (pp), False for one (DIS)."""
        return self.channels.shape[1] == 2

    @property
    def ndata(self) -> int:
        """The number of bins (rows)."""
        return self.table.shape[0]

    def dense(self) -> np.ndarray:
        """``(n, 9, nx)`` or ``(n, 9, nx, 9, nx)``: the table on every flavour (pair)."""
        n, nb, nx = self.ndata, len(BASIS), len(self.xgrid)
        if not self.hadronic:
            out = np.zeros((n, nb, nx))
            np.add.at(out, (slice(None), self.channels[:, 0]), self.table)
            return out
        out = np.zeros((n, nb, nb, nx, nx))
        np.add.at(out, (slice(None), self.channels[:, 0], self.channels[:, 1]), self.table)
        return out.transpose(0, 1, 3, 2, 4)


def id_weights(pid: int, evolution_ids: bool) -> np.ndarray:
    """``(9,)``: the file's parton ``pid`` at Q0 as a combination of ``BASIS`` (x f of each)."""
    weights = np.zeros(len(BASIS))
    if pid in VANISHING_IDS:
        return weights
    if evolution_ids:
        if pid not in EVOL_IDS:
            raise ValueError(f"unknown evolution-basis id {pid}")
        weights[BASIS.index(EVOL_IDS[pid])] = 1.0
        return weights
    if pid not in Q0_PIDS:
        raise ValueError(f"unknown PDG id {pid}")
    row = np.linalg.inv(evolution_rotation(BASIS))[Q0_PIDS.index(pid)]
    return np.where(np.abs(row) < 1e-12, 0.0, row)  # exact rationals (1/2, 1/12...), no dust


def fold_channels(
    table: np.ndarray, pids: list[tuple[int, ...]], evolution_ids: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The file's channels ``(n, c, nx[, nx])`` -> ``(channels, table)`` over ``BASIS`` pairs."""
    blocks: dict[tuple[int, ...], np.ndarray] = {}
    for column, ids in enumerate(pids):
        coefficient = reduce(np.multiply.outer, [id_weights(p, evolution_ids) for p in ids])
        for flavours in zip(*np.nonzero(coefficient)):
            block = coefficient[flavours] * table[:, column]
            if len(flavours) == 2 and flavours[0] > flavours[1]:
                flavours, block = flavours[::-1], block.swapaxes(1, 2)
            key = tuple(int(f) for f in flavours)
            blocks[key] = blocks[key] + block if key in blocks else block
    keys = sorted(blocks)
    width = len(pids[0]) if pids else 1
    channels = np.array(keys, dtype=np.int64).reshape(len(keys), width)
    stacked = np.stack([blocks[k] for k in keys], axis=1) if keys else table[:, :0]
    return channels, stacked


def read_fk_table(path: str | Path) -> FKTable:
    """Read ``path`` (a PineAPPL FK table, e.g. ``fastkernel/NAME.pineappl.lz4``) into our basis.

    Raises
    ------
    TheoryNotFoundError
        the file does not exist.
    TheoryError
        not a PineAPPL file, a grid that is not evolved, or a convolution other than the
        unpolarised proton PDF (one for DIS, two for hadronic observables).
    """
    from pineappl.pids import PidBasis

    path = Path(path)
    if not path.is_file():
        raise TheoryNotFoundError(
            f"{path}: no such FK table; NNPDF theories keep them as "
            "theory_N/fastkernel/NAME.pineappl.lz4 (check the theory folder and the table name)"
        )
    fk = _open(path)
    _check_convolutions(path, fk.convolutions)
    pids = [tuple(int(p) for p in c) for c in fk.channels()]
    xgrid = np.asarray(fk.x_grid(), dtype=np.float64)
    raw = np.asarray(fk.table(), dtype=np.float64)
    norm = np.asarray(fk.bin_normalizations(), dtype=np.float64)
    hadronic = len(fk.convolutions) == 2
    if hadronic:
        raw = raw / np.multiply.outer(xgrid, xgrid)
    else:
        raw = raw.reshape(raw.shape[:3]) / xgrid  # PineAPPL may keep a length-1 x2 axis
    raw = raw / norm.reshape(-1, *[1] * (raw.ndim - 1))
    evolution_ids = fk.pid_basis == PidBasis.Evol
    try:
        channels, table = fold_channels(raw, pids, evolution_ids)
    except ValueError as error:
        raise TheoryError(f"{path}: {error} in its channels; {PINEKO_HINT}") from None
    name = path.name.removesuffix(".lz4").removesuffix(".pineappl")
    return FKTable(name, xgrid, channels, table, float(np.sqrt(fk.fac0())))


def _open(path: Path):
    """``pineappl.fk_table.FkTable`` of ``path``, or a one-line TheoryError saying why not."""
    from pineappl.fk_table import FkTable  # the [theory] extra: imported only when reading
    from pineappl.grid import Grid

    try:
        return FkTable.read(str(path))
    except BaseException as error:
        reason = _reason(error)
    try:
        grid = Grid.read(str(path))
    except BaseException as error:
        raise TheoryError(
            f"{path}: not a PineAPPL file ({_reason(error)}); download the theory again or "
            f"rebuild the table ({PINEKO_HINT})"
        ) from None
    orders = [o.as_tuple() for o in grid.orders()]
    raise TheoryError(
        f"{path}: a PineAPPL grid, not an FK table ({len(orders)} perturbative orders; {reason}); "
        f"{PINEKO_HINT}"
    )


def _reason(error: BaseException) -> str:
    """First line of a PineAPPL failure; re-raises anything else (Ctrl-C, SystemExit).

    PineAPPL's Rust panics reach Python as pyo3's ``PanicException``, a BaseException.
    """
    if not isinstance(error, Exception) and type(error).__name__ != "PanicException":
        raise error
    return (str(error).splitlines() or [type(error).__name__])[0]


def _check_convolutions(path: Path, convolutions) -> None:
    """One or two convolutions, each with the unpolarised PDF of a proton (as validphys)."""
    if len(convolutions) not in (1, 2):
        raise TheoryError(
            f"{path}: {len(convolutions)} convolutions; only DIS (1) and hadronic (2) tables "
            "are supported"
        )
    for k, conv in enumerate(convolutions):
        kind = conv.convolution_types
        if kind.polarized or kind.time_like or conv.pid != PROTON:
            what = "polarised PDF" if kind.polarized else "PDF"
            what = "fragmentation function" if kind.time_like else what
            raise TheoryError(
                f"{path}: convolution {k} is the {what} of hadron {conv.pid}; only unpolarised "
                f"proton PDFs ({PROTON}) are supported"
            )
