"""Build an n3fit_gpu theory (FK tables + evolution operator) from an NNPDF theory card.

Needs the [theory] extra (eko, yadism, pineappl, pineko). Usage::

    python scripts/build_theory.py --theoryid 40000000 --output DIR [--name NAME] \
        --datasets HERA_CC_318GEV_EP-SIGMARED NMC_NC_NOTFIXED_EM-F2 ...

writes DIR in the format of ``n3fit_gpu/physics/theory.py`` (read it with
``load_theory(path=DIR)``). Steps:

1. read each dataset's kinematics (x, Q^2, y) from nnpdf-data (variant "legacy" where the
   dataset has one, or NAME:VARIANT) and keep the points with Q^2 >= q2min and
   W^2 = Q^2 (1 - x) / x + m_p^2 >= w2min (their 0-based indices are recorded);
2. yadism computes the DIS coefficient grids on one common 50-point x grid (pineko's
   NNPDF grid, 2e-7..1), exported to PineAPPL grids;
3. eko computes the evolution from Q0 to a set of Q^2 nodes, once;
4. the operator at each data Q^2 is interpolated in ln Q^2 (cubic Lagrange on the nodes of the
   same flavour-number patch; the operator is smooth there), put in an EKO with the exact data
   scales, and pineko combines it with the grid into an FK table;
5. the FK tables are rotated to our basis and convention (x f at Q0), and the convention is
   checked against PineAPPL's own convolution of a toy PDF.

With ``--nnpdf-theory DIR`` pineko's FK tables are also kept as NNPDF keeps them,
``DIR/fastkernel/<TABLE>.pineappl.lz4`` with nnpdf-data's table names (one row per commondata
point, BCDMS split per beam energy): every point with Q^2 >= Q0^2 is computed for them, cuts or
not (the npz keeps only the points passing the cuts); rows below Q0^2 are zero (no backward
evolution here). ``n3fit_gpu/physics/nnpdf_layout.py`` writes them.

Perturbative settings. The card's PTO is overridden with --pto (default 1: NLO) and its scheme
with ZM-VFNS: the card's FONLL needs seven yadism sub-theories with massive coefficient
functions (pineko's nFONLL), too slow for this builder's budget. Cards with MaxNfPdf = 5 (no
top quark; pineko and eko honour it) also get ktThr = 1e4, since yadism ignores MaxNfPdf and
would add a massless top to the coefficient functions above Q^2 = m_t^2 (some HERA points).
The overrides are recorded in theory.json ("theory_card" holds the card used,
"build.overrides" the changes).

Why interpolate in Q^2: eko costs 8-20 s per distinct scale at NLO (2 busy cores) and the
default datasets have 273 distinct Q^2 values (about an hour); the default node set has 41
scales. At fixed flavour number the truncated solution depends on Q^2 only through a_s(Q^2), so
the operator is a smooth function of ln Q^2. The nodes are the LHAPDF scales, each interval
below the data's largest Q^2 split in --refine (default 2: ln Q^2 spacing ~0.4), and exact eko
scales half-way between nodes check the interpolation at each build (theory.json
"build.q2_interpolation": relative error of the evolved toy PDF).

Constraints built from the same operator (no data; the fit imposes them):

* positivity of MSbar PDFs, x f >= 0, at Q^2 = 5 GeV^2 (NNPDF_POS_2P24GEV_X{UQ,UB,DQ,DB,SQ,SB,GL})
  on 20 x points in [5e-7, 0.9]: NNPDF4.0 (arXiv:2109.02653, sec. 3.1.3) imposes positivity of
  the light-quark and gluon MSbar PDFs at Q^2 = 5 GeV^2, just above the parametrisation scale,
  where the MSbar PDFs of NNPDF4.0 were shown to be positive (arXiv:2006.07377); positivity
  at one scale propagates upwards under DGLAP evolution;
* integrability at Q^2 = 3 GeV^2 (NNPDF_INTEG_3GEV_X{T3,T8,V,V3,V8}): x f at small x, which
  must vanish as x -> 0 for the integrals of T3, T8 and the valences to be finite.

The evolution operator for LHAPDF6 grids goes from Q0 to NNPDF4.0's 49 Q knots (1.65 to 1e5 GeV,
12 up to m_b; ``--lhapdf-q``), on the FK x grid extended down to the exportgrid's x = 1e-9 with
its own small-x ln x step (63 points: eko's interpolation is zero below its first point), and
eko's interpolation matrix takes its output to the exportgrid's 196 x, the LHAPDF x knots. It is
stored in the evolution basis (11 combinations out, 9 in; most blocks zero), float32, with
alpha_s from eko's couplings: ~0.1 MB per scale compressed. ``--evolution-only`` recomputes it
alone for an existing theory (one eko run, ~50 scales), leaving the FK tables and t0 as they are.
"""

import argparse
import contextlib
import copy
import datetime
import importlib.metadata
import io
import itertools
import logging
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from n3fit_gpu.physics.pineappl_fk import EVOL_IDS
from n3fit_gpu.physics.theory import (
    BASIS,
    EVOLUTION_FILE,
    METADATA_FILE,
    Q0_PIDS,
    evolution_rotation,
    load_theory,
    write_theory,
)
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution, toy_xf_flavour

POSITIVITY_Q2 = 5.0
INTEGRABILITY_Q2 = 3.0
POSITIVITY_X = np.concatenate(
    [np.geomspace(5e-7, 0.1, 10, endpoint=False), np.linspace(0.1, 0.9, 10)]
)
POSITIVITY = {"XUQ": 2, "XUB": -2, "XDQ": 1, "XDB": -1, "XSQ": 3, "XSB": -3, "XGL": 21}
INTEGRABILITY = ("t3", "t8", "v", "v3", "v8")
LHAPDF_Q2MAX = 1e8  # top of the FK tables' Q^2 interpolation blocks (--lhapdf-points)
# The LHAPDF Q knots (GeV) of NNPDF4.0's sets (evolven3fit --legacy40): 49 values from Q0 = 1.65
# to 1e5 GeV, 12 of them up to m_b = 4.92; the builder checks that Q0 and the bottom threshold
# are knots (the threshold ends the nf = 4 block and starts the nf = 5 one).
LHAPDF_Q_KNOTS = (
    1.65, 1.7874388, 1.9429053, 2.1193749, 2.3204100, 2.5502944, 2.8142025, 3.1184122,
    3.4705775, 3.8800751, 4.3584516, 4.92, 5.5493622, 6.2897452, 7.1650687, 8.2052867,
    9.4481248, 10.941378, 12.745972, 14.940062, 17.624572, 20.930715, 25.030298, 30.149928,
    36.590777, 44.756282, 55.191298, 68.637940, 86.115921, 109.03923, 139.38725, 179.95815,
    234.74820, 309.52544, 412.70732, 556.71861, 760.11795, 1050.9694, 1472.2574, 2090.6996,
    3011.2909, 4401.6501, 6533.3918, 9853.5186, 15109.614, 23573.066, 37444.017, 60599.320,
    100000.0,
)  # fmt: skip
LHAPDF_XMIN = 1e-9  # the exportgrid's first x, and so evolven3fit's XMin
# the evolution's output combinations (eko's evolution basis without photon, V35, T35: with no
# top quark V35 = V and T35 = Sigma); a flavour is a fixed combination of them
EVOLUTION_OUTPUT = ("S", "g", "V", "V3", "V8", "V15", "V24", "T3", "T8", "T15", "T24")
TOP_THRESHOLD_OFF = 1e4  # ktThr putting the top threshold at 1.7e6 GeV, out of every range
LHAPDF_PIDS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)
EKO_PIDS = (22, -6, -5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5, 6)  # eko.basis_rotation order
VERSIONED = ("eko", "yadism", "pineappl", "pineko", "nnpdf-data", "numpy")


