"""NNPDF's evolven3fit on a fit folder made by ``fit``, with an EKO written from our theory
(scripts/write_eko.py), against our own LHAPDF grids; NNPDF's postfit on what it evolved; two
independent LHAPDF readers (parton here, pdfflow in NNPDF's venv) on our set; the sum rules of
every replica integrated from our grid.

Tolerances. Our grids and evolven3fit's share the operator and the x and Q knots; they differ
where evolven3fit interpolates: it reinterpolates the exportgrid (196 x) to the operator's 63-x
input grid where we evaluate the network there, and at Q0 it writes the operator's identity
reinterpolated back to the 196 knots where we write the exportgrid itself. Above Q0 they agree
to ``RTOL`` relative, with ``FLOOR`` of the flavour's largest |x f| at that Q added to the
denominator (near x = 1 and near the zero crossings of the fitted charm, a relative difference
of two interpolations of a vanishing function tests nothing): measured 6.2e-4 and 1.02e-3 on two
quick-start fits, the exportgrid's ln x interpolation error on the 63 points; at Q0, where
evolven3fit's values are the exportgrid interpolated to 63 points and back, to ``RTOL_Q0``.
The two readers interpolate differently (parton: a global bicubic spline per block;
pdfflow: LHAPDF's local cubic), so between knots they differ by the interpolation error of
the grid itself: with the same metric up to 1.0e-3, for the fitted charm just above Q0
(``READERS_RTOL``).
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.outputs.lhapdf import read_lhapdf_member
from n3fit_gpu.physics.theory import load_theory
from tests.interop.conftest import REPLICAS
from tests.outputs.grid_integrals import SUM_RULES, grid_sum_rules

pytestmark = [pytest.mark.slow, pytest.mark.nnpdf]
ROOT = Path(__file__).resolve().parents[2]
PDFFLOW_PROBE = Path(__file__).with_name("pdfflow_probe.py")
RTOL, RTOL_Q0, READERS_RTOL, FLOOR = 2e-3, 5e-2, 2e-3, 1e-2
PIDS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)


@pytest.fixture(scope="module")
def eko_file(nnpdf_python, tmp_path_factory) -> Path:
    """Our theory's EKO, written with our eko (the [theory] extra) or, without it, the venv's."""
    path = tmp_path_factory.mktemp("eko") / "eko.tar"
    python = sys.executable if importlib.util.find_spec("eko") else nnpdf_python
    theory = load_theory("n3fit_gpu_dis_nlo").path
    command = [python, ROOT / "scripts" / "write_eko.py", "--theory", theory, "--output", path]
    command += ["--nnpdf-python", nnpdf_python]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return path


@pytest.fixture(scope="module")
def evolved(nnpdf_python, fit_folder, eko_file, tmp_path_factory) -> Path:
    """A copy of the fit folder, its nnfit/ evolved by evolven3fit and selected by postfit."""
    fit = tmp_path_factory.mktemp("evolven3fit") / fit_folder.name
    shutil.copytree(fit_folder, fit)
    for stale in fit.glob("nnfit/**/*.dat"):
        stale.unlink()  # ours: evolven3fit must write every member itself
    (fit / "nnfit" / f"{fit.name}.info").unlink()
    evolven3fit = nnpdf_python.parent / "evolven3fit"
    command = [evolven3fit, "--no-net", "evolve", fit.name, "--load", eko_file]
    run = subprocess.run(command, cwd=fit.parent, capture_output=True, text=True)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    return fit


def _differences(theirs: np.ndarray, ours: np.ndarray) -> np.ndarray:
    """Per Q, the largest |theirs - ours| / (|ours| + FLOOR × the flavour's largest |x f| at
    that Q): relative where x f is not small, and relative to FLOOR of the largest near a zero
    crossing (fitted charm) or x = 1. A flavour that vanishes (b up to m_b) must in both."""
    scale = np.abs(ours).max(axis=-1, keepdims=True)  # (nq, npid, 1)
    vanishing = np.broadcast_to(scale <= 1e-10 * np.abs(ours).max(), ours.shape)
    assert np.all(np.abs(theirs[vanishing]) <= 1e-12 * np.abs(ours).max())
    ratio = np.abs(theirs - ours) / (np.abs(ours) + FLOOR * scale + 1e-300)
    return np.where(vanishing, 0.0, ratio).max(axis=(1, 2))


def _compare_members(theirs_folder: Path, theirs_member, ours_folder: Path, ours_member):
    """Largest relative difference at Q0 and above; knots and blocks must be the same."""
    theirs = read_lhapdf_member(theirs_folder, theirs_member)
    ours = read_lhapdf_member(ours_folder, ours_member)
    assert len(theirs) == len(ours) == 2
    per_q = []
    for a, b in zip(theirs, ours, strict=True):
        np.testing.assert_allclose(a.xgrid, b.xgrid, rtol=1e-6)  # NNPDF writes 7-8 digits
        np.testing.assert_allclose(a.q, b.q, rtol=1e-6)
        rows = [a.pids.index(pid) for pid in b.pids]
        per_q.append(_differences(a.xf[:, rows], b.xf))
    per_q = np.concatenate(per_q)
    return float(per_q[0]), float(per_q[1:].max())


def test_evolven3fit_evolves_our_exportgrids_as_we_do(evolved, fit_folder):
    nnfit = evolved / "nnfit"
    info = (nnfit / f"{evolved.name}.info").read_text()
    assert "XMin: 1.0e-09" in info and "NumMembers: REPLACE_NREP" in info
    for replica in range(1, REPLICAS + 1):
        for folder in (nnfit / f"replica_{replica}", fit_folder / "nnfit" / f"replica_{replica}"):
            # read_lhapdf_member wants a set folder: view each replica's .dat as member 0
            (folder / f"{folder.name}.info").write_text(info)
            shutil.copy(folder / f"{evolved.name}.dat", folder / f"{folder.name}_0000.dat")
        at_q0, above = _compare_members(
            nnfit / f"replica_{replica}", 0, fit_folder / "nnfit" / f"replica_{replica}", 0
        )
        assert above < RTOL and at_q0 < RTOL_Q0, f"replica {replica}: {above:.2e}, {at_q0:.2e}"


def test_nnpdf_postfit_on_evolven3fits_grids_gives_our_set(nnpdf_python, evolved, fit_folder):
    selected = json.loads((fit_folder / "summary.json").read_text())["postfit"]["selected"]
    command = [nnpdf_python.parent / "postfit", str(len(selected)), evolved.name]
    run = subprocess.run(command, cwd=evolved.parent, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    chosen = [
        (evolved / "postfit" / f"replica_{k}").resolve().name for k in range(1, 1 + len(selected))
    ]
    assert chosen == [f"replica_{r}" for r in selected]
    ours = fit_folder / "lhapdf" / fit_folder.name
    at_q0, above = _compare_members(evolved / "postfit" / evolved.name, 0, ours, 0)
    assert above < RTOL and at_q0 < RTOL_Q0, f"replica 0: {above:.2e}, at Q0 {at_q0:.2e}"


def _off_knot_points(ours: Path) -> dict:
    """Points half-way between knots in ln x and ln Q (x ≥ 1e-8, Q up to 1e4 GeV)."""
    blocks = read_lhapdf_member(ours, 0)
    knots_q = np.concatenate([b.q for b in blocks])
    knots_x = blocks[0].xgrid
    mid_x = np.sqrt(knots_x[:-1] * knots_x[1:])[::7]
    mid_q = np.sqrt(knots_q[:-1] * knots_q[1:])
    mid_q = mid_q[(mid_q > knots_q[0]) & (mid_q < 1e4) & ~np.isclose(mid_q, 4.92)][::2]
    x, q = np.meshgrid(mid_x[mid_x > 1e-8], mid_q, indexing="ij")
    return {"pids": list(PIDS), "x": x.ravel().tolist(), "q2": (q.ravel() ** 2).tolist()}


def test_two_lhapdf_readers_agree_on_our_set(nnpdf_python, fit_folder):
    parton = pytest.importorskip("parton")
    ours = fit_folder / "lhapdf" / fit_folder.name
    points = _off_knot_points(ours)
    run = subprocess.run(
        [nnpdf_python, PDFFLOW_PROBE, ours, "0"],
        input=json.dumps(points),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    theirs = np.array(json.loads(run.stdout))  # (npoints, npid)
    pdf = parton.mkPDF(fit_folder.name, 0, pdfdir=str(ours.parent))
    x, q2 = np.array(points["x"]), np.array(points["q2"])
    mine = np.array(
        [[pdf.xfxQ2(pid, np.array([a, a]), b)[0, 0] for pid in PIDS] for a, b in zip(x, q2)]
    )
    scale = np.abs(mine).max(axis=0, keepdims=True)
    worst = np.max(np.abs(theirs - mine) / (np.abs(mine) + FLOOR * scale))
    assert worst < READERS_RTOL, f"parton and pdfflow differ by {worst:.2e}"


def test_sum_rules_hold_on_our_grid_for_every_member(fit_folder):
    """At Q0 the integrals over the grid's [1e-9, 1] are the fit's; above, momentum stays and
    the u and d valence numbers over [0, 1] (the part below 1e-9 as a power law) are conserved.
    Over [1e-9, 1] alone they fall by up to 4.6e-3 at 1e5 GeV, valence evolving below 1e-9;
    s_v, whose small-x tail changes sign, is checked at Q0 only (it drifts by up to 4e-3)."""
    ours = fit_folder / "lhapdf" / fit_folder.name
    for member in range(len(list(ours.glob("*.dat")))):
        blocks = read_lhapdf_member(ours, member)
        at_q0 = grid_sum_rules(blocks[0].xgrid, blocks[0].pids, blocks[0].xf[:1])
        for name, expected in SUM_RULES.items():
            assert abs(at_q0[name][0] - expected) < 1e-3, f"{name} at Q0, member {member}"
        total_q0 = grid_sum_rules(blocks[0].xgrid, blocks[0].pids, blocks[0].xf[:1], tail=True)
        for block in blocks:
            total = grid_sum_rules(block.xgrid, block.pids, block.xf, tail=True)
            np.testing.assert_allclose(total["momentum"], 1.0, atol=1e-3, err_msg=str(member))
            for name in ("uv", "dv"):
                np.testing.assert_allclose(
                    total[name], total_q0[name][0], atol=1e-3, err_msg=f"{name}, {member}"
                )
