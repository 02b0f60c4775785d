"""Per-replica fit record in NNPDF's ``<name>.json`` format (plus our status, replica, seed)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_write_json


@dataclass(frozen=True)
class ReplicaFitInfo:
    """NNPDF's per-replica fields; ``status`` is ``ok`` or ``failed:<reason>``."""

    preprocessing: list[dict]
    stop_epoch: int
    best_epoch: int
    erf_tr: float
    erf_vl: float
    chi2: float
    pos_state: str
    arc_lengths: list[float]
    integrability: list[float]
    timing: dict
    status: str = "ok"
    replica: int = 0
    seed: int = 0
    extra: dict = field(default_factory=dict)


def write_replica_json(path: str | Path, info: ReplicaFitInfo) -> Path:
    """Write ``info`` atomically."""
    return atomic_write_json(path, asdict(info))


def read_replica_json(path: str | Path) -> ReplicaFitInfo:
    """Read a record written by :func:`write_replica_json`."""
    with open(path, encoding="utf-8") as handle:
        return ReplicaFitInfo(**json.load(handle))


def arc_length(xgrid: np.ndarray, xf: np.ndarray, xmin: float = 1e-6) -> list[float]:
    """Arc length of each flavour's x·f curve ``(nfl, nx)`` over ``x ∈ [xmin, 1)``.

    The length of the curve (x, x·f(x)) is a measure of how wiggly a replica is (NNPDF uses
    it to veto replicas with unphysical oscillations).
    """
    keep = xgrid >= xmin
    x, y = xgrid[keep], xf[:, keep]
    return [float(v) for v in np.sum(np.sqrt(np.diff(x) ** 2 + np.diff(y, axis=1) ** 2), axis=1)]
