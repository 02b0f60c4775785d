"""``fit`` and ``hyperscan`` on a theory folder in NNPDF's layout with a hadronic dataset.

The shipped runcards/dis_dy.yml fits DIS + E866 on the shipped theory_90000001 and writes an
LHAPDF set (the folder links our evolution). The test folder (``nnpdf_root`` in
``tests/conftest.py``) has no EKO: the fit writes exportgrids
and says in one line that no LHAPDF set was written. Preflight names, in one line each, a
missing theory, a dataset the folder has no FK table for, and the missing t0 PDF.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from n3fit_gpu.cli.fit import main as fit_main
from n3fit_gpu.cli.hyperscan import main as scan_main
from n3fit_gpu.outputs.exportgrid import read_exportgrid
from tests.physics.nnpdf_folders import HADRONIC_DATASET, HADRONIC_POSITIVITY, THEORYID

pytestmark = pytest.mark.theory
ROOT = Path(__file__).resolve().parents[2]
NUTEV = "NUTEV_CC_NOTFIXED_FE_NU-SIGMARED, variant: legacy"  # not in the test theory


def hadronic_card(folder: Path, source: str = "quickstart.yml", **edits: str) -> Path:
    """A runcard on theory 40000000 with DYE605 and the DY positivity set added."""
    text = (ROOT / "runcards" / source).read_text()
    text = text.replace(
        "theory: {theoryid: n3fit_gpu_dis_nlo}", f"theory: {{theoryid: {THEORYID}}}"
    )
    text = text.replace("t0pdfset: null", "t0pdfset: toy")
    text = text.replace(
        "- {dataset: HERA_CC_318GEV_EP-SIGMARED, variant: legacy, frac: 0.75}\n",
        "- {dataset: HERA_CC_318GEV_EP-SIGMARED, variant: legacy, frac: 0.75}\n"
        f"- {{dataset: {HADRONIC_DATASET}, variant: legacy, frac: 0.75}}\n",
    )
    text = text.replace(
        "  - {dataset: NNPDF_POS_2P24GEV_XGL, maxlambda: 1.0e+6}\n",
        "  - {dataset: NNPDF_POS_2P24GEV_XGL, maxlambda: 1.0e+6}\n"
        f"  - {{dataset: {HADRONIC_POSITIVITY}, maxlambda: 1.0e+6}}\n",
    )
    text = text.replace("threshold_chi2: 10.0", "threshold_chi2: 1.0e+9")
    for old, new in edits.items():
        text = text.replace(old, new)
    path = folder / "dy.yml"
    path.write_text(text)
    return path


def run(main, *args):
    return CliRunner().invoke(main, [str(a) for a in args] + ["--quiet"])


def test_fit_with_a_hadronic_dataset_writes_exportgrids_and_says_why_no_lhapdf(
    nnpdf_root, tmp_path
):
    card = hadronic_card(tmp_path, **{"epochs: 2000": "epochs: 40"})
    folder = nnpdf_root / f"theory_{THEORYID}"
    result = run(fit_main, card, "--replicas", "2", "-o", tmp_path / "out", "--theory", folder)
    assert result.exit_code == 0, result.output
    assert "DIS + hadronic" in result.output
    lines = [line for line in result.output.splitlines() if "no LHAPDF set written" in line]
    assert len(lines) == 1 and "eko.tar" in lines[0]
    for r in (1, 2):
        grid = read_exportgrid(tmp_path / "out" / "dy" / "nnfit" / f"replica_{r}" / "dy.exportgrid")
        assert grid.pdfgrid.shape == (196, 14)
    assert not (tmp_path / "out" / "dy" / "lhapdf").exists()


@pytest.mark.parametrize(
    "edit, expected",
    [
        ({"t0pdfset: toy": "t0pdfset: null"}, "datacuts.t0pdfset"),
        (
            {"NMC_NC_NOTFIXED_P_EM-SIGMARED, variant: legacy": NUTEV},
            "no FK table",
        ),
        ({f"theoryid: {THEORYID}": "theoryid: 4242"}, "theory_4242"),
    ],
)
def test_preflight_names_what_an_nnpdf_theory_lacks(
    nnpdf_root, tmp_path, monkeypatch, edit, expected
):
    monkeypatch.setenv("N3FIT_GPU_THEORIES", str(nnpdf_root))
    card = hadronic_card(tmp_path, **edit)
    result = run(fit_main, card, "--check")
    assert result.exit_code == 2, result.output
    problems = [line for line in result.output.splitlines() if expected in line]
    assert problems, result.output


@pytest.mark.slow  # ~4 min on 2 shared cores
def test_hyperscan_with_a_hadronic_dataset(nnpdf_root, tmp_path, monkeypatch):
    monkeypatch.setenv("N3FIT_GPU_THEORIES", str(nnpdf_root))
    card = hadronic_card(
        tmp_path,
        "hyperscan.yml",
        **{
            "replicas: 10": "replicas: 2",
            "  - datasets: [HERA_NC_318GEV_EM-SIGMARED]": f"  - datasets: [{HADRONIC_DATASET}]",
        },
    )
    text = card.read_text()
    lines = []
    for line in text.splitlines():
        if line.startswith("  stopping:"):
            line = (
                "  stopping: {min_epochs: 30, max_epochs: 60, min_patience: 0.1, max_patience: 0.3}"
            )
        elif line.startswith("  threshold:"):
            line = "  threshold: 1.0e+9"
        elif line.startswith("  positivity: {initial"):
            line = "  positivity: {initial: 184.8, multiplier: null, threshold: 1.0e+9}"
        elif line.startswith("replicas:"):
            line = "replicas: 2"
        lines.append(line)
    card.write_text("\n".join(lines) + "\n")
    result = run(scan_main, card, "--trials", "2", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output


def test_shipped_dis_dy_runcard_fits_end_to_end_and_writes_an_lhapdf_set(tmp_path):
    text = (ROOT / "runcards" / "dis_dy.yml").read_text()
    edits = {"epochs: 2000": "epochs: 20", "threshold_chi2: 10.0": "threshold_chi2: 1.0e+9"}
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    card = tmp_path / "dis_dy.yml"
    card.write_text(text)
    result = run(fit_main, card, "--replicas", "2", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "no LHAPDF set written" not in result.output
    fit = tmp_path / "out" / "dis_dy"
    summary = json.loads((fit / "summary.json").read_text())
    assert "DYE866_Z0_800GEV_DW_RATIO_PDXSECRATIO" in summary["chi2_per_dataset"]
    assert len(summary["chi2_per_dataset"]) == 7
    assert (fit / "lhapdf" / "dis_dy" / "dis_dy.info").is_file()
    assert (fit / "lhapdf" / "dis_dy" / "dis_dy_0000.dat").is_file()
    assert (fit / "report.html").is_file()