@dataclass(frozen=True)
class Table:
    """yadism settings of one FK table."""

    observable: str
    process: str
    projectile: str
    target: str


_F2P = Table("F2_total", "NC", "electron", "proton")
_F2D = Table("F2_total", "NC", "electron", "isoscalar")
TABLES: dict[str, tuple[Table, ...]] = {
    "BCDMS_NC_NOTFIXED_P_EM-F2": (_F2P,),
    "BCDMS_NC_NOTFIXED_D_EM-F2": (_F2D,),
    "SLAC_NC_NOTFIXED_P_EM-F2": (_F2P,),
    "SLAC_NC_NOTFIXED_D_EM-F2": (_F2D,),
    "NMC_NC_NOTFIXED_P_EM-SIGMARED": (Table("XSHERANC", "NC", "electron", "proton"),),
    "NMC_NC_NOTFIXED_EM-F2": (_F2D, _F2P),
    "HERA_NC_318GEV_EM-SIGMARED": (Table("XSHERANC", "NC", "electron", "proton"),),
    "HERA_NC_318GEV_EP-SIGMARED": (Table("XSHERANC", "NC", "positron", "proton"),),
    "HERA_NC_300GEV_EP-SIGMARED": (Table("XSHERANC", "NC", "positron", "proton"),),
    "HERA_NC_251GEV_EP-SIGMARED": (Table("XSHERANC", "NC", "positron", "proton"),),
    "HERA_NC_225GEV_EP-SIGMARED": (Table("XSHERANC", "NC", "positron", "proton"),),
    "HERA_CC_318GEV_EM-SIGMARED": (Table("XSHERACC", "CC", "electron", "proton"),),
    "HERA_CC_318GEV_EP-SIGMARED": (Table("XSHERACC", "CC", "positron", "proton"),),
    # CHORUS on lead, as NNPDF's legacy variant (isoscalar-corrected by yadism's target, no
    # nuclear corrections)
    "CHORUS_CC_NOTFIXED_PB_NU-SIGMARED": (Table("XSCHORUSCC", "CC", "neutrino", "lead"),),
    "CHORUS_CC_NOTFIXED_PB_NB-SIGMARED": (Table("XSCHORUSCC", "CC", "antineutrino", "lead"),),
}
DEFAULT_DATASETS = (
    "BCDMS_NC_NOTFIXED_P_EM-F2",
    "NMC_NC_NOTFIXED_P_EM-SIGMARED",
    "NMC_NC_NOTFIXED_EM-F2",
    "HERA_NC_318GEV_EM-SIGMARED",
    "HERA_NC_318GEV_EP-SIGMARED",
    "HERA_CC_318GEV_EP-SIGMARED",
)


@dataclass(frozen=True)
class DatasetPoints:
    """Kinematics of the points of one dataset kept after cuts."""

    name: str
    variant: str | None
    operation: str
    indices: np.ndarray
    x: np.ndarray
    q2: np.ndarray
    y: np.ndarray
    cut: np.ndarray | None = None  # which points pass the cuts (None: all); the others are
    # computed only for the NNPDF-layout tables (--nnpdf-theory)
    ndata: int = 0  # points of the dataset before cuts
    fk_names: tuple[tuple[str, ...], ...] = ()  # nnpdf-data's table names, operand by operand
    splits: tuple[int, ...] = ()  # first row of each table of a multi-table operand

    def take(self, keep: np.ndarray) -> "DatasetPoints":
        """The points ``keep`` (indices or a mask into these points)."""
        return replace(
            self,
            indices=self.indices[keep],
            x=self.x[keep],
            q2=self.q2[keep],
            y=self.y[keep],
            cut=None if self.cut is None else self.cut[keep],
        )

    def passing(self) -> "DatasetPoints":
        """Only the points that pass the cuts."""
        return self if self.cut is None else self.take(self.cut)


# ---------------------------------------------------------------- inputs


def load_card(theoryid: int, pto: int) -> tuple[dict, dict]:
    """The NNPDF theory card (None entries dropped) with our overrides, and the overrides."""
    import nnpdf_data
    from nnpdf_data.theorydbutils import fetch_theory

    cards = Path(nnpdf_data.__file__).parent / "theory_cards"
    if not (cards / f"{theoryid}.yaml").is_file():
        sys.exit(f"error: no theory card {theoryid} in {cards}")
    card = fetch_theory(cards, theoryid)
    card = {key: value for key, value in card.items() if value is not None}
    if card["nf0"] != 4 or not card["IC"]:
        sys.exit(
            f"error: theory {theoryid} has nf0={card['nf0']}, IC={card['IC']}; this builder "
            "writes the basis of a fitted charm at Q0 between the charm and bottom thresholds "
            "(nf0=4, IC=1), e.g. 40000000"
        )
    overrides = {"PTO": pto, "FNS": "ZM-VFNS"}
    if card.get("MaxNfPdf", 5) < 6:
        overrides["ktThr"] = TOP_THRESHOLD_OFF
    card.update(overrides)
    card["Comments"] = f"{card.get('Comments', '')} [n3fit_gpu build overrides: {overrides}]"
    return card, overrides


def load_points(
    spec: str,
    q2min: float,
    w2min: float,
    mp: float,
    max_points: int | None,
    layout_q2min: float | None = None,
):
    """Read a dataset (NAME or NAME:VARIANT) and keep the points passing the DIS cuts.

    With ``layout_q2min`` (the NNPDF layout) the points with Q^2 >= layout_q2min are kept as
    well, flagged as failing the cuts in ``cut`` where they do (the first ``max_points`` of
    each set).
    """
    import nnpdf_data
    from nnpdf_data.commondataparser import parse_new_metadata

    name, _, variant = spec.partition(":")
    setname, _, observable = name.rpartition("_")
    metadata_path = Path(nnpdf_data.__file__).parent / "commondata" / setname / "metadata.yaml"
    if name not in TABLES or not metadata_path.is_file():
        sys.exit(f"error: unsupported dataset {name!r}; supported: {sorted(TABLES)}")
    if not variant:
        plain = parse_new_metadata(metadata_path, observable)
        variant = "legacy" if "legacy" in (plain.variants or {}) else None
    metadata = parse_new_metadata(metadata_path, observable, variant=variant)
    kinematics = metadata.load_kinematics()
    x, q2, y = (kinematics[(key, "mid")].to_numpy(dtype=float) for key in ("x", "Q2", "y"))
    w2 = q2 * (1.0 - x) / x + mp**2
    passing = np.flatnonzero((q2 >= q2min) & (w2 >= w2min))[:max_points]
    indices = passing
    if layout_q2min is not None:
        indices = np.union1d(passing, np.flatnonzero(q2 >= layout_q2min)[:max_points])
    operation = metadata.theory.operation.upper()
    fk_names = tuple(tuple(operand) for operand in metadata.theory.FK_tables)
    if len(fk_names) != len(TABLES[name]):
        sys.exit(
            f"error: {name} has {len(fk_names)} FK-table groups, "
            f"this builder knows {len(TABLES[name])}"
        )
    splits = beam_splits(name, x, q2, y, mp, max(len(names) for names in fk_names))
    return DatasetPoints(
        name,
        variant,
        operation,
        indices,
        x[indices],
        q2[indices],
        y[indices],
        cut=np.isin(indices, passing),
        ndata=len(x),
        fk_names=fk_names,
        splits=splits,
    )


