"""NNPDF's exportgrid: one replica's PDF at Q0 on 196 x points, 14 flavours (YAML).

Keys: ``labels`` (TBAR … T, PHT), ``pdfgrid`` (196 rows × 14 columns of x·f), ``q20`` (Q0² in
GeV²), ``replica``, ``xgrid``. The x grid is 120 points log-spaced on [1e-9, 0.1) and 76
points linear on [0.1, 1), the same split between the small-x and large-x regions NNPDF uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from n3fit_gpu.atomic import atomic_write_text
from n3fit_gpu.physics.theory import Q0_PIDS, evolution_rotation

EXPORT_LABELS = (
    "TBAR", "BBAR", "CBAR", "SBAR", "UBAR", "DBAR", "GLUON", "D", "U", "S", "C", "B", "T", "PHT",
)  # fmt: skip
FLAVOUR_PIDS = dict(zip(EXPORT_LABELS, (-6, -5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5, 6, 22)))
EXPORT_XGRID = np.concatenate(
    [np.geomspace(1e-9, 0.1, 120, endpoint=False), np.linspace(0.1, 1.0, 76, endpoint=False)]
)


@dataclass(frozen=True)
class ExportGrid:
    """A read exportgrid: ``pdfgrid`` is ``(nx, 14)``."""

    xgrid: np.ndarray
    labels: tuple[str, ...]
    pdfgrid: np.ndarray
    q20: float
    replica: int


def evolution_to_flavour(xf_evol: np.ndarray, basis: Sequence[str]) -> np.ndarray:
    """x·f in the 9-label evolution basis ``(..., 9, nx)`` → ``(..., 14, nx)``, EXPORT_LABELS order.

    Inverts the fixed rotation of :func:`n3fit_gpu.physics.theory.evolution_rotation`
    (symmetric charm, no b, t or photon at Q0: those columns are zero).
    """
    inverse = np.linalg.inv(evolution_rotation(basis))  # (pids, basis)
    flavours = np.einsum("pb,...bx->...px", inverse, xf_evol)
    out = np.zeros(xf_evol.shape[:-2] + (len(EXPORT_LABELS), xf_evol.shape[-1]))
    for p, pid in enumerate(Q0_PIDS):
        out[..., EXPORT_LABELS.index(_label(pid)), :] = flavours[..., p, :]
    return out


def _label(pid: int) -> str:
    return next(label for label, p in FLAVOUR_PIDS.items() if p == pid)


def write_exportgrid(path: str | Path, xf: np.ndarray, q20: float, replica: int) -> Path:
    """Write ``xf`` ``(196, 14)`` (x·f on EXPORT_XGRID, EXPORT_LABELS order) atomically."""
    if xf.shape != (EXPORT_XGRID.size, len(EXPORT_LABELS)):
        raise ValueError(
            f"exportgrid needs shape {(EXPORT_XGRID.size, len(EXPORT_LABELS))}, got {xf.shape}"
        )
    document = {
        "labels": list(EXPORT_LABELS),
        "pdfgrid": [[float(v) for v in row] for row in xf],
        "q20": float(q20),
        "replica": int(replica),
        "xgrid": [float(x) for x in EXPORT_XGRID],
    }
    return atomic_write_text(path, yaml.safe_dump(document, default_flow_style=None, width=10_000))


def read_exportgrid(path: str | Path) -> ExportGrid:
    """Read an exportgrid written by us or by NNPDF's n3fit."""
    with open(path, encoding="utf-8") as handle:
        doc = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return ExportGrid(
        xgrid=np.asarray(doc["xgrid"], dtype=float),
        labels=tuple(doc["labels"]),
        pdfgrid=np.asarray(doc["pdfgrid"], dtype=float),
        q20=float(doc["q20"]),
        replica=int(doc["replica"]),
    )
