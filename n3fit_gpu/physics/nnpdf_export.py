"""A theory of ours (``theory.json`` + npz) written into an NNPDF-layout folder.

Two things, both used to complete the shipped ``theory_90000001/``
(``scripts/extend_nnpdf_folder.py``) and by the tests' folders (``tests/physics/nnpdf_folders.py``):

- :func:`write_observable_tables`: a group's observables (datasets, positivity,
  integrability) as PineAPPL FK tables (:func:`.nnpdf_layout.write_fk_table`) under the table
  names nnpdf-data's metadata gives each; rows the build cut away are zero, so predictions
  read back from the folder equal ours to round-off.
- :func:`write_evolution_link`: ``n3fit_gpu_evolution.json``, **an n3fit_gpu extension of
  NNPDF's layout**: it names a shipped theory of ours whose LHAPDF evolution operator
  (``Theory.evolution()``) the folder's fits use, with the card, Q0 and x grid it must share
  with the folder's tables; :func:`read_evolution_link` (called by
  :func:`.nnpdf_theory.load_nnpdf_theory`) checks them and lends the theory's x grid. Naming the
  theory instead of copying its ``evolution.npz`` (7 MB) keeps the folder small and follows any
  rebuild of that evolution. NNPDF's own folders have no such file.

Shapes: our tables are ``(n, nbasis, nx)`` weights on x f; PineAPPL's are weights on f.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from n3fit_gpu.errors import TheoryError
from n3fit_gpu.physics.commondata import DatasetSpec, check_dataset
from n3fit_gpu.physics.nnpdf_layout import fastkernel_path, write_fk_table
from n3fit_gpu.physics.theory import SHIPPED_DIR, Theory, read_metadata, shipped_theories

EVOLUTION_LINK = "n3fit_gpu_evolution.json"
LINK_FORMAT = "n3fit_gpu-evolution-link"
# our evolution-basis labels -> PineAPPL's evolution ids (pineko's channels)
EVOLUTION_IDS = {"sigma": 100, "g": 21, "v": 200, "v3": 203, "v8": 208, "v15": 215,
                 "t3": 103, "t8": 108, "t15": 115}  # fmt: skip
GROUPS = ("datasets", "positivity", "integrability")


def write_observable_tables(theory: Theory, folder: str | Path, group: str) -> list[Path]:
    """Every observable of ``theory.<group>`` as FK tables in ``folder/fastkernel/``.

    Datasets are the legacy variant's tables, one row per commondata point; an operand of
    several tables (BCDMS) is split into equal consecutive parts, as nnpdf-data lists them.
    """
    from n3fit_gpu.physics.nnpdf_theory import theory_metadata

    written = []
    channels = [(EVOLUTION_IDS[label],) for label in theory.basis]
    for name, obs in getattr(theory, group).items():
        variant = "legacy" if group == "datasets" else None
        meta = theory_metadata(name, variant)
        ndata = check_dataset(DatasetSpec(name, variant)).ndata if variant else obs.ndata
        for names, table in zip(meta.FK_tables, obs.fktables, strict=True):
            full = np.zeros((ndata, *table.shape[1:]))
            full[obs.kernels[0].rows] = table / float(meta.conversion_factor)
            weights_on_f = full * theory.xgrid[None, None, :]
            for part, rows in zip(names, np.array_split(np.arange(ndata), len(names))):
                path = fastkernel_path(folder, part)
                written.append(
                    write_fk_table(path, weights_on_f[rows], channels, theory.xgrid, theory.q0)
                )
    return written


def write_evolution_link(theory: Theory, folder: str | Path) -> Path:
    """``folder/n3fit_gpu_evolution.json`` naming ``theory`` (a shipped one) as its evolution."""
    record = {
        "format": LINK_FORMAT,
        "format_version": 1,
        "evolution_from": theory.name,
        "q0": theory.q0,
        "xgrid": [float(x) for x in theory.xgrid],
        "theory_card": theory.theory_card,
    }
    path = Path(folder) / EVOLUTION_LINK
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def read_evolution_link(
    folder: Path, q0: float, xgrid: np.ndarray
) -> tuple[dict, np.ndarray] | None:
    """The metadata entries (``evolution``, ``files``, ``theory_card``, ``evolution_from``) and
    x grid that ``folder``'s link lends a theory whose tables are at ``q0`` on nodes ``xgrid``;
    None without a link.

    Raises
    ------
    TheoryError
        a link to no shipped theory, or to one at another Q0 or without the tables' x nodes.
    """
    link = Path(folder) / EVOLUTION_LINK
    if not link.is_file():
        return None
    record = json.loads(link.read_text(encoding="utf-8"))
    name = record.get("evolution_from")
    if record.get("format") != LINK_FORMAT or name not in shipped_theories():
        raise TheoryError(
            f"{link}: not a link to a shipped theory (evolution_from {name!r}; shipped: "
            f"{', '.join(shipped_theories())}); rewrite it with scripts/extend_nnpdf_folder.py"
        )
    source = read_metadata(SHIPPED_DIR / name)
    grid = np.asarray(source["xgrid"], dtype=float)
    nearest = grid[np.abs(np.log(xgrid)[:, None] - np.log(grid)[None]).argmin(axis=1)]
    if not np.isclose(float(source["q0"]), q0) or not np.allclose(nearest, xgrid, rtol=1e-8):
        raise TheoryError(
            f"{link}: theory {name} (Q0 {source['q0']} GeV) cannot evolve these tables (Q0 "
            f"{q0:g} GeV, x nodes not all on its grid); remove the file or link a theory built "
            "on the same card and x grid"
        )
    evolution = {**source["evolution"], "directory": str(SHIPPED_DIR / name)}
    entries = {
        "evolution": evolution,
        "files": {evolution["file"]: source["files"][evolution["file"]]},
        "theory_card": source["theory_card"],
        "evolution_from": name,
    }
    return entries, grid