def requested_points(args: argparse.Namespace, card: dict, q2min: float, w2min: float) -> list:
    """:func:`load_points` of every ``--datasets`` set (with ``--nnpdf-theory``, the points
    NNPDF's layout needs as well)."""
    layout_q2min = card["Q0"] ** 2 if args.nnpdf_theory else None
    return [
        load_points(spec, q2min, w2min, card["MP"], args.max_points, layout_q2min)
        for spec in args.datasets
    ]


def beam_splits(name: str, x, q2, y, mp: float, ntables: int) -> tuple[int, ...]:
    """First row of each table of an operand of ``ntables`` tables, one per beam energy.

    NNPDF keeps e.g. BCDMS's F2 as one table per muon energy (100, 120, 200, 280 GeV), the
    points of each consecutive in commondata order; the energy is E = Q^2 / (2 m_p x y).
    """
    if ntables == 1:
        return (0,)
    energy = np.round(q2 / (2.0 * mp * x * y), -1)
    starts = (0, *(int(k) + 1 for k in np.flatnonzero(np.diff(energy))))
    if len(starts) != ntables:
        sys.exit(f"error: {name}: {len(starts)} beam energies for {ntables} FK tables")
    return starts


# ---------------------------------------------------------------- evolution


def eko_cards(card: dict, xgrid: Sequence[float], targets: Sequence[tuple[float, int]], cores=1):
    """eko theory and operator cards for the given (Q^2, nf) targets."""
    import eko
    from eko.io.runcards import Legacy, OperatorCard

    mugrid = [(float(np.sqrt(q2)), int(nf)) for q2, nf in targets]
    return Legacy(card, {}).new_theory, OperatorCard.from_dict(
        {
            "init": (card["Q0"], card["nf0"]),
            "mugrid": mugrid,
            "xgrid": list(xgrid),
            "configs": {
                "evolution_method": "truncated" if card["ModEv"] == "TRN" else "iterate-exact",
                "ev_op_max_order": [10, 0],
                "ev_op_iterations": 1 if card["ModEv"] == "TRN" else card["IterEv"],
                "interpolation_polynomial_degree": 4,
                "interpolation_is_log": True,
                "scvar_method": None,
                "inversion_method": "expanded" if card["ModEv"] == "TRN" else "exact",
                "n_integration_cores": cores,
                "polarized": False,
                "time_like": False,
            },
            "debug": {"skip_singlet": False, "skip_non_singlet": False},
            "eko_version": eko.__version__,
        }
    )


def solve_eko(card: dict, xgrid: Sequence[float], targets, path: Path, cores: int) -> dict:
    """Run eko (one progress step per evolution segment); operators by (Q^2, nf)."""
    from eko.io.items import Target
    from eko.io.struct import EKO
    from eko.runner import operators, parts, recipes

    theory, operator = eko_cards(card, xgrid, targets, cores)
    with EKO.create(path) as builder:
        output = builder.load_cards(theory, operator).build()
        recipes.create(output)
        steps = list(output.recipes) + list(output.recipes_matching)
        from tqdm import tqdm  # here: scripts/write_eko.py imports this module without tqdm

        for recipe in tqdm(steps, desc="eko segments", leave=False):
            if recipe in output.recipes:
                output.parts[recipe] = parts.evolve(output, recipe)
                del output.parts[recipe]
            else:
                output.parts_matching[recipe] = parts.match(output, recipe)
                del output.parts_matching[recipe]
        for ep in operator.evolgrid:
            output.operators[Target.from_ep(ep)] = operators.join(operators.retrieve(ep, output))
            del output.parts
        return {(float(ep[0]), int(ep[1])): output[ep].operator.copy() for ep in operator.evolgrid}


def interpolation_nodes(
    q0sq: float, threshold: float, q2max: float, lhapdf_points: Sequence[int], refine: int
) -> dict:
    """Q^2 nodes: LHAPDF blocks, interpolation nodes and check scales, by flavour number.

    The interpolation nodes of each patch (nf = 4 below the bottom threshold, 5 above) are the
    LHAPDF nodes, each interval below ``q2max`` split in ``refine``; the check scales lie half-way
    (in ln Q^2) between interpolation nodes: the first interval of each patch, where evolution
    is fastest, and the one in the middle of the nf = 5 data range.
    """
    lhapdf = {
        4: np.geomspace(q0sq, threshold, lhapdf_points[0]),
        5: np.geomspace(threshold, LHAPDF_Q2MAX, lhapdf_points[1]),
    }
    dense = {}
    for nf, block in lhapdf.items():
        nodes = [block[:1]]
        for lo, hi in itertools.pairwise(block):
            nodes.append(np.geomspace(lo, hi, (refine if lo < q2max else 1) + 1)[1:])
        dense[nf] = np.concatenate(nodes)
        if len(dense[nf]) < 4:
            sys.exit(f"error: {len(dense[nf])} interpolation nodes for nf={nf}; need 4")
    middle = np.searchsorted(dense[5], np.sqrt(threshold * max(q2max, threshold)))
    middle = int(np.clip(middle, 2, len(dense[5]) - 2))
    checks = [
        (np.sqrt(dense[4][0] * dense[4][1]), 4),
        (np.sqrt(dense[5][0] * dense[5][1]), 5),
        (np.sqrt(dense[5][middle - 1] * dense[5][middle]), 5),
    ]
    return {"lhapdf": lhapdf, "dense": dense, "checks": checks}


def eko_targets(nodes: dict) -> list[tuple[float, int]]:
    """Every (Q^2, nf) eko must compute: nodes, checks and the constraint scales."""
    targets = {
        (float(q2), nf)
        for group in ("lhapdf", "dense")
        for nf, grid in nodes[group].items()
        for q2 in grid
    }
    targets |= {(float(q2), nf) for q2, nf in nodes["checks"]}
    targets |= {(POSITIVITY_Q2, 4), (INTEGRABILITY_Q2, 4)}
    return sorted(targets)


