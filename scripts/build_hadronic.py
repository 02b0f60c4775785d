"""Build the FK tables of E866's Drell–Yan ratio sigma^pd / 2 sigma^pp in NNPDF's theory layout.

Needs the [theory] extra (eko, pineappl, pineko). Usage::

    python scripts/build_hadronic.py [--output n3fit_gpu/physics/theories/theory_90000001]

writes ``OUTPUT/fastkernel/DYE866R_D.pineappl.lz4`` (deuteron, per nucleon) and
``DYE866R_P.pineappl.lz4`` (proton), the tables nnpdf-data's metadata of
``DYE866_Z0_800GEV_DW_RATIO_PDXSECRATIO`` names (operation RATIO, D / P), and
``OUTPUT/build_e866.json`` (settings, versions, time, checks). Steps:

1. the 15 points' kinematics (y, M^2, sqrt(s) = 38.8 GeV) from nnpdf-data; E866 binned in x2
   (the target's momentum fraction) and averaged over its acceptance in M and x_F; nnpdf-data
   gives one representative (y, M^2) per bin and so does this build: point-like predictions;
2. a PineAPPL grid per target of the LO cross section d^2 sigma / dM^2 dy
   (:mod:`n3fit_gpu.physics.drell_yan`; q qbar -> gamma*, mu_F = M, deuteron = (p + n) / 2 by
   isospin, no nuclear corrections) on pineko's 50-node x grid, checked against the formula
   evaluated directly with the toy PDF at Q = M (no evolution);
3. eko evolves from Q0 to each distinct M^2 (exact scales, no interpolation in Q^2) with the
   card of the shipped DIS theory (``n3fit_gpu_dis_nlo/theory.json``: card 40000000 at NLO,
   ZM-VFNS, fitted charm, Q0 = 1.65 GeV), and pineko turns each grid into an FK table;
4. checks: our reader (``nnpdf_theory.load_dataset_fk`` + ``channel_convolution``) against
   PineAPPL's convolution of the FK tables, and the FK tables against the formula evaluated
   with the toy PDF evolved by the same eko operators.

Perturbative order: the partonic cross section is LO (alpha_s^0) while the PDFs evolve at NLO
(the card's PTO = 1). The FK tables therefore miss the O(alpha_s) coefficient functions (q qbar
virtual + real, and the q g channel): a K-factor of ~1.3-1.5 at these masses, which largely
cancels in the pd/pp ratio (the qg channel's share differs slightly between targets).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import io
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # build_theory beside this script

import build_theory  # noqa: E402

from n3fit_gpu.physics import drell_yan  # noqa: E402
from n3fit_gpu.physics.nnpdf_layout import (  # noqa: E402
    N3FIT_GPU_THEORY_ID,
    fastkernel_path,
    proton_conv,
)
from n3fit_gpu.physics.theory import SHIPPED_DIR  # noqa: E402
from n3fit_gpu.physics.toy_pdf import toy_xf_flavour  # noqa: E402

DATASET = "DYE866_Z0_800GEV_DW_RATIO_PDXSECRATIO"
TARGET_OF_TABLE = {"DYE866R_D": "deuteron", "DYE866R_P": "proton"}
DEFAULT_OUTPUT = SHIPPED_DIR / f"theory_{N3FIT_GPU_THEORY_ID}"
DEFAULT_CARD = SHIPPED_DIR / "n3fit_gpu_dis_nlo" / "theory.json"
VERSIONED = ("eko", "pineappl", "pineko", "nnpdf-data", "numpy")


def load_kinematics(max_points: int | None = None):
    """``(y, M^2, sqrt(s), table names)`` of E866's ratio from nnpdf-data (first max_points)."""
    import nnpdf_data
    from nnpdf_data.commondataparser import parse_new_metadata

    from n3fit_gpu.physics.nnpdf_theory import theory_metadata

    setname, _, observable = DATASET.rpartition("_")
    path = Path(nnpdf_data.__file__).parent / "commondata" / setname / "metadata.yaml"
    kinematics = parse_new_metadata(path, observable).load_kinematics()
    y, m2, sqrts = (kinematics[(k, "mid")].to_numpy(dtype=float) for k in ("y", "M2", "sqrts"))
    meta = theory_metadata(DATASET)
    names = [operand[0] for operand in meta.FK_tables]
    if str(meta.operation).upper() != "RATIO" or sorted(names) != sorted(TARGET_OF_TABLE):
        sys.exit(
            f"error: {DATASET}: expected RATIO of {sorted(TARGET_OF_TABLE)}; nnpdf-data has "
            f"{meta.operation} of {names}"
        )
    if len(set(sqrts)) != 1:
        sys.exit(f"error: {DATASET}: several sqrt(s) {sorted(set(sqrts))}")
    return y[:max_points], m2[:max_points], float(sqrts[0]), names


