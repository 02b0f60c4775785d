"""NNPDF-layout theory folders (``theory_N/fastkernel/<table>.pineappl.lz4``) built by tests.

:func:`folder_from_shipped` writes the shipped theory's DIS tables as genuine PineAPPL FK tables
under the table names nnpdf-data's metadata gives each dataset (rows the build cut away are
zero; :func:`n3fit_gpu.physics.nnpdf_export.write_observable_tables`), so a fit read from the
folder must equal the fit from the shipped format to round-off.
:func:`add_hadronic` adds a hadronic dataset: a synthetic two-convolution FK table (PineAPPL,
evolution-basis channels, only the x nodes of fixed-target Drell–Yan) for the real nnpdf-data
set ``DYE605_Z0_38P8GEV_DW_PXSEC``, its rows scaled so that the toy PDF predicts the data's
central values, and a hadronic positivity set (``NNPDF_POS_2P24GEV_DYU``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from n3fit_gpu.physics.commondata import DatasetSpec, load_commondata
from n3fit_gpu.physics.nnpdf_export import EVOLUTION_IDS, GROUPS, write_observable_tables
from n3fit_gpu.physics.nnpdf_theory import theory_metadata
from n3fit_gpu.physics.theory import BASIS, load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution

from .pineappl_tables import write_fk

THEORYID = 40000000  # nnpdf-data ships its card (Q0 = 1.65 GeV, as our shipped theory)
HADRONIC_DATASET = "DYE605_Z0_38P8GEV_DW_PXSEC"
HADRONIC_POSITIVITY = "NNPDF_POS_2P24GEV_DYU"
DY_CHANNELS = [("sigma", "sigma"), ("sigma", "g"), ("g", "g"), ("v", "sigma"), ("v", "v")]


def write_hadronic(path: Path, table: np.ndarray, xgrid: np.ndarray, q0: float) -> None:
    """``(n, c, nx, nx)`` weights on x f x f of :data:`DY_CHANNELS` as a PineAPPL FK table."""
    norm = np.arange(1, table.shape[0] + 1, dtype=float)[:, None, None, None]
    weights = table * np.multiply.outer(xgrid, xgrid)[None, None] * norm
    channels = [(EVOLUTION_IDS[a], EVOLUTION_IDS[b]) for a, b in DY_CHANNELS]
    write_fk(path, channels, weights, xgrid=xgrid, scales=(q0**2,))


def folder_from_shipped(root: Path, theoryid: int = THEORYID) -> Path:
    """``root/theory_<id>/`` holding every table of the shipped theory under NNPDF's names."""
    theory = load_theory("n3fit_gpu_dis_nlo")
    folder = Path(root) / f"theory_{theoryid}"
    for group in GROUPS:
        write_observable_tables(theory, folder, group)
    return folder


def add_hadronic(folder: Path, seed: int = 3) -> None:
    """The hadronic dataset and positivity set of the module docstring, on the shipped grid."""
    theory = load_theory("n3fit_gpu_dis_nlo")
    xgrid, rng = theory.xgrid, np.random.default_rng(seed)
    used = (xgrid > 0.02) & (xgrid < 0.8)  # fixed-target DY: x1 x2 = M²/s ~ 0.03-0.3
    xf = toy_xf_evolution(xgrid, BASIS)  # (9, nx)
    pairs = [(BASIS.index(a), BASIS.index(b)) for a, b in DY_CHANNELS]

    def table(n: int) -> np.ndarray:
        weights = rng.uniform(0.5, 1.5, size=(n, len(pairs), len(xgrid), len(xgrid)))
        weights *= np.multiply.outer(used, used)[None, None]
        return weights

    cd = load_commondata(DatasetSpec(HADRONIC_DATASET, "legacy"))
    data = table(cd.ndata)
    toy = np.einsum("ncij,ci,cj->n", data, xf[[a for a, _ in pairs]], xf[[b for _, b in pairs]])
    data *= (cd.central / toy)[:, None, None, None]
    (names,) = theory_metadata(HADRONIC_DATASET, "legacy").FK_tables
    write_hadronic(folder / "fastkernel" / f"{names[0]}.pineappl.lz4", data, xgrid, theory.q0)
    positivity = table(5) * 1e-3
    (names,) = theory_metadata(HADRONIC_POSITIVITY).FK_tables
    write_hadronic(folder / "fastkernel" / f"{names[0]}.pineappl.lz4", positivity, xgrid, theory.q0)