class OperatorSet:
    """eko operators (pid_out, x_out, pid_in, x_in) at the node scales.

    ``exact(q2)`` returns a computed operator; ``interpolate(q2)`` uses only the dense nodes of
    q2's flavour-number patch (cubic Lagrange in ln Q^2 on the 4 nearest nodes).
    """

    def __init__(self, operators: dict, dense: dict[int, np.ndarray], atlas_nf):
        self.scales = np.array([q2 for q2, _ in operators])
        self.nfs = np.array([nf for _, nf in operators])
        self.arrays = list(operators.values())
        self.atlas_nf = atlas_nf
        self.patches = {nf: np.log(grid) for nf, grid in dense.items()}

    def exact(self, q2: float, nf: int | None = None) -> np.ndarray:
        """The operator computed at ``q2`` (nf from the atlas unless given)."""
        nf = self.atlas_nf(q2) if nf is None else nf
        match = np.isclose(self.scales, q2, rtol=1e-9, atol=0.0) & (self.nfs == nf)
        if not match.any():
            raise KeyError(f"no operator at Q2={q2}, nf={nf}")
        return self.arrays[int(match.argmax())]

    def interpolate(self, q2: float) -> np.ndarray:
        """The operator at ``q2`` from the dense nodes of its patch."""
        nf = self.atlas_nf(q2)
        logs = self.patches[nf]
        start = int(np.clip(np.searchsorted(logs, np.log(q2)) - 2, 0, len(logs) - 4))
        stencil = logs[start : start + 4]
        result = np.zeros_like(self.exact(float(np.exp(stencil[0])), nf))
        for k, node in enumerate(stencil):
            others = np.delete(stencil, k)
            weight = np.prod((np.log(q2) - others) / (node - others))
            result += weight * self.exact(float(np.exp(node)), nf)
        return result


def to_basis(operator: np.ndarray, x_out: np.ndarray, xgrid: np.ndarray) -> np.ndarray:
    """eko operator on f (pid_out, x_out, 14, x_in) -> ours on x f (pid_out, x_out, 9, x_in)."""
    inverse = np.linalg.inv(evolution_rotation(BASIS))  # flavours at Q0 from basis
    embed = np.zeros((len(EKO_PIDS), len(BASIS)))
    for row, pid in enumerate(Q0_PIDS):
        embed[EKO_PIDS.index(pid)] = inverse[row]
    rotated = np.einsum("aybx,bf->ayfx", operator, embed)
    return rotated * x_out[None, :, None, None] / xgrid[None, None, None, :]


# ---------------------------------------------------------------- FK tables


def run_yadism(card: dict, table: Table, points: DatasetPoints, xgrid, path: Path):
    """yadism coefficient grid of one table, written as a PineAPPL grid at ``path``."""
    import pineappl
    import yadism
    from yadbox.export import dump_pineappl_to_file

    kinematics = [
        {"x": float(a), "Q2": float(b), "y": float(c)}
        for a, b, c in zip(points.x, points.q2, points.y, strict=True)
    ]
    observables = {
        "prDIS": table.process,
        "ProjectileDIS": table.projectile,
        "TargetDIS": table.target,
        "PolarizationDIS": 0.0,
        "PropagatorCorrection": 0.0,
        "NCPositivityCharge": None,
        "interpolation_xgrid": list(xgrid),
        "interpolation_polynomial_degree": 4,
        "interpolation_is_log": True,
        "observables": {table.observable: kinematics},
    }
    output = yadism.run_yadism(copy.deepcopy(card), observables)
    dump_pineappl_to_file(output, str(path), table.observable)
    return pineappl.grid.Grid.read(str(path))


def evolve_table(grid, card: dict, operators: OperatorSet, xgrid, work: Path) -> np.ndarray:
    """Combine a grid with interpolated operators (pineko) -> our (ndata, 9, nx) table."""
    import pineappl
    from eko.io.items import Operator
    from eko.io.struct import EKO
    from pineko.evolve import evolve_grid
    from pineko.theory_card import construct_assumptions

    max_as, max_al = 1 + card["PTO"], 1 + card["QED"]
    mask = pineappl.boc.Order.create_mask(grid.orders(), max_as, max_al, True)
    targets = [(float(q2), operators.atlas_nf(q2)) for q2 in grid.evolve_info(mask).fac1]
    theory, operator_card = eko_cards(card, xgrid, targets)
    eko_path, fk_path = work / "data_eko.tar", work / "table.fk.lz4"
    eko_path.unlink(missing_ok=True)
    with EKO.create(eko_path) as builder:
        output = builder.load_cards(theory, operator_card).build()
        for ep in operator_card.evolgrid:
            output[ep] = Operator(operator=operators.interpolate(float(ep[0])))
    with EKO.read(eko_path) as data_eko:
        _, fktable, _ = evolve_grid(
            grid,
            [data_eko],
            str(fk_path),
            max_as,
            max_al,
            1.0,
            1.0,
            1.0,
            card,
            assumptions=construct_assumptions(card),
        )
    return fk_to_basis(fktable, np.asarray(xgrid))


def fk_to_basis(fktable, xgrid: np.ndarray) -> np.ndarray:
    """PineAPPL FK table (evolution pids, weights on f) -> (ndata, 9, nx) weights on x f."""
    table = np.asarray(fktable.table())
    ours = np.zeros((table.shape[0], len(BASIS), len(xgrid)))
    columns = [int(np.argmin(np.abs(xgrid - x))) for x in fktable.x_grid()]
    for channel, (pid,) in enumerate(fktable.channels()):
        if pid != 22:  # the photon vanishes at Q0 without QED
            ours[:, BASIS.index(EVOL_IDS[pid]), columns] += table[:, channel, :]
    return ours / xgrid


def check_convention(fktable_path: Path, ours: np.ndarray, xgrid: np.ndarray) -> float:
    """Relative difference between PineAPPL's convolution of the toy PDF and ours."""
    import pineappl

    fktable = pineappl.fk_table.FkTable.read(str(fktable_path))
    conv = pineappl.convolutions.Conv(
        convolution_types=pineappl.convolutions.ConvType(polarized=False, time_like=False),
        pid=2212,
    )

    def xfx(pid, x, _q2):
        return float(toy_xf_flavour(np.array([x])).get(pid, np.zeros(1))[0])

    theirs = np.asarray(fktable.convolve(pdg_convs=[conv], xfxs=[xfx]))
    mine = np.einsum("nfx,fx->n", ours, toy_xf_evolution(xgrid, BASIS))
    return float(np.max(np.abs(mine / theirs - 1.0)))


# ---------------------------------------------------------------- main steps


def distinct_points(points: DatasetPoints, table: Table) -> tuple[DatasetPoints, np.ndarray]:
    """The points with distinct kinematics for ``table``, and the map back to all points.

    Structure functions do not depend on y, and PineAPPL merges bins with equal (x, Q^2) limits
    (e.g. BCDMS measures the same bins at four beam energies): each is computed once.
    """
    y = points.y if table.observable.startswith("XS") else np.zeros_like(points.y)
    _, first, inverse = np.unique(
        np.stack([points.x, points.q2, y]), axis=1, return_index=True, return_inverse=True
    )
    keep = np.sort(first)
    position = np.argsort(np.argsort(first))  # rank of each unique column among kept points
    return points.take(keep), position[inverse.ravel()]


