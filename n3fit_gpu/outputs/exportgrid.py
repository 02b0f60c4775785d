"""NNPDF's exportgrid: one replica's PDF at Q0 on 196 x points, 14 flavours (YAML).

A file holds the keys ``labels`` (``EXPORT_LABELS``), ``pdfgrid`` (196 rows, one per x, of 14
columns of x·f in label order), ``q20`` (Q0² in GeV²), ``replica`` and ``xgrid`` — the layout
NNPDF's n3fit writes and its evolution step (evolven3fit) reads, so either side reads the other.

``EXPORT_XGRID`` is NNPDF's grid, rebuilt from its definition (the "APPLgrid" prescription):
196 points equally spaced in y(x) = ln(1/x) + 30 (1 − x), from x = 1e-9 to x = 1 inclusive.
That is roughly log-spaced below x ≈ 0.03 and linear above; it matches NNPDF's tabulated
values to ~1e-14 relative. The last point is x = 1, where a PDF vanishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from n3fit_gpu.atomic import atomic_write_text
from n3fit_gpu.errors import OutputError
from n3fit_gpu.physics.theory import Q0_PIDS, evolution_rotation

EXPORT_LABELS: tuple[str, ...] = (
    "TBAR", "BBAR", "CBAR", "SBAR", "UBAR", "DBAR", "GLUON", "D", "U", "S", "C", "B", "T", "PHT",
)  # fmt: skip
FLAVOUR_PIDS: dict[str, int] = dict(
    zip(EXPORT_LABELS, (-6, -5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5, 6, 22), strict=True)
)
_KEYS = ("labels", "pdfgrid", "q20", "replica", "xgrid")


def applgrid_xgrid(npoints: int, xmin: float, a: float = 30.0) -> np.ndarray:
    """x points equally spaced in y(x) = ln(1/x) + a (1 − x), from ``xmin`` to 1 inclusive.

    y is strictly decreasing in x, so each point is found by bisection in ln x (64 halvings of
    an interval of length |ln xmin| leave an error far below float64 resolution).

    Returns
    -------
    np.ndarray
        (npoints,) strictly increasing, first ``xmin``, last 1.
    """
    log_min = np.log(xmin)
    targets = np.linspace(-log_min + a * (1 - xmin), 0.0, npoints)
    lo, hi = np.full(npoints, log_min), np.zeros(npoints)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        above = -mid + a * (1 - np.exp(mid)) > targets  # y(mid) > target: the root is right
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    xgrid = np.exp(0.5 * (lo + hi))
    xgrid[0], xgrid[-1] = xmin, 1.0
    return xgrid


EXPORT_XGRID: np.ndarray = applgrid_xgrid(196, 1e-9)


@dataclass(frozen=True)
class ExportGrid:
    """One replica's exportgrid as read from disk.

    Attributes
    ----------
    xgrid : np.ndarray
        (nx,) x points.
    labels : tuple[str, ...]
        flavour of each column of ``pdfgrid``.
    pdfgrid : np.ndarray
        (nx, nlabels) x·f at Q0.
    q20 : float
        Q0² in GeV².
    replica : int
        replica number.
    """

    xgrid: np.ndarray
    labels: tuple[str, ...]
    pdfgrid: np.ndarray
    q20: float
    replica: int


def evolution_to_flavour(xf_evol: np.ndarray, basis: Sequence[str]) -> np.ndarray:
    """Rotate x·f from the 9-label evolution basis to the 14 exportgrid flavours.

    The evolution basis at Q0 (symmetric charm, no b, t or photon) is
    Σ = Σq⁺, V = Σq⁻, V3 = u⁻ − d⁻, V8 = u⁻ + d⁻ − 2s⁻, V15 = u⁻ + d⁻ + s⁻ − 3c⁻,
    T3 = u⁺ − d⁺, T8 = u⁺ + d⁺ − 2s⁺, T15 = u⁺ + d⁺ + s⁺ − 3c⁺ (q± = q ± q̄, q over u d s c),
    and g; this inverts that fixed 9×9 map (:func:`n3fit_gpu.physics.theory.evolution_rotation`).

    Parameters
    ----------
    xf_evol : np.ndarray
        (..., 9, nx) x·f in the order of ``basis``.
    basis : Sequence[str]
        the 9 labels "sigma", "g", "v", "v3", "v8", "v15", "t3", "t8", "t15" in any order.

    Returns
    -------
    np.ndarray
        (..., 14, nx) x·f in ``EXPORT_LABELS`` order; TBAR, BBAR, B, T and PHT are zero.
    """
    rotation = evolution_rotation(basis)  # (basis, Q0_PIDS)
    if rotation.shape != (len(Q0_PIDS), len(Q0_PIDS)) or xf_evol.shape[-2] != len(basis):
        raise ValueError(
            f"need x·f (..., {len(Q0_PIDS)}, nx) in a basis of {len(Q0_PIDS)} labels; "
            f"got {xf_evol.shape} for basis {tuple(basis)}"
        )
    flavours = np.einsum("pb,...bx->...px", np.linalg.inv(rotation), xf_evol)
    out = np.zeros(xf_evol.shape[:-2] + (len(EXPORT_LABELS), xf_evol.shape[-1]))
    pid_to_label = {pid: label for label, pid in FLAVOUR_PIDS.items()}
    for p, pid in enumerate(Q0_PIDS):
        out[..., EXPORT_LABELS.index(pid_to_label[pid]), :] = flavours[..., p, :]
    return out


def write_exportgrid(path: str | Path, xf: np.ndarray, q20: float, replica: int) -> Path:
    """Write one replica's exportgrid atomically.

    Parameters
    ----------
    path : str | Path
        target file, by NNPDF's convention ``nnfit/replica_<N>/<fitname>.exportgrid``.
    xf : np.ndarray
        (196, 14) x·f on ``EXPORT_XGRID`` (rows) for ``EXPORT_LABELS`` (columns).
    q20 : float
        Q0² in GeV².
    replica : int
        replica number.
    """
    expected = (EXPORT_XGRID.size, len(EXPORT_LABELS))
    if np.shape(xf) != expected:
        raise ValueError(f"exportgrid x·f must have shape {expected}; got {np.shape(xf)}")
    document = {
        "labels": list(EXPORT_LABELS),
        "pdfgrid": np.asarray(xf, dtype=float).tolist(),
        "q20": float(q20),
        "replica": int(replica),
        "xgrid": EXPORT_XGRID.tolist(),
    }
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(document, Dumper=dumper, default_flow_style=None, width=1 << 16)
    return atomic_write_text(path, text)


def read_exportgrid(path: str | Path) -> ExportGrid:
    """Read an exportgrid written by us or by NNPDF's n3fit.

    Raises
    ------
    OutputError
        the file is not an exportgrid (missing keys or inconsistent shapes).
    """
    with open(path, encoding="utf-8") as handle:
        doc = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    missing = [key for key in _KEYS if not isinstance(doc, dict) or key not in doc]
    if missing:
        raise OutputError(f"{path} is not an exportgrid: missing {missing}; rewrite the replica")
    grid = ExportGrid(
        xgrid=np.asarray(doc["xgrid"], dtype=float),
        labels=tuple(doc["labels"]),
        pdfgrid=np.asarray(doc["pdfgrid"], dtype=float),
        q20=float(doc["q20"]),
        replica=int(doc["replica"]),
    )
    if grid.pdfgrid.shape != (grid.xgrid.size, len(grid.labels)):
        raise OutputError(
            f"{path}: pdfgrid has shape {grid.pdfgrid.shape}, expected (len(xgrid), len(labels))"
            f" = {(grid.xgrid.size, len(grid.labels))}; rewrite the replica"
        )
    return grid
