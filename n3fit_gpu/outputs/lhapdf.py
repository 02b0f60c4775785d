"""LHAPDF6 grid sets (``lhagrid1``): ``<set>/<set>.info`` and one ``<set>_NNNN.dat`` per member.

Member 0 is the mean of the replicas, node by node (``PdfType: central``, as NNPDF's sets);
members 1…R are the replicas (``PdfType: replica``); ``ErrorType: replicas``. A member file is
a YAML header, ``---``, then one block per Q subgrid (blocks split at heavy-quark thresholds,
the threshold Q ending one block and starting the next)::

    x_1 ... x_nx              knots in x
    Q_1 ... Q_nq              knots in Q, in GeV (not Q²)
    pid_1 ... pid_np          PDG ids (21 = gluon)
    xf(x_1, Q_1) per pid      one row per (x, Q) node, x outer and Q inner
    xf(x_1, Q_2) per pid
    ...
    ---

Knots are written with 17 significant digits (exact for float64), x·f values with 9 (``%.8e``).
The set is assembled in a hidden staging folder next to the target and renamed into place, so
a reader never sees a mix of an old and a new set (at worst, for an instant, no set).

:func:`read_lhapdf_member` reads one member back (any ``lhagrid1`` set, not only ours): the t0
prescription takes its PDF at Q0 from there, with no LHAPDF library needed.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from n3fit_gpu.atomic import atomic_write_text
from n3fit_gpu.errors import PDFSetError

# keys computed from the grids: an ``info`` mapping may not set them
COMPUTED_KEYS = ("Format", "NumMembers", "Flavors", "ErrorType", "XMin", "XMax", "QMin", "QMax")
DEFAULT_INFO: Mapping[str, object] = {
    "SetDesc": "n3fit_gpu fit",
    "Authors": "n3fit_gpu",
    "Reference": "",
    "DataVersion": 1,
    "Particle": 2212,
    "OrderQCD": 1,
    "FlavorScheme": "variable",
}
_KEY_ORDER = (
    "SetDesc", "SetIndex", "Authors", "Reference", "Format", "DataVersion", "NumMembers",
    "Particle", "Flavors", "OrderQCD", "FlavorScheme", "NumFlavors", "ErrorType",
    "XMin", "XMax", "QMin", "QMax",
)  # fmt: skip
_KNOT_FORMAT = "%.16e"
_VALUE_FORMAT = "% .8e"


def write_lhapdf_set(
    directory: str | Path,
    setname: str,
    xgrid: np.ndarray,
    q2_subgrids: Sequence[np.ndarray],
    pids: Sequence[int],
    replicas_xf: np.ndarray,
    info: Mapping[str, object],
) -> Path:
    """Write an LHAPDF6 set of R replicas plus their mean (member 0) into ``directory/setname``.

    Parameters
    ----------
    directory : str | Path
        parent folder (e.g. an LHAPDF data path); created if missing.
    setname : str
        name of the set, of its folder and of its files.
    xgrid : np.ndarray
        (nx,) strictly increasing x knots in (0, 1].
    q2_subgrids : Sequence[np.ndarray]
        Q² knots in GeV², one strictly increasing array per subgrid, in increasing order.
    pids : Sequence[int]
        (npid,) PDG ids of the flavours (21 for the gluon).
    replicas_xf : np.ndarray
        (R, nq_total, npid, nx) x·f, with the Q² axis the concatenation of ``q2_subgrids``.
    info : Mapping[str, object]
        extra or overriding ``.info`` entries (``SetDesc``, ``OrderQCD``, ``AlphaS_Qs``,
        ``AlphaS_Vals``, ``AlphaS_MZ``, ``MZ``, quark masses…); not the ``COMPUTED_KEYS``.

    Returns
    -------
    Path
        the set's folder.
    """
    xgrid = np.asarray(xgrid, dtype=float)
    q2_subgrids = [np.asarray(q2, dtype=float) for q2 in q2_subgrids]
    replicas_xf = np.asarray(replicas_xf, dtype=float)
    _check_grids(setname, xgrid, q2_subgrids, pids, replicas_xf, info)
    folder = Path(directory) / setname
    staging = folder.with_name(f".{setname}.{secrets.token_hex(6)}.tmp")
    try:
        text = _info_text(xgrid, q2_subgrids, pids, replicas_xf.shape[0] + 1, info)
        atomic_write_text(staging / f"{setname}.info", text)
        members = [replicas_xf.mean(axis=0), *replicas_xf]
        for index, member in enumerate(members):
            kind = "central" if index == 0 else "replica"
            text = _member_text(xgrid, q2_subgrids, pids, member, kind)
            atomic_write_text(staging / f"{setname}_{index:04d}.dat", text)
        _swap_into_place(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def write_evolven3fit_layout(
    nnfit: str | Path,
    setname: str,
    xgrid: np.ndarray,
    q2_subgrids: Sequence[np.ndarray],
    pids: Sequence[int],
    replicas: Mapping[int, np.ndarray],
    info: Mapping[str, object],
) -> None:
    """What NNPDF's ``evolven3fit`` leaves in a fit's ``nnfit/`` for its ``postfit``:
    ``<setname>.info`` (``NumMembers: REPLACE_NREP``, which postfit fills in) and
    ``replica_N/<setname>.dat`` (replica N's member file) for each ``replicas[N]`` x·f
    ``(nq_total, npid, nx)``; each file atomic."""
    xgrid = np.asarray(xgrid, dtype=float)
    q2_subgrids = [np.asarray(q2, dtype=float) for q2 in q2_subgrids]
    stacked = np.stack([np.asarray(xf, dtype=float) for xf in replicas.values()])
    _check_grids(setname, xgrid, q2_subgrids, pids, stacked, info)
    nnfit = Path(nnfit)
    text = _info_text(xgrid, q2_subgrids, pids, "REPLACE_NREP", info)
    atomic_write_text(nnfit / f"{setname}.info", text)
    for replica, xf in zip(replicas, stacked):
        text = _member_text(xgrid, q2_subgrids, pids, xf, "replica")
        atomic_write_text(nnfit / f"replica_{replica}" / f"{setname}.dat", text)


def _check_grids(setname, xgrid, q2_subgrids, pids, replicas_xf, info) -> None:
    if not setname or "/" in setname or setname.startswith("."):
        raise ValueError(f"LHAPDF set name must be a plain folder name; got {setname!r}")
    if xgrid.ndim != 1 or np.any(np.diff(xgrid) <= 0) or xgrid[0] <= 0 or xgrid[-1] > 1:
        raise ValueError("x knots must be strictly increasing within (0, 1]")
    for q2 in q2_subgrids:
        if q2.ndim != 1 or q2.size < 2 or np.any(np.diff(q2) <= 0) or q2[0] <= 0:
            raise ValueError("each Q² subgrid needs ≥ 2 strictly increasing positive knots")
    if any(b[0] < a[-1] for a, b in zip(q2_subgrids, q2_subgrids[1:])):
        raise ValueError("Q² subgrids must follow one another in increasing order")
    if len(set(pids)) != len(pids):
        raise ValueError(f"PDG ids must be unique; got {list(pids)}")
    nq = sum(q2.size for q2 in q2_subgrids)
    shape = (nq, len(pids), xgrid.size)
    if replicas_xf.ndim != 4 or replicas_xf.shape[1:] != shape or replicas_xf.shape[0] < 1:
        raise ValueError(f"replicas x·f must have shape (R ≥ 1, *{shape}); got {replicas_xf.shape}")
    clashes = sorted(set(info) & set(COMPUTED_KEYS))
    if clashes:
        raise ValueError(f"info may not set {clashes}: they are computed from the grids")


def _info_text(xgrid, q2_subgrids, pids, members: int | str, info: Mapping[str, object]) -> str:
    """The ``.info`` file: LHAPDF's usual key order, lists in flow style as LHAPDF writes them."""
    q2_all = np.concatenate(q2_subgrids)
    quarks = [abs(p) for p in pids if 1 <= abs(p) <= 6]
    entries = {
        **DEFAULT_INFO,
        "Format": "lhagrid1",
        "NumMembers": members,
        "Flavors": [int(p) for p in pids],
        "NumFlavors": max(quarks, default=0),
        "ErrorType": "replicas",
        "XMin": float(xgrid[0]),
        "XMax": float(xgrid[-1]),
        "QMin": float(np.sqrt(q2_all[0])),
        "QMax": float(np.sqrt(q2_all[-1])),
    }
    entries.update({key: _plain(value) for key, value in info.items()})
    ordered = {key: entries.pop(key) for key in _KEY_ORDER if key in entries}
    header = ordered | entries
    return yaml.safe_dump(header, sort_keys=False, default_flow_style=None, width=1 << 16)


def _member_text(xgrid, q2_subgrids, pids, xf: np.ndarray, kind: str) -> str:
    """One member file; ``xf`` is (nq_total, npid, nx)."""
    parts = [f"PdfType: {kind}\nFormat: lhagrid1\n---\n"]
    start = 0
    for q2 in q2_subgrids:
        block = xf[start : start + q2.size]  # (nq, npid, nx)
        start += q2.size
        rows = np.transpose(block, (2, 0, 1)).reshape(-1, len(pids))  # (nx * nq, npid)
        parts.append(" ".join(_KNOT_FORMAT % x for x in xgrid) + "\n")
        parts.append(" ".join(_KNOT_FORMAT % q for q in np.sqrt(q2)) + "\n")
        parts.append(" ".join(str(int(p)) for p in pids) + "\n")
        row_format = " ".join([_VALUE_FORMAT] * len(pids))
        parts.append("\n".join(row_format % tuple(row) for row in rows.tolist()) + "\n---\n")
    return "".join(parts)


def _swap_into_place(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder``, moving an existing set aside and deleting it after."""
    if not folder.exists():
        staging.rename(folder)
        return
    old = folder.with_name(f".{folder.name}.{secrets.token_hex(6)}.old")
    folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old)


def _plain(value: object) -> object:
    """numpy scalars and arrays as Python numbers and lists, which YAML can write."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Subgrid:
    """One Q block of an LHAPDF member: x·f ``(nq, npid, nx)`` on knots ``q`` (GeV) × ``xgrid``."""

    xgrid: np.ndarray
    q: np.ndarray
    pids: tuple[int, ...]
    xf: np.ndarray


def lhapdf_member_file(folder: str | Path, member: int = 0) -> Path:
    """The file of member ``member`` of the set in ``folder``, checked to exist with its
    ``.info``; raises :class:`PDFSetError` otherwise."""
    folder = Path(folder).expanduser()
    name = folder.name
    path = folder / f"{name}_{member:04d}.dat"
    if not (folder / f"{name}.info").is_file() or not path.is_file():
        raise PDFSetError(
            f"no LHAPDF set at '{folder}' (needs {name}.info and {path.name}); give the folder "
            "of an LHAPDF6 set, e.g. output/<fit>/lhapdf/<fit>"
        )
    return path


def read_lhapdf_member(folder: str | Path, member: int = 0) -> list[Subgrid]:
    """Read member ``member`` of the ``lhagrid1`` set in ``folder`` (named as the folder).

    Raises
    ------
    PDFSetError
        if the folder, its ``.info`` or the member file is missing, or a block is malformed.
    """
    path = lhapdf_member_file(folder, member)
    blocks = path.read_text().split("---")[1:]  # the first part is the member's header
    subgrids = [_parse_block(b, path) for b in blocks if b.strip()]
    if not subgrids:
        raise PDFSetError(f"{path} holds no grid block; regenerate the set")
    return subgrids


def _parse_block(text: str, path: Path) -> Subgrid:
    lines = text.strip().splitlines()
    try:
        xgrid, q = (np.array(line.split(), dtype=float) for line in lines[:2])
        pids = tuple(int(p) for p in lines[2].split())
        values = np.array(" ".join(lines[3:]).split(), dtype=float)
        xf = values.reshape(xgrid.size, q.size, len(pids)).transpose(1, 2, 0)
    except (ValueError, IndexError):
        raise PDFSetError(
            f"{path}: a grid block is malformed (expected x knots, Q knots, PDG ids, then "
            "nx·nQ rows of values); regenerate the set"
        ) from None
    return Subgrid(xgrid=xgrid, q=q, pids=pids, xf=xf)
