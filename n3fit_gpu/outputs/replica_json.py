"""Per-replica fit record: NNPDF's ``<fitname>.json`` fields plus our status, replica and seed.

NNPDF's n3fit writes, per replica, ``preprocessing`` (one ``{fl, smallx, largex, trainable}``
per fitted flavour), ``stop_epoch``, ``best_epoch``, ``erf_tr`` and ``erf_vl`` (training and
validation χ²/N), ``chi2`` (χ²/N to the central data), ``pos_state`` (``POS_PASS`` or
``POS_VETO``), ``arc_lengths``, ``integrability`` (NNPDF's integrability numbers, see
:mod:`n3fit_gpu.physics.postfit`), ``timing`` (``{"walltime": {...}}``) and ``version`` (package
→ version, as validphys' ``fit_code_version`` reads it). We add ``status`` (``ok`` or
``failed:<reason>``), ``replica`` and ``seed``. The reader also takes NNPDF's own files: our
three fields get their defaults, keys we do not know (NNPDF's ``hyperparameters``) are skipped.

Arc length
----------
:func:`arc_length` is the length of the curve (x, x·f(x)) for x from 1e-6 to 1, measured as
the polyline through ``ARC_LENGTH_XGRID`` — NNPDF's fine grid: three segments [1e-6, 1e-4],
[1e-4, 1e-2], [1e-2, 1], each cut into 200 equal intervals. A flat x·f gives 1 − 1e-6;
oscillations add to it, which is what an outlier veto on replicas looks for. NNPDF's
validphys integrates 1 + (dy/dx)² instead of the line element √(1 + (dy/dx)²), so its values
are larger than ours for the same PDF: compare arc lengths within one ensemble, not across codes.
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_write_json
from n3fit_gpu.errors import OutputError

POS_STATES = ("POS_PASS", "POS_VETO")
ARC_LENGTH_SEGMENTS = ((1e-6, 1e-4), (1e-4, 1e-2), (1e-2, 1.0))
ARC_LENGTH_INTERVALS = 200
ARC_LENGTH_XGRID: np.ndarray = np.unique(
    np.concatenate([np.linspace(a, b, ARC_LENGTH_INTERVALS + 1) for a, b in ARC_LENGTH_SEGMENTS])
)


@dataclass(frozen=True)
class ReplicaFitInfo:
    """One replica's fit record (NNPDF's json fields, then ours).

    Attributes
    ----------
    preprocessing : list[dict]
        per fitted flavour ``{"fl": str, "smallx": float, "largex": float, "trainable": bool}``.
    stop_epoch, best_epoch : int
        epoch at which training stopped, epoch of the restored (best validation) weights.
    erf_tr, erf_vl : float
        training and validation χ²/N.
    chi2 : float
        χ²/N to the central experimental data.
    pos_state : str
        "POS_PASS" or "POS_VETO".
    arc_lengths : list[float]
        one per flavour, see :func:`arc_length`.
    integrability : list[float]
        integrability numbers, one per constrained flavour.
    timing : dict
        ``{"walltime": {...}}`` seconds spent per stage.
    version : dict
        package → version of the code that fitted the replica (:func:`code_versions`).
    status : str
        "ok" or "failed:<reason>" (e.g. "failed:positivity").
    replica, seed : int
        replica number and the seed its network was initialised with.
    """

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
    version: dict = field(default_factory=dict)
    status: str = "ok"
    replica: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pos_state not in POS_STATES:
            raise ValueError(f"pos_state must be one of {POS_STATES}; got {self.pos_state!r}")
        if self.status != "ok" and not self.status.startswith("failed:"):
            raise ValueError(f"status must be 'ok' or 'failed:<reason>'; got {self.status!r}")


def code_versions(backend: str) -> dict[str, str]:
    """Versions of this package, Keras, the Keras ``backend`` package and NumPy."""
    names = ("n3fit_gpu", "keras", backend, "numpy")
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def write_replica_json(path: str | Path, info: ReplicaFitInfo) -> Path:
    """Write ``info`` as JSON atomically."""
    return atomic_write_json(path, asdict(info))


def read_replica_json(path: str | Path) -> ReplicaFitInfo:
    """Read a record written by :func:`write_replica_json` or by NNPDF's n3fit.

    Raises
    ------
    OutputError
        a required NNPDF field is missing.
    """
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    known = {f.name for f in fields(ReplicaFitInfo)}
    required = {
        f.name
        for f in fields(ReplicaFitInfo)
        if f.name not in ("version", "status", "replica", "seed")
    }
    missing = sorted(required - set(doc))
    if missing:
        raise OutputError(f"{path} is not a replica json: missing {missing}; rerun that replica")
    return ReplicaFitInfo(**{key: value for key, value in doc.items() if key in known})


def arc_length(xgrid: np.ndarray, xf: np.ndarray) -> list[float]:
    """Length of each flavour's curve (x, x·f(x)) over x ∈ [1e-6, 1] (see the module notes).

    Parameters
    ----------
    xgrid : np.ndarray
        (nx,) strictly increasing x points covering [1e-6, 1]; ``ARC_LENGTH_XGRID`` gives the
        exact value, any other grid is interpolated onto it linearly in ln x.
    xf : np.ndarray
        (nfl, nx) x·f on ``xgrid``.

    Returns
    -------
    list[float]
        (nfl,) arc lengths, each ≥ 1 − 1e-6.
    """
    xgrid, xf = np.asarray(xgrid, dtype=float), np.asarray(xf, dtype=float)
    fine = ARC_LENGTH_XGRID
    if xgrid.shape != fine.shape or not np.array_equal(xgrid, fine):
        if xgrid[0] > fine[0] or xgrid[-1] < fine[-1]:
            raise ValueError(
                f"x grid must cover [{fine[0]}, {fine[-1]}]; got [{xgrid[0]}, {xgrid[-1]}]"
            )
        xf = np.stack([np.interp(np.log(fine), np.log(xgrid), row) for row in xf])
    lengths = np.hypot(np.diff(fine), np.diff(xf, axis=1)).sum(axis=1)
    return [float(v) for v in lengths]