def build_dataset_tables(
    card, datasets, xgrid, operators, work, progress, layout: Path | None = None
) -> tuple[dict, dict]:
    """FK tables of every dataset; returns (npz arrays, theory.json dataset entries).

    With ``layout`` (a ``theory_<ID>`` folder) pineko's FK tables are also written there in
    NNPDF's layout (:func:`write_layout_tables`).
    """
    arrays, entries = {}, {}
    for points in datasets:
        keys = []
        kept = points.passing()
        for index, table in enumerate(TABLES[points.name]):
            progress.set_postfix_str(f"{points.name} table {index} ({len(points.x)} points)")
            unique, inverse = distinct_points(points, table)
            with contextlib.redirect_stdout(io.StringIO()):
                grid = run_yadism(card, table, unique, xgrid, work / "grid.pineappl.lz4")
                fk = evolve_table(grid, card, operators, xgrid, work)
            mismatch = check_convention(work / "table.fk.lz4", fk, np.asarray(xgrid))
            if mismatch > 1e-8:
                sys.exit(f"error: FK convention check failed for {points.name} ({mismatch:.2e})")
            key = f"{points.name}_{index}"
            every = fk[inverse]
            arrays[key] = every if points.cut is None else every[points.cut]
            keys.append(key)
            if layout is not None:
                write_layout_tables(layout, work / "table.fk.lz4", points, index, inverse)
            progress.update()
        entries[points.name] = {
            "variant": kept.variant,
            "operation": kept.operation,
            "fktables": keys,
            "data_indices": kept.indices.tolist(),
            "kinematics": {
                "x": kept.x.tolist(),
                "Q2": kept.q2.tolist(),
                "y": kept.y.tolist(),
            },
        }
    return arrays, entries


def write_layout_tables(
    layout: Path, fk_path: Path, points: DatasetPoints, operand: int, inverse: np.ndarray
) -> list[Path]:
    """pineko's FK table of one operand as NNPDF's tables ``layout/fastkernel/<name>...``.

    Rows are the dataset's points in commondata order (bins of width 1); points this build
    did not compute (Q^2 < Q0^2: no backward evolution here) are zero rows. An operand NNPDF
    keeps as several tables (one per beam energy) is split at ``points.splits``.
    """
    import pineappl

    from n3fit_gpu.physics.nnpdf_layout import expand_rows, fastkernel_path, write_fk_table

    fktable = pineappl.fk_table.FkTable.read(str(fk_path))
    norm = np.asarray(fktable.bin_normalizations())
    raw = np.asarray(fktable.table())
    raw = raw.reshape(raw.shape[:3]) / norm[:, None, None]
    full = expand_rows(raw[inverse], points.indices, points.ndata)
    channels = [tuple(int(p) for p in c) for c in fktable.channels()]
    names = points.fk_names[operand]
    bounds = (*points.splits, points.ndata) if len(names) > 1 else (0, points.ndata)
    written = []
    for name, lo, hi in zip(names, bounds[:-1], bounds[1:], strict=True):
        path = fastkernel_path(layout, name)
        written.append(
            write_fk_table(
                path,
                full[lo:hi],
                channels,
                np.asarray(fktable.x_grid()),
                float(np.sqrt(fktable.fac0())),
            )
        )
    return written


def build_constraints(operators: OperatorSet, xgrid: np.ndarray) -> tuple[dict, dict, dict]:
    """Positivity and integrability tables from the operators at 5 and 3 GeV^2."""
    from eko.interpolation import XGrid
    from eko.io.items import Operator
    from eko.io.manipulate import xgrid_reshape

    def rows(q2: float, x_points: np.ndarray) -> np.ndarray:
        raw = Operator(operator=operators.exact(q2))
        reshaped = xgrid_reshape(raw, XGrid(xgrid), 4, targetgrid=XGrid(x_points)).operator
        return to_basis(reshaped, x_points, xgrid)

    arrays, positivity, integrability = {}, {}, {}
    pos = rows(POSITIVITY_Q2, POSITIVITY_X)
    for label, pid in POSITIVITY.items():
        name = f"NNPDF_POS_2P24GEV_{label}"
        arrays[name] = pos[EKO_PIDS.index(pid)]
        positivity[name] = {
            "fktables": [name],
            "operation": "NULL",
            "kinematics": {"x": POSITIVITY_X.tolist(), "Q2": [POSITIVITY_Q2] * 20},
        }
    x_integ = np.geomspace(xgrid[0], 1e-4, 4)
    flavours = rows(INTEGRABILITY_Q2, x_integ)  # (14, nx_integ, 9, nx) in EKO_PIDS order
    at_q0_pids = flavours[[EKO_PIDS.index(pid) for pid in Q0_PIDS]]
    combos = np.einsum("cp,pyfx->cyfx", evolution_rotation(INTEGRABILITY), at_q0_pids)
    for label, table in zip(INTEGRABILITY, combos, strict=True):
        name = f"NNPDF_INTEG_3GEV_X{label.upper()}"
        arrays[name] = table
        integrability[name] = {
            "fktables": [name],
            "operation": "NULL",
            "kinematics": {"x": x_integ.tolist(), "Q2": [INTEGRABILITY_Q2] * 4},
        }
    return arrays, positivity, integrability


def lhapdf_q2_blocks(card: dict, q_knots: Sequence[float]) -> dict[int, np.ndarray]:
    """The LHAPDF Q^2 knots by flavour number: Q0 .. threshold (nf = 4), threshold .. (nf = 5).

    Q0 and the bottom threshold must be knots, so that the blocks meet where eko's flavour
    number changes and the first knot is the fit's own scale.
    """
    q2 = np.asarray(q_knots, dtype=float) ** 2
    q0sq, threshold = card["Q0"] ** 2, (card["kbThr"] * card["mb"]) ** 2
    missing = [
        q
        for q, value in (("Q0", q0sq), ("kbThr*mb", threshold))
        if not np.isclose(q2, value, rtol=1e-7).any()
    ]
    if missing or np.any(np.diff(q2) <= 0) or not np.isclose(q2[0], q0sq, rtol=1e-7):
        sys.exit(
            f"error: the LHAPDF Q knots must increase from Q0 = {card['Q0']} GeV and contain the "
            f"bottom threshold {np.sqrt(threshold)} GeV (missing: {missing or 'Q0 first'})"
        )
    q2[np.isclose(q2, q0sq, rtol=1e-7)] = q0sq
    q2[np.isclose(q2, threshold, rtol=1e-7)] = threshold
    return {4: q2[q2 <= threshold], 5: q2[q2 >= threshold]}


def evolution_xgrid(xgrid: np.ndarray, xmin: float = LHAPDF_XMIN) -> np.ndarray:
    """The FK tables' x grid extended down to ``xmin`` with its own small-x ln x spacing.

    eko's interpolation is zero below its grid's first point (it does not extrapolate), so an
    operator whose output must reach the exportgrid's x = 1e-9 is computed on a grid that starts
    there.
    """
    step = float(np.log(xgrid[1] / xgrid[0]))
    extra = int(np.ceil(np.log(xgrid[0] / xmin) / step))
    return np.concatenate([np.geomspace(xmin, xgrid[0], extra + 1)[:-1], xgrid])