def toy_xfx(pid: int, x) -> np.ndarray:
    """x f of the toy PDF (used as if at any scale)."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    return toy_xf_flavour(x).get(pid, np.zeros_like(x))


def grid_vs_direct(grid, y, m2, sqrts, target) -> float:
    """Largest |grid / direct - 1| with the toy PDF at Q = M (the grid's x interpolation)."""

    def xfx(pid, x, _q2):
        return float(toy_xfx(pid, x)[0])

    conv = np.asarray(
        grid.convolve(pdg_convs=[proton_conv()] * 2, xfxs=[xfx] * 2, alphas=lambda _q2: 0.0)
    )
    direct = drell_yan.direct_cross_section(toy_xfx, y, m2, sqrts, target)
    return float(np.max(np.abs(conv / direct - 1.0)))


def evolve(grid, card: dict, eko_path: Path, fk_path: Path):
    """pineko: the grid and the EKO at its scales -> an FK table written at ``fk_path``."""
    from eko.io.struct import EKO
    from pineko.evolve import evolve_grid
    from pineko.theory_card import construct_assumptions

    max_as, max_al = 1 + card["PTO"], 1 + card["QED"]
    fk_path.parent.mkdir(parents=True, exist_ok=True)
    with EKO.read(eko_path) as beam, EKO.read(eko_path) as target:
        _, fktable, _ = evolve_grid(
            grid,
            [beam, target],
            str(fk_path),
            max_as,
            max_al,
            1.0,
            1.0,
            1.0,
            card,
            assumptions=construct_assumptions(card),
        )
    return fktable


def evolved_toy(operators: dict, q2: float, nf: int, xgrid: np.ndarray):
    """``xfx(pid, x)`` of the toy at Q0 evolved by eko's operator to (q2, nf), on ``xgrid``
    and interpolated between nodes as the grids are (:func:`drell_yan.interpolation_weights`)."""
    pids = build_theory.EKO_PIDS
    f0 = np.stack([toy_xfx(pid, xgrid) / xgrid for pid in pids])  # (14, nx) on f
    (operator,) = [op for (mu2, n), op in operators.items() if n == nf and np.isclose(mu2, q2)]
    f_q = np.einsum("aibj,bj->ai", operator, f0)

    def xfx(pid: int, x) -> np.ndarray:
        x = np.atleast_1d(x)
        weights = np.stack([drell_yan.interpolation_weights(v, xgrid) for v in x])
        return x * (weights @ f_q[pids.index(pid)])

    return xfx


def check_fk_tables(output: Path, names, operators, atlas_nf, y, m2, sqrts, xgrid) -> dict:
    """Reader vs PineAPPL, and FK tables vs the formula with the eko-evolved toy."""
    from pineappl.fk_table import FkTable

    from n3fit_gpu.physics.channel_convolution import ChannelPlan, predict
    from n3fit_gpu.physics.nnpdf_theory import common_xgrid, load_dataset_fk
    from n3fit_gpu.physics.theory import BASIS, Q0_PIDS, evolution_rotation

    dataset = load_dataset_fk(output, DATASET)
    grid_x = common_xgrid(dataset.tables)
    flavours = np.stack([toy_xfx(pid, grid_x) for pid in Q0_PIDS])
    xf = (evolution_rotation(BASIS) @ flavours).T[None]  # (1, nx, 9)
    ours = [predict(ChannelPlan.from_table(t, grid_x), xf)[0] for t in dataset.tables]

    def xfx(pid, x, _q2):
        return float(toy_xfx(pid, x)[0])

    reader, evolution = 0.0, 0.0
    for name, mine in zip(names, ours, strict=True):
        fk = FkTable.read(str(fastkernel_path(output, name)))
        theirs = np.asarray(fk.convolve(pdg_convs=[proton_conv()] * 2, xfxs=[xfx] * 2))
        reader = max(reader, float(np.max(np.abs(mine / theirs - 1.0))))
        direct = np.array(
            [
                drell_yan.direct_cross_section(
                    evolved_toy(operators, q2, atlas_nf(q2), xgrid),
                    [yk],
                    [q2],
                    sqrts,
                    TARGET_OF_TABLE[name],
                )[0]
                for yk, q2 in zip(y, m2, strict=True)
            ]
        )
        evolution = max(evolution, float(np.max(np.abs(theirs / direct - 1.0))))
    ratio = dataset.combine([p[None] for p in ours])[0]
    return {
        "reader_vs_pineappl_max_rel": reader,
        "fk_vs_direct_evolved_toy_max_rel": evolution,
        "toy_ratio_d_over_p": ratio.tolist(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="theory_<ID> folder")
    parser.add_argument(
        "--card",
        type=Path,
        default=DEFAULT_CARD,
        help="theory.json whose theory_card to use (default: the shipped DIS one)",
    )
    parser.add_argument("--max-points", type=int, default=None, help="first N points (tests)")
    parser.add_argument("--cores", type=int, default=1, help="eko's n_integration_cores")
    args = parser.parse_args(argv)
    start = time.time()
    os.environ["NUMBA_CACHE_DIR"] = str(build_theory.NUMBA_CACHE)  # before numba is imported
    build_theory.skip_n3lo_matching()

    from eko.matchings import nf_default
    from pineko.evolve import construct_atlas
    from pineko.opcard_template import xgrid as pineko_xgrid

    card = json.loads(args.card.read_text())["theory_card"]
    xgrid = np.asarray(pineko_xgrid, dtype=float)
    atlas = construct_atlas(card)

    def atlas_nf(q2: float) -> int:
        return int(nf_default(float(q2), atlas))

    y, m2, sqrts, names = load_kinematics(args.max_points)
    targets = sorted({(float(q2), atlas_nf(q2)) for q2 in m2})
    grid_checks = {}
    with tempfile.TemporaryDirectory(prefix="n3fit_gpu_e866_") as tmp:
        eko_path = Path(tmp) / "e866_eko.tar"
        print(f"eko at {len(targets)} scales ...", flush=True)
        with contextlib.redirect_stdout(io.StringIO()):
            operators = build_theory.solve_eko(card, xgrid, targets, eko_path, args.cores)
        for name in names:
            target = TARGET_OF_TABLE[name]
            grid = drell_yan.point_grid(y, m2, sqrts, target, xgrid)
            grid_checks[name] = grid_vs_direct(grid, y, m2, sqrts, target)
            with contextlib.redirect_stdout(io.StringIO()):
                evolve(grid, card, eko_path, fastkernel_path(args.output, name))
    checks = check_fk_tables(args.output, names, operators, atlas_nf, y, m2, sqrts, xgrid)
    report = {
        "dataset": DATASET,
        "tables": {name: TARGET_OF_TABLE[name] for name in names},
        "points": len(y),
        "observable": "d^2 sigma / dM^2 dy [pb/GeV^2], LO q qbar -> gamma*, mu_F = mu_R = M",
        "kinematics": {"y": y.tolist(), "M2": m2.tolist(), "sqrts": sqrts},
        "eko_scales": [list(t) for t in targets],
        "theory_card": card,
        "checks": {"grid_vs_direct_toy_at_Q_max_rel": grid_checks, **checks},
        "build": {
            "command": shlex.join(["python", "scripts/build_hadronic.py", *sys.argv[1:]]),
            "versions": {n: importlib.metadata.version(n) for n in VERSIONED},
            "seconds": round(time.time() - start, 1),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        },
    }
    (args.output / "build_e866.json").write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"wrote {args.output}/fastkernel/{{{','.join(names)}}}.pineappl.lz4: {len(y)} points, "
        f"{report['build']['seconds']:.0f} s, grid vs direct "
        f"{max(grid_checks.values()):.1e}, FK vs evolved direct "
        f"{checks['fk_vs_direct_evolved_toy_max_rel']:.1e}"
    )


if __name__ == "__main__":
    main()
