"""NNPDF's own tools (nnpdf 4.1.5, in its own virtualenv made by scripts/nnpdf_venv.sh) on
folders written by ``fit`` and ``hyperscan export``: validphys' fit loaders, NNPDF's postfit
(selection and replica 0 compared with ours), vp-hyperoptplot's trial reader.

Set ``N3FIT_NNPDF_PYTHON`` to that virtualenv's python; without it the tests skip (and fail
under CI=true, where .ci/run makes the virtualenv)."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from n3fit_gpu.cli.hyperscan import main as scan_main
from n3fit_gpu.outputs.lhapdf import read_lhapdf_member
from n3fit_gpu.search.store import TrialLog
from tests.cli.test_hyperscan import tiny_card
from tests.interop.conftest import REPLICAS

pytestmark = [pytest.mark.slow, pytest.mark.nnpdf]
PROBE = Path(__file__).with_name("nnpdf_probe.py")


@pytest.fixture(scope="module")
def scan_export(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("interop_scan")
    card = tiny_card(tmp)
    result = CliRunner().invoke(scan_main, [str(card), "-n", "2", "-o", str(tmp / "out"), "-q"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(scan_main, ["export", str(tmp / "out" / "tiny")])
    assert result.exit_code == 0, result.output
    return tmp / "out" / "tiny"


def test_validphys_reads_the_fit_and_vp_hyperoptplot_the_scan(
    nnpdf_python, fit_folder, scan_export
):
    run = subprocess.run(
        [nnpdf_python, PROBE, fit_folder, scan_export / "nnpdf"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    read = json.loads(run.stdout)
    ours = [
        json.loads((fit_folder / "nnfit" / f"replica_{r}" / "interop.json").read_text())
        for r in range(1, REPLICAS + 1)
    ]
    for theirs, mine in zip(read["fitinfo"], ours, strict=True):
        assert theirs["nite"] == mine["best_epoch"] and theirs["chi2"] == mine["chi2"]
        assert theirs["pos_flag"] == (mine["pos_state"] == "POS_PASS")
        assert theirs["arclengths"] == mine["arc_lengths"]
        assert theirs["integnumbers"] == mine["integrability"]  # NNPDF's 5 numbers
    assert read["versions"]["n3fit_gpu"] == ours[0]["version"]["n3fit_gpu"]
    docs = TrialLog(scan_export / "tries.jsonl").read()
    assert read["trials"]["loss"] == [d["result"]["loss"] for d in docs]
    assert read["trials"]["best_loss"] == min(d["result"]["loss"] for d in docs)


def _our_vetoes(summary: dict) -> dict[str, list[bool]]:
    """Our postfit's vetoes under NNPDF's names (veto_count.json)."""
    names = {"convergence": "Convergence check", "chi2": "ChiSquared"}
    labels = ("v", "t3", "v3", "t8", "v8")
    for j in range(5):
        names[f"arc_length_{j}"] = f"ArcLength_{j}"
        names[f"integrability_{labels[j]}"] = f"IntegNumber_{j}"
    passes = {nnpdf: [True] * REPLICAS for nnpdf in names.values()}
    for replica, reasons in summary["postfit"]["vetoed"].items():
        for reason in reasons:
            passes[names[reason]][int(replica) - 1] = False
    return passes


def test_nnpdf_postfit_selects_the_replicas_ours_does(nnpdf_python, fit_folder, tmp_path):
    summary = json.loads((fit_folder / "summary.json").read_text())
    selected = summary["postfit"]["selected"]
    assert 0 < len(selected) < REPLICAS, "the fixture must have a vetoed replica"
    fit = tmp_path / "interop"
    shutil.copytree(fit_folder, fit)
    run = subprocess.run(
        [nnpdf_python.parent / "postfit", str(len(selected)), fit.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    vetoes = json.loads((fit / "postfit" / "veto_count.json").read_text())
    for name, passes in _our_vetoes(summary).items():
        assert vetoes[name] == passes, name
    links = [(fit / "postfit" / f"replica_{k}").resolve().name for k in range(1, len(selected) + 1)]
    assert links == [f"replica_{r}" for r in selected]
    # NNPDF's replica 0 (its mean of the selected members) against ours
    theirs = read_lhapdf_member(fit / "postfit" / "interop", 0)
    mine = read_lhapdf_member(fit_folder / "lhapdf" / "interop", 0)
    for a, b in zip(theirs, mine, strict=True):
        assert a.pids == b.pids
        np.testing.assert_allclose(a.xgrid, b.xgrid, rtol=1e-6)
        np.testing.assert_allclose(a.xf, b.xf, rtol=1e-6, atol=1e-6)