def output_rotation() -> np.ndarray:
    """(len(LHAPDF_PIDS), len(EVOLUTION_OUTPUT)): x f of each LHAPDF flavour from the
    evolution combinations, with no photon and no top (V35 = V, T35 = Sigma)."""
    from eko import basis_rotation as br

    inverse = np.linalg.inv(br.rotate_flavor_to_evolution)  # flavour <- 14 evolution combos
    columns = {label: inverse[:, br.evol_basis.index(label)] for label in br.evol_basis}
    columns["V"] = columns["V"] + columns["V35"]
    columns["S"] = columns["S"] + columns["T35"]
    rows = [br.flavor_basis_pids.index(pid) for pid in LHAPDF_PIDS]
    return np.stack([columns[label][rows] for label in EVOLUTION_OUTPUT], axis=1)


def alphas_at(card: dict, q2s: Sequence[float], nfs: Sequence[int]) -> np.ndarray:
    """alpha_s(Q^2) of eko's couplings at each (Q^2, nf)."""
    import eko.couplings
    from eko.io.runcards import Legacy

    theory = Legacy(card, {}).new_theory
    couplings = eko.couplings.Couplings(
        theory.couplings,
        theory.order,
        eko.couplings.couplings_mod_ev(eko.io.types.EvolutionMethod("truncated")),
        masses=[m.value**2 for m in theory.heavy.masses],
        hqm_scheme=theory.heavy.masses_scheme,
        thresholds_ratios=np.power(theory.heavy.matching_ratios, 2.0).tolist(),
    )
    return np.array([4.0 * np.pi * couplings.a_s(float(q2), nf_to=nf) for q2, nf in zip(q2s, nfs)])


def cached_eko(card, xgrid, targets, path: Path, cores: int, cache: Path | None) -> dict:
    """:func:`solve_eko`, its operators kept in (or read back from) ``cache`` (an .npz) when
    given: a later step that fails then costs no second eko run."""
    if cache is not None and cache.is_file():
        with np.load(cache) as stored:
            if np.array_equal(stored["xgrid"], xgrid) and stored["targets"].tolist() == [
                list(t) for t in targets
            ]:
                return {tuple(t): op for t, op in zip(targets, stored["operators"])}
    computed = solve_eko(card, xgrid, targets, path, cores)
    if cache is not None:
        operators = np.stack([computed[(q2, nf)] for q2, nf in targets])
        np.savez(cache, xgrid=xgrid, targets=np.array(targets), operators=operators)
    return computed


def build_evolution(
    card: dict, xgrid: np.ndarray, q_knots, work: Path, cores: int, cache: Path | None = None
):
    """eko from Q0 to the LHAPDF knots on the extended x grid -> (evolution.npz arrays, record).

    Stored: "operator" (nq, 11 EVOLUTION_OUTPUT, nx_ev, 9 BASIS, nx_ev) float32 on x f,
    "output_rotation" (11 LHAPDF_PIDS, 11), "xgrid_in" (nx_ev: operator input and output grid),
    "xgrid_out" (the exportgrid's 196 x, the LHAPDF x knots), "x_interpolation" (196, nx_ev:
    eko's degree-4 ln x interpolation of f, as x f), "q2", "alphas", "q2_input" (Q0^2).
    In the evolution basis most (output, input) blocks are zero, which npz compresses away.
    """
    from eko import basis_rotation as br
    from eko.interpolation import InterpolatorDispatcher, XGrid

    from n3fit_gpu.outputs.exportgrid import EXPORT_XGRID

    blocks = lhapdf_q2_blocks(card, q_knots)
    targets = [(float(q2), nf) for nf, grid in blocks.items() for q2 in grid]
    x_ev = evolution_xgrid(np.asarray(xgrid))
    computed = cached_eko(card, x_ev, targets, work / "lhapdf_eko.tar", cores, cache)
    to_evolution = br.rotate_flavor_to_evolution[[br.evol_basis.index(c) for c in EVOLUTION_OUTPUT]]
    rotation = output_rotation()
    operator, worst = [], 0.0
    for target in targets:
        flavours = computed[target]  # (14, nx_ev, 14, nx_ev) on f
        combos = to_basis(np.einsum("ca,aybx->cybx", to_evolution, flavours), x_ev, x_ev)
        exact = to_basis(flavours[[br.flavor_basis_pids.index(p) for p in LHAPDF_PIDS]], x_ev, x_ev)
        rebuilt = np.einsum("pc,cyfx->pyfx", rotation, combos)
        worst = max(worst, float(np.abs(rebuilt - exact).max() / np.abs(exact).max()))
        operator.append(combos)
    if worst > 1e-12:
        sys.exit(f"error: flavours from the evolution combinations differ by {worst:.1e}")
    operator = np.asarray(operator)
    # entries below 1e-9 of a block's largest are integration noise; zeros compress
    noise = 1e-9 * np.abs(operator).max(axis=(1, 2, 3, 4), keepdims=True)
    operator[np.abs(operator) < noise] = 0.0
    interpolation = InterpolatorDispatcher(XGrid(x_ev), 4, False).get_interpolation(EXPORT_XGRID)
    q2s = np.array([q2 for q2, _ in targets])
    arrays = {
        "operator": operator.astype(np.float32),
        "output_rotation": rotation,
        "xgrid_in": x_ev,
        "xgrid_out": EXPORT_XGRID,
        "x_interpolation": interpolation * EXPORT_XGRID[:, None] / x_ev[None, :],
        "q2": q2s,
        "alphas": alphas_at(card, q2s, [nf for _, nf in targets]),
        "q2_input": np.array(card["Q0"] ** 2),
    }
    record = {
        "file": EVOLUTION_FILE,
        "q2_subgrids": [grid.tolist() for grid in blocks.values()],
        "pids": list(LHAPDF_PIDS),
        "output": list(EVOLUTION_OUTPUT),
        "xgrid_in": x_ev.tolist(),
        "nx_out": len(EXPORT_XGRID),
        "rotation_check": worst,
    }
    return arrays, record


def check_interpolation(operators: OperatorSet, checks, xgrid: np.ndarray) -> list[float]:
    """Relative error of the interpolated operator on the evolved toy PDF, per check scale.

    The largest over u, d, g and x in [1e-5, 0.8] of |interpolated / exact - 1|.
    """
    xf0 = toy_xf_evolution(xgrid, BASIS)
    rows = [EKO_PIDS.index(pid) for pid in (2, 1, 21)]
    keep = (xgrid >= 1e-5) & (xgrid <= 0.8)
    errors = []
    for q2, nf in checks:
        exact = to_basis(operators.exact(q2, nf)[rows], xgrid, xgrid)
        approx = to_basis(operators.interpolate(q2)[rows], xgrid, xgrid)
        pdf_exact = np.einsum("pyfx,fx->py", exact, xf0)[:, keep]
        pdf_approx = np.einsum("pyfx,fx->py", approx, xf0)[:, keep]
        errors.append(float(np.max(np.abs(pdf_approx / pdf_exact - 1.0))))
    return errors


