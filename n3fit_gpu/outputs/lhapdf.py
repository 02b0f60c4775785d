"""LHAPDF6 grid sets (``lhagrid1``): ``<set>.info`` and one ``<set>_NNNN.dat`` per member.

Member 0 is the mean of the replicas (``PdfType: central``), members 1… the replicas. Each
member file has one block per Q subgrid (blocks split at heavy-quark thresholds, the
threshold Q repeated at the end of one block and the start of the next): an x line, a Q
line (GeV), a flavour line, then x·f with x outer and Q inner, one column per flavour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import yaml

from n3fit_gpu.atomic import atomic_write_text


def _member_text(xgrid, q2_subgrids, pids, xf: np.ndarray, kind: str) -> str:
    """One member; ``xf`` ``(nq_total, npid, nx)``."""
    parts = [f"PdfType: {kind}\nFormat: lhagrid1\n---\n"]
    start = 0
    for q2 in q2_subgrids:
        block = xf[start : start + len(q2)]  # (nq, npid, nx)
        start += len(q2)
        values = np.transpose(block, (2, 0, 1)).reshape(-1, len(pids))  # x outer, Q inner
        parts.append(" ".join(f"{x:.8e}" for x in xgrid) + "\n")
        parts.append(" ".join(f"{q:.8e}" for q in np.sqrt(q2)) + "\n")
        parts.append(" ".join(str(p) for p in pids) + "\n")
        parts.append("\n".join(" ".join(f"{v: .8e}" for v in row) for row in values) + "\n---\n")
    return "".join(parts)


def write_lhapdf_set(
    directory: str | Path,
    setname: str,
    xgrid: np.ndarray,
    q2_subgrids: Sequence[np.ndarray],
    pids: Sequence[int],
    replicas_xf: np.ndarray,
    info: Mapping[str, object],
) -> Path:
    """Write the set into ``directory/setname/``; ``replicas_xf`` is ``(R, nq_total, npid, nx)``."""
    folder = Path(directory) / setname
    q2_all = np.concatenate(q2_subgrids)
    header = {
        "SetDesc": "n3fit_gpu fit",
        "Format": "lhagrid1",
        "DataVersion": 1,
        "NumMembers": int(replicas_xf.shape[0]) + 1,
        "Particle": 2212,
        "Flavors": [int(p) for p in pids],
        "OrderQCD": 1,
        "FlavorScheme": "variable",
        "NumFlavors": int(max(abs(p) for p in pids if p != 21)),
        "ErrorType": "replicas",
        "XMin": float(np.min(xgrid)),
        "XMax": float(np.max(xgrid)),
        "QMin": float(np.sqrt(q2_all.min())),
        "QMax": float(np.sqrt(q2_all.max())),
        **dict(info),
    }
    atomic_write_text(
        folder / f"{setname}.info", yaml.safe_dump(header, sort_keys=False, width=10_000)
    )
    members = [replicas_xf.mean(axis=0), *replicas_xf]
    for i, member in enumerate(members):
        text = _member_text(xgrid, q2_subgrids, pids, member, "central" if i == 0 else "replica")
        atomic_write_text(folder / f"{setname}_{i:04d}.dat", text)
    return folder
