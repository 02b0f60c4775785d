"""The offline theory builder, end to end, and the shipped FK tables against yadism + eko.

Needs the [theory] extra. Runtime on 2 busy cores with a warm numba cache: ~4 min for the tiny
build (13 eko scales, then 4 LHAPDF scales on 63 x: 245 s measured 2026-12-07), ~3.5 min for
the comparison (5 exact eko scales + yadism). The first eko call on a machine compiles its
kernels with numba, cached in the builder's own folder: ~15 min of wall time on busy cores, once
eko's N3LO matching is stubbed out as the builder does (with it, over an hour more).
"""

import copy
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.physics.theory import BASIS, load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution, toy_xf_flavour

pytestmark = [pytest.mark.theory, pytest.mark.slow]
for _module in ("eko", "yadism", "pineappl", "pineko"):
    pytest.importorskip(_module, reason="needs the [theory] extra (eko, yadism, pineappl, pineko)")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_theory.py"
EKO_PIDS = (22, -6, -5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5, 6)


def _builder():
    spec = importlib.util.spec_from_file_location("build_theory", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builder_writes_a_loadable_theory(tmp_path):
    output = tmp_path / "theory"
    options = (
        "--datasets HERA_CC_318GEV_EP-SIGMARED --max-points 3 --lhapdf-points 2 2 --refine 3 "
        f"--lhapdf-q 1.65 4.92 10 --eko-cache {tmp_path / 'eko.npz'}"
    )
    layout_folder = tmp_path / "theory_90000001"
    command = [sys.executable, str(SCRIPT), *options.split(), "--output", str(output)]
    command += ["--nnpdf-theory", str(layout_folder)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    built = load_theory(path=output)

    observable = built.datasets["HERA_CC_318GEV_EP-SIGMARED"]
    assert observable.ndata == 3 and observable.operation == "NULL"
    np.testing.assert_array_equal(observable.data_indices, [0, 1, 2])  # all CC points pass cuts
    np.testing.assert_allclose(observable.kinematics["Q2"], [300.0, 300.0, 300.0])
    xf = toy_xf_evolution(built.xgrid, BASIS)
    assert np.all(np.einsum("nfx,fx->n", observable.fktables[0], xf) > 0)
    assert len(built.positivity) == 7 and len(built.integrability) == 5
    evolution = built.evolution()
    nx = len(built.xgrid) + 13  # extended down to x = 1e-9 with the grid's own ln x step
    assert evolution.operator.shape == (4, 11, nx, len(BASIS), nx)
    assert evolution.x_interpolation.shape == (196, nx) and evolution.xgrid_in[0] == 1e-9
    assert built.metadata["build"]["overrides"]["FNS"] == "ZM-VFNS"
    assert built.theoryid == "theory"  # named after its folder, never NNPDF's 40000000

    # the same tables in NNPDF's layout: all 39 rows, the 3 computed ones equal to the npz's
    from n3fit_gpu.physics.nnpdf_theory import load_dataset_fk

    (table,) = load_dataset_fk(layout_folder, "HERA_CC_318GEV_EP-SIGMARED", variant="legacy").tables
    assert table.name == "HERA_CC_318GEV_EP_SIGMARED" and table.ndata == 39
    dense = table.dense()  # on the x nodes pineko kept (a subset of the theory's grid)
    assert not dense[3:].any()
    layout = np.einsum("nfx,fx->n", dense[:3], toy_xf_evolution(table.xgrid, BASIS))
    np.testing.assert_allclose(
        layout, np.einsum("nfx,fx->n", observable.fktables[0], xf), rtol=1e-12
    )

    # --evolution-only rewrites evolution.npz alone (the eko cache spares a second eko run)
    before = {name: (output / name).read_bytes() for name in ("fktables.npz", "evolution.npz")}
    command = [*command, "--evolution-only"]
    subprocess.run(command, check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    rebuilt = load_theory(path=output)
    assert (output / "fktables.npz").read_bytes() == before["fktables.npz"]
    assert rebuilt.metadata["files"]["fktables.npz"] == built.metadata["files"]["fktables.npz"]
    assert "evolution" in rebuilt.metadata["build"]
    np.testing.assert_array_equal(rebuilt.evolution().operator, evolution.operator)

    # --extend adds datasets in place, on the theory's own eko nodes, and keeps the rest; with
    # --nnpdf-theory their tables join the NNPDF-layout folder too
    extend = [sys.executable, str(SCRIPT), "--extend", str(output), "--max-points", "3"]
    chorus = "CHORUS_CC_NOTFIXED_PB_NU-SIGMARED"
    subprocess.run([*extend, "--nnpdf-theory", str(layout_folder), "--datasets", chorus],
                   check=True, cwd=ROOT, env=env, text=True, capture_output=True)  # fmt: skip
    extended = load_theory(path=output)
    np.testing.assert_array_equal(
        extended.datasets["HERA_CC_318GEV_EP-SIGMARED"].fktables[0], observable.fktables[0]
    )
    neutrino = extended.datasets[chorus]
    assert neutrino.ndata == 3 and np.all(np.einsum("nfx,fx->n", neutrino.fktables[0], xf) > 0)
    assert extended.metadata["build"]["extensions"][0]["datasets"] == [chorus]
    (nu_table,) = load_dataset_fk(layout_folder, chorus, variant="legacy").tables
    rows = nu_table.dense()[neutrino.data_indices]
    np.testing.assert_allclose(
        np.einsum("nfx,fx->n", rows, toy_xf_evolution(nu_table.xgrid, BASIS)),
        np.einsum("nfx,fx->n", neutrino.fktables[0], xf),
        rtol=1e-12,
    )
    again = subprocess.run([*extend, "--datasets", chorus], cwd=ROOT, env=env, text=True,
                           capture_output=True)  # fmt: skip
    assert again.returncode != 0 and "already holds" in again.stderr


class _EvolvedToy:
    """LHAPDF-like access to the toy PDF evolved by eko, at the eko's scales and x grid."""

    def __init__(self, xf_by_q2: dict[float, np.ndarray], xgrid: np.ndarray):
        self.xf_by_q2, self.xgrid = xf_by_q2, xgrid

    def hasFlavor(self, pid):  # noqa: N802 (LHAPDF's name)
        return pid in EKO_PIDS

    def xfxQ2(self, pid, x, q2):  # noqa: N802
        scale = min(self.xf_by_q2, key=lambda known: abs(known - q2))
        assert np.isclose(scale, q2, rtol=1e-9)
        column = int(np.argmin(np.abs(self.xgrid - x)))
        return self.xf_by_q2[scale][EKO_PIDS.index(pid), column]


def _evolve_toy(card: dict, scales: list[float], xgrid: np.ndarray, work: Path) -> dict:
    """x f of the toy PDF evolved exactly by eko to each scale, (14 EKO_PIDS, nx) per Q^2."""
    import eko

    _builder().skip_n3lo_matching()  # as the builder does: no hour-long N3LO compile
    from eko.io.runcards import Legacy, OperatorCard

    configs = {
        "evolution_method": "truncated",
        "ev_op_max_order": [10, 0],
        "ev_op_iterations": 1,
        "interpolation_polynomial_degree": 4,
        "interpolation_is_log": True,
        "scvar_method": None,
        "inversion_method": "expanded",
        "n_integration_cores": 1,
        "polarized": False,
        "time_like": False,
    }
    operator = OperatorCard.from_dict(
        {
            "init": (card["Q0"], card["nf0"]),
            "mugrid": [(float(np.sqrt(q2)), 4 if q2 < card["mb"] ** 2 else 5) for q2 in scales],
            "xgrid": list(xgrid),
            "configs": configs,
            "debug": {"skip_singlet": False, "skip_non_singlet": False},
            "eko_version": eko.__version__,
        }
    )
    eko.solve(Legacy(card, {}).new_theory, operator, work / "direct.tar")
    flavours = toy_xf_flavour(xgrid)
    f0 = np.array([flavours.get(pid, np.zeros_like(xgrid)) for pid in EKO_PIDS]) / xgrid
    with eko.EKO.read(work / "direct.tar") as operators:
        return {
            ep[0]: np.einsum("aybx,bx->ay", op.operator, f0) * xgrid for ep, op in operators.items()
        }


def _direct(card: dict, table, points: dict, xgrid: np.ndarray, work: Path) -> np.ndarray:
    """yadism's observable for the toy PDF evolved exactly (no Q^2 interpolation) by eko."""
    import yadism

    evolved = _evolve_toy(card, sorted(set(points["Q2"])), xgrid, work)
    kinematics = [
        {"x": x, "Q2": q2, "y": y}
        for x, q2, y in zip(points["x"], points["Q2"], points["y"], strict=True)
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
    results = output.apply_pdf(_EvolvedToy(evolved, xgrid))[table.observable]
    return np.array([result["result"] for result in results])


@pytest.mark.parametrize(
    ("dataset", "rows"),
    [("HERA_NC_318GEV_EP-SIGMARED", [0, 60, 200]), ("NMC_NC_NOTFIXED_P_EM-SIGMARED", [0, 100])],
)
def test_shipped_tables_match_direct_yadism_and_eko(dataset, rows, tmp_path):
    theory = load_theory(theoryid="n3fit_gpu_dis_nlo")
    observable = theory.datasets[dataset]
    points = {key: observable.kinematics[key][rows].tolist() for key in ("x", "Q2", "y")}
    table = _builder().TABLES[dataset][0]
    direct = _direct(theory.theory_card, table, points, theory.xgrid, tmp_path)
    xf = toy_xf_evolution(theory.xgrid, BASIS)
    ours = np.einsum("nfx,fx->n", observable.fktables[0][rows], xf)
    np.testing.assert_allclose(ours, direct, rtol=1e-3)