NUMBA_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "n3fit_gpu" / "numba"


def skip_n3lo_matching() -> None:
    """Keep numba from compiling eko's O(as^3) heavy-quark matching, which no build here uses.

    eko's matching kernels call the N3LO operator matrix elements behind a run-time order
    check, so numba compiles them on first use whatever the order: measured here, over an
    hour of CPU for code an NLO or NNLO build (``--pto`` ≤ 2) never runs, on top of ~15 min
    for the rest of eko. They are replaced by stubs that refuse to run, and numba's cache
    must be our own folder (:data:`NUMBA_CACHE`, set through ``NUMBA_CACHE_DIR`` before numba
    is imported), so code compiled against the stubs never reaches the cache that other
    users of eko share.
    """
    import numba
    from ekore.operator_matrix_elements.unpolarized.space_like import as3

    if Path(numba.config.CACHE_DIR or "/") != NUMBA_CACHE:
        raise RuntimeError(
            f"numba caches to {numba.config.CACHE_DIR or 'the packages'}, not {NUMBA_CACHE}: "
            f"set NUMBA_CACHE_DIR={NUMBA_CACHE} before numba is imported"
        )

    @numba.njit
    def no_singlet(n, cache, nf, L):  # noqa: N803 (eko's names)
        if nf >= 0:
            raise ValueError("N3LO matching is disabled in build_theory.py (pto <= 2)")
        return np.zeros((3, 3), np.complex128)

    @numba.njit
    def no_non_singlet(n, cache, nf, L):  # noqa: N803
        if nf >= 0:
            raise ValueError("N3LO matching is disabled in build_theory.py (pto <= 2)")
        return np.zeros((2, 2), np.complex128)

    as3.A_singlet, as3.A_ns = no_singlet, no_non_singlet


def prepare_eko() -> None:
    """numba's cache and the N3LO stubs (:func:`skip_n3lo_matching`), before eko runs."""
    os.environ["NUMBA_CACHE_DIR"] = str(NUMBA_CACHE)  # before numba is imported
    skip_n3lo_matching()


