"""NNPDF-layout theory folders (``theory_N/fastkernel/<table>.pineappl.lz4``) built by tests.

:func:`folder_from_shipped` writes the shipped theory's DIS tables as genuine PineAPPL FK tables
under the table names nnpdf-data's metadata gives each dataset (rows the build cut away are
zero), so a fit read from the folder must equal the fit from the shipped format to round-off.
:func:`add_hadronic` adds a hadronic dataset: a synthetic two-convolution FK table (PineAPPL,
evolution-basis channels, only the x nodes of fixed-target Drell–Yan) for the real nnpdf-data
set ``DYE605_Z0_38P8GEV_DW_PXSEC``, its rows scaled so that the toy PDF predicts the data's
central values, and a hadronic positivity set (``NNPDF_POS_2P24GEV_DYU``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from n3fit_gpu.physics.commondata import DatasetSpec, check_dataset, load_commondata
from n3fit_gpu.physics.nnpdf_theory import theory_metadata
from n3fit_gpu.physics.theory import BASIS, load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution

from .pineappl_tables import write_fk

THEORYID = 40000000  # nnpdf-data ships its card (Q0 = 1.65 GeV, as our shipped theory)
EVOLUTION_IDS = {"sigma": 100, "g": 21, "v": 200, "v3": 203, "v8": 208, "v15": 215,
                 "t3": 103, "t8": 108, "t15": 115}  # fmt: skip
HADRONIC_DATASET = "DYE605_Z0_38P8GEV_DW_PXSEC"
HADRONIC_POSITIVITY = "NNPDF_POS_2P24GEV_DYU"
DY_CHANNELS = [("sigma", "sigma"), ("sigma", "g"), ("g", "g"), ("v", "sigma"), ("v", "v")]


def write_dis(path: Path, dense: np.ndarray, xgrid: np.ndarray, q0: float) -> None:
    """Our ``(n, 9, nx)`` weights on x f as a PineAPPL FK table on f (bin widths 1, 2, ...)."""
    norm = np.arange(1, dense.shape[0] + 1, dtype=float)[:, None, None]
    weights = dense * xgrid[None, None, :] * norm
    channels = [(EVOLUTION_IDS[label],) for label in BASIS]
    write_fk(path, channels, weights, xgrid=xgrid, scales=(q0**2,))


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
    (folder / "fastkernel").mkdir(parents=True, exist_ok=True)
    for group in ("datasets", "positivity", "integrability"):
        for name, obs in getattr(theory, group).items():
            variant = "legacy" if group == "datasets" else None
            meta = theory_metadata(name, variant)
            if group == "datasets":
                ndata = check_dataset(DatasetSpec(name, variant)).ndata
            else:
                ndata = obs.ndata
            for names, table in zip(meta.FK_tables, obs.fktables, strict=True):
                full = np.zeros((ndata, *table.shape[1:]))
                full[obs.kernels[0].rows] = table / float(meta.conversion_factor)
                for part, rows in zip(names, np.array_split(np.arange(ndata), len(names))):
                    path = folder / "fastkernel" / f"{part}.pineappl.lz4"
                    write_dis(path, full[rows], theory.xgrid, theory.q0)
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
