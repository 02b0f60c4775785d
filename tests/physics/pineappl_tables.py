"""Tiny PineAPPL FK tables written by the tests, and the toy PDFs they are convolved with.

What is built is a genuine FK table as pineko writes one: a PineAPPL grid with one
perturbative order (0, 0, 0, 0, 0), one factorisation-scale node at Q0², the given channels
(evolution-basis ids by default, as pineko's tables; PDG ids on request), the given weights on
f at the x nodes (``ImportSubgridV1``), bins of unequal widths (so the bin normalisation
matters), converted by PineAPPL's own ``FkTable(grid)`` (which checks what makes an FK table)
and written with ``write_lz4``. Only the evolution itself is skipped: the weights are chosen,
not computed from a grid and an EKO.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pineappl.boc import BinsWithFillLimits, Channel, Kinematics, Order, ScaleFuncForm, Scales
from pineappl.convolutions import Conv, ConvType
from pineappl.fk_table import FkTable
from pineappl.grid import Grid
from pineappl.pids import PidBasis
from pineappl.subgrid import ImportSubgridV1

from n3fit_gpu.physics.nnpdf_layout import interpolation
from n3fit_gpu.physics.theory import BASIS, Q0_PIDS, evolution_rotation
from n3fit_gpu.physics.toy_pdf import toy_xf_flavour

Q0 = 1.65
# evolution-basis channels: (b, a) beside (a, b), ids that fold at Q0 (T24, T35), the photon
HADRONIC = [(100, 21), (21, 100), (21, 21), (200, 203), (124, 135), (103, 22), (215, 108)]
XGRID = np.geomspace(1e-5, 0.9, 8)


def proton(polarized: bool = False) -> Conv:
    return Conv(convolution_types=ConvType(polarized=polarized, time_like=False), pid=2212)


def build_grid(
    channels: list[tuple[int, ...]],
    weights: np.ndarray,
    *,
    scales: tuple[float, ...] = (Q0**2,),
    orders: int = 1,
    pdg: bool = False,
    polarized: bool = False,
    xgrid: np.ndarray = XGRID,
) -> Grid:
    """A grid with ``weights`` ``(orders, n, c, len(scales), nx[, nx])`` on f, at ``xgrid``."""
    nconv = len(channels[0])
    n = weights.shape[1]
    grid = Grid(
        pid_basis=PidBasis.Pdg if pdg else PidBasis.Evol,
        channels=[Channel([(list(ids), 1.0)]) for ids in channels],
        orders=[Order(k, 0, 0, 0, 0) for k in range(orders)],
        bins=BinsWithFillLimits.from_fill_limits(
            fill_limits=list(np.cumsum([0.0, *range(1, n + 1)]))
        ),
        convolutions=[proton(polarized)] * nconv,
        interpolations=[interpolation(1.0, 1e4)] + [interpolation(1e-6, 1.0)] * nconv,
        kinematics=[Kinematics.Scale(0)] + [Kinematics.X(k) for k in range(nconv)],
        scale_funcs=Scales(
            ren=ScaleFuncForm.Scale(0), fac=ScaleFuncForm.Scale(0), frg=ScaleFuncForm.NoScale(0)
        ),
    )
    nodes = [np.array(scales)] + [np.asarray(xgrid, dtype=float)] * nconv
    for o, b, c in np.ndindex(weights.shape[:3]):
        subgrid = ImportSubgridV1(array=weights[o, b, c], node_values=nodes)
        grid.set_subgrid(o, b, c, subgrid.into())
    return grid


def write_fk(path: Path, channels: list[tuple[int, ...]], weights: np.ndarray, **kw) -> Path:
    """``weights`` ``(n, c, nx[, nx])`` as an FK table file ``path`` (``.pineappl.lz4``)."""
    FkTable(build_grid(channels, weights[None, :, :, None], **kw)).write_lz4(str(path))
    return path


def random_weights(rng, n: int, c: int, hadronic: bool, first: int = 2) -> np.ndarray:
    """``(n, c, nx[, nx])`` weights, zero on the x nodes below ``first`` (unused small x)."""
    nx = len(XGRID)
    w = rng.normal(size=(n, c, nx, nx) if hadronic else (n, c, nx))
    w[:, :, :first] = 0.0
    if hadronic:
        w[..., :first] = 0.0
    return w


def replica_pdf(r: int):
    """``x -> {pid: x f}`` of replica ``r``: the toy PDF times a replica- and flavour-dependent
    factor (replica 0 is the toy itself)."""

    def flavours(x: np.ndarray) -> dict[int, np.ndarray]:
        return {
            pid: xf * (1 + 0.1 * r * np.sin(pid + 0.3 * r)) for pid, xf in toy_xf_flavour(x).items()
        }

    return flavours


def stacked_xf(replicas: int) -> np.ndarray:
    """``(R, nx, 9)``: x f of replicas ``0..R-1`` on ``XGRID`` in ``BASIS``."""
    return np.stack([xf_basis(replica_pdf(r)(XGRID)) for r in range(replicas)])


def xf_basis(flavours: dict[int, np.ndarray]) -> np.ndarray:
    """``(nx, 9)``: x f in ``BASIS`` from x f per PDG id (b, t and the photon are zero)."""
    stacked = np.stack([flavours[pid] for pid in Q0_PIDS])
    return (evolution_rotation(BASIS) @ stacked).T


def xfx(flavours_of_x):
    """PineAPPL's LHAPDF-like callable ``(pid, x, q2) -> x f`` from ``x -> {pid: x f}``."""

    def call(pid: int, x: float, _q2: float) -> float:
        value = flavours_of_x(np.array([x])).get(pid)
        return 0.0 if value is None else float(value[0])

    return call


def pineappl_predictions(path, replicas: int) -> np.ndarray:
    """``(R, n)``: PineAPPL's ``convolve`` of the file with each replica's PDF."""
    fk = FkTable.read(str(path))
    nconv = len(fk.convolutions)
    return np.stack(
        [
            fk.convolve(pdg_convs=[proton()] * nconv, xfxs=[xfx(replica_pdf(r))] * nconv)
            for r in range(replicas)
        ]
    )