def rebuild_evolution(
    folder: Path, q_knots: Sequence[float], cores: int, cache: Path | None = None
) -> None:
    """Recompute a built theory's evolution.npz (and its theory.json entries) in place.

    The FK tables, t0 and every other theory.json entry are kept byte for byte; the build
    record gets an "evolution" entry (command, versions, seconds, date).
    """
    from n3fit_gpu.atomic import atomic_savez, atomic_write_json
    from n3fit_gpu.physics.theory import read_metadata, sha256

    start = time.time()
    metadata = read_metadata(folder)
    prepare_eko()
    with tempfile.TemporaryDirectory(prefix="n3fit_gpu_evolution_") as tmp:
        with contextlib.redirect_stdout(io.StringIO()):
            arrays, record = build_evolution(
                metadata["theory_card"],
                np.asarray(metadata["xgrid"]),
                q_knots,
                Path(tmp),
                cores,
                cache,
            )
    atomic_savez(folder / EVOLUTION_FILE, **arrays)
    metadata["evolution"] = record
    metadata["files"][EVOLUTION_FILE] = sha256(folder / EVOLUTION_FILE)
    metadata["build"]["evolution"] = {
        "command": shlex.join(["python", "scripts/build_theory.py", *sys.argv[1:]]),
        "versions": {name: importlib.metadata.version(name) for name in ("eko", "numpy")},
        "seconds": round(time.time() - start, 1),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    atomic_write_json(folder / METADATA_FILE, metadata, indent=1)
    print(
        f"wrote {folder / EVOLUTION_FILE}: {arrays['operator'].shape}, {time.time() - start:.0f} s"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--theoryid", type=int, default=40000000, help="the NNPDF theory card to start from"
    )
    parser.add_argument(
        "--name",
        help="the id runcards name the built theory by (letters first; default "
        "<output folder's name>); never an NNPDF number, since the builder changes the card",
    )
    parser.add_argument(
        "--datasets", nargs="+", default=list(DEFAULT_DATASETS), metavar="NAME[:VARIANT]"
    )
    parser.add_argument("--output", type=Path)
    parser.add_argument(
        "--extend",
        type=Path,
        metavar="THEORY",
        help="add --datasets to this built theory, in place: its card, cuts and Q^2 nodes are "
        "used, so the new tables match the old; its other tables, evolution operator and t0 "
        "are kept (with --nnpdf-theory DIR, their NNPDF-layout tables are written to DIR too)",
    )
    parser.add_argument("--q2min", type=float, default=3.49)
    parser.add_argument("--w2min", type=float, default=12.5)
    parser.add_argument("--pto", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument(
        "--lhapdf-points",
        type=int,
        nargs=2,
        default=(4, 19),
        metavar=("BELOW", "ABOVE"),
        help="Q^2 points of the blocks below and above the bottom threshold that the FK "
        "tables' operators are interpolated on (with --refine)",
    )
    parser.add_argument(
        "--lhapdf-q",
        type=float,
        nargs="+",
        default=list(LHAPDF_Q_KNOTS),
        metavar="Q",
        help="Q knots (GeV) of the LHAPDF grids, from Q0 and through the bottom threshold "
        "(default: NNPDF4.0's 49)",
    )
    parser.add_argument(
        "--eko-cache",
        type=Path,
        help="an .npz keeping the LHAPDF evolution's eko operators (reused when it matches)",
    )
    parser.add_argument(
        "--evolution-only",
        action="store_true",
        help="recompute only the LHAPDF evolution (evolution.npz) of the theory in --output, "
        "from the card in its theory.json; FK tables and t0 are left as they are",
    )
    parser.add_argument(
        "--refine",
        type=int,
        default=2,
        help="split each LHAPDF Q^2 interval below the data's largest Q^2 in this many for the "
        "nodes the FK tables' operators are interpolated on",
    )
    parser.add_argument(
        "--cores", type=int, default=1, help="processes for eko's integrals (n_integration_cores)"
    )
    parser.add_argument(
        "--max-points",
        type=int,
        default=None,
        help="keep the first N points surviving cuts per dataset (tests)",
    )
    parser.add_argument(
        "--nnpdf-theory",
        type=Path,
        metavar="DIR",
        help="also write pineko's FK tables as DIR/fastkernel/<TABLE>.pineappl.lz4 (NNPDF's "
        "layout and nnpdf-data's table names, e.g. DIR = theory_90000001): every point of "
        "each dataset with Q^2 >= Q0^2 (cuts are not applied; rows below Q0^2 are zero)",
    )
    args = parser.parse_args(argv)
    if args.evolution_only:
        if args.output is None:
            parser.error("--evolution-only rewrites the evolution of --output DIR")
        rebuild_evolution(args.output, args.lhapdf_q, args.cores, args.eko_cache)
        return
    if (args.output is None) == (args.extend is None):
        parser.error("give exactly one of --output DIR (a new theory) and --extend THEORY")
    if args.extend is not None:
        extend_theory(args)
        return
    name = args.name or args.output.name
    if not name[:1].isalpha():
        parser.error(f"--name {name!r}: a theory name starts with a letter (e.g. my_dis_nlo)")
    start = time.time()
    prepare_eko()
    os.environ.setdefault("YADISM_LOG_LEVEL", str(logging.ERROR))  # yadism resets eko's too
    os.environ.setdefault("YADISM_SILENT_MODE", "1")

    from eko.matchings import nf_default
    from pineko.evolve import construct_atlas
    from pineko.opcard_template import xgrid as pineko_xgrid
    from tqdm import tqdm

    card, overrides = load_card(args.theoryid, args.pto)
    xgrid = np.asarray(pineko_xgrid, dtype=float)
    atlas = construct_atlas(card)

    def atlas_nf(q2: float) -> int:
        return int(nf_default(float(q2), atlas))

    datasets = requested_points(args, card, args.q2min, args.w2min)
    q2max = max(float(p.passing().q2.max()) for p in datasets if len(p.passing().q2))
    threshold = (card["kbThr"] * card["mb"]) ** 2
    nodes = interpolation_nodes(card["Q0"] ** 2, threshold, q2max, args.lhapdf_points, args.refine)
    targets = eko_targets(nodes)
    ntables = sum(len(TABLES[points.name]) for points in datasets)
    with (
        tempfile.TemporaryDirectory(prefix="n3fit_gpu_theory_") as tmp,
        tqdm(total=ntables + 3, desc="build theory", unit="step") as progress,
    ):
        work = Path(tmp)
        progress.set_postfix_str(f"eko at {len(targets)} scales")
        with contextlib.redirect_stdout(io.StringIO()):
            computed = solve_eko(card, xgrid, targets, work / "nodes_eko.tar", args.cores)
        progress.update()
        operators = OperatorSet(computed, nodes["dense"], atlas_nf)
        interpolation_errors = check_interpolation(operators, nodes["checks"], xgrid)
        fktables, entries = build_dataset_tables(
            card, datasets, xgrid, operators, work, progress, args.nnpdf_theory
        )
        progress.set_postfix_str("positivity and integrability")
        constraint_tables, positivity, integrability = build_constraints(operators, xgrid)
        progress.update()
        progress.set_postfix_str("evolution operator")
        evolution, evolution_record = build_evolution(
            card, xgrid, args.lhapdf_q, work, args.cores, args.eko_cache
        )
        progress.update()
    metadata = {
        "name": name,
        "theoryid": name,
        "theory_card": card,
        "q0": card["Q0"],
        "xgrid": xgrid.tolist(),
        "basis": list(BASIS),
        "convolution": "xf",
        "cuts": {"q2min": args.q2min, "w2min": args.w2min},
        "datasets": entries,
        "positivity": positivity,
        "integrability": integrability,
        "evolution": evolution_record,
        "build": {
            "command": shlex.join(["python", "scripts/build_theory.py", *sys.argv[1:]]),
            "versions": {name: importlib.metadata.version(name) for name in VERSIONED},
            "seconds": round(time.time() - start, 1),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "overrides": overrides,
            "q2_interpolation": {
                "nodes": {nf: grid.tolist() for nf, grid in nodes["dense"].items()},
                "checks_q2": [q2 for q2, _ in nodes["checks"]],
                "rel_errors": interpolation_errors,
                "max_rel_error": max(interpolation_errors),
            },
        },
    }
    write_theory(args.output, metadata, {**fktables, **constraint_tables}, evolution)
    theory = load_theory(path=args.output)
    ndata = sum(observable.ndata for observable in theory.datasets.values())
    print(
        f"wrote {args.output}: {len(theory.datasets)} datasets, {ndata} points, "
        f"{metadata['build']['seconds']:.0f} s, Q^2 interpolation error "
        f"{max(interpolation_errors):.1e}"
    )


def extend_theory(args: argparse.Namespace) -> None:
    """``--extend``: FK tables of more datasets, on the theory's own eko nodes, merged in place
    (fktables.npz and theory.json rewritten atomically; nothing else touched)."""
    start = time.time()
    os.environ["NUMBA_CACHE_DIR"] = str(NUMBA_CACHE)  # before numba is imported
    skip_n3lo_matching()
    os.environ.setdefault("YADISM_LOG_LEVEL", str(logging.ERROR))
    os.environ.setdefault("YADISM_SILENT_MODE", "1")

    from eko.matchings import nf_default
    from pineko.evolve import construct_atlas
    from tqdm import tqdm

    from n3fit_gpu.atomic import atomic_savez, atomic_write_json
    from n3fit_gpu.physics.theory import FKTABLES_FILE, METADATA_FILE, read_metadata, sha256

    folder = args.extend
    metadata = read_metadata(folder)
    card, cuts = metadata["theory_card"], metadata["cuts"]
    xgrid = np.asarray(metadata["xgrid"], dtype=float)
    dense = {
        int(nf): np.asarray(grid)
        for nf, grid in metadata["build"]["q2_interpolation"]["nodes"].items()
    }
    present = [spec for spec in args.datasets if spec.partition(":")[0] in metadata["datasets"]]
    if present:
        sys.exit(f"error: {folder} already holds {present}; name only new datasets")
    datasets = requested_points(args, card, cuts["q2min"], cuts["w2min"])
    atlas = construct_atlas(card)
    targets = sorted((float(q2), nf) for nf, grid in dense.items() for q2 in grid)
    ntables = sum(len(TABLES[points.name]) for points in datasets)
    with (
        tempfile.TemporaryDirectory(prefix="n3fit_gpu_theory_") as tmp,
        tqdm(total=ntables + 1, desc="extend theory", unit="step") as progress,
    ):
        work = Path(tmp)
        progress.set_postfix_str(f"eko at {len(targets)} scales")
        with contextlib.redirect_stdout(io.StringIO()):
            computed = solve_eko(card, xgrid, targets, work / "nodes_eko.tar", args.cores)
        progress.update()
        operators = OperatorSet(computed, dense, lambda q2: int(nf_default(float(q2), atlas)))
        tables, entries = build_dataset_tables(
            card, datasets, xgrid, operators, work, progress, args.nnpdf_theory
        )
    with np.load(folder / FKTABLES_FILE) as archive:
        tables = {**{key: archive[key] for key in archive.files}, **tables}
    atomic_savez(folder / FKTABLES_FILE, **tables)
    metadata["datasets"].update(entries)
    metadata["files"][FKTABLES_FILE] = sha256(folder / FKTABLES_FILE)
    metadata["build"].setdefault("extensions", []).append(
        {
            "command": shlex.join(["python", "scripts/build_theory.py", *sys.argv[1:]]),
            "datasets": list(entries),
            "seconds": round(time.time() - start, 1),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
    )
    atomic_write_json(folder / METADATA_FILE, metadata, indent=1)
    ndata = sum(len(entry["data_indices"]) for entry in entries.values())
    print(
        f"extended {folder}: +{len(entries)} datasets, +{ndata} points, {time.time() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
