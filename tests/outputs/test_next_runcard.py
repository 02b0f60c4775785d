"""``n3fit-gpu nextfit`` on a finished-looking fit whose replicas are a known PDF."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from n3fit_gpu.cli import main
from n3fit_gpu.config import load_runcard
from n3fit_gpu.outputs.exportgrid import EXPORT_XGRID
from n3fit_gpu.physics.basis import fk_label
from n3fit_gpu.physics.effective_exponents import effective_exponents
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.physics.truths import TRUTHS

QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"


@pytest.fixture
def fit_folder(tmp_path) -> Path:
    """A fit of quickstart.yml whose 4 replicas are the steep_sea truth times 0.9..1.1, with an
    LHAPDF set of its own."""
    folder = tmp_path / "quick"
    folder.mkdir()
    shutil.copy(QUICKSTART, folder / "filter.yml")
    card = load_runcard(folder / "filter.yml")
    basis = load_theory(card.theory.theoryid).basis
    truth = TRUTHS["steep_sea"].xf_evolution(EXPORT_XGRID, basis)
    for r, scale in enumerate((0.9, 0.95, 1.05, 1.1), start=1):
        (folder / "nnfit" / f"replica_{r}").mkdir(parents=True)
        np.savez(folder / "nnfit" / f"replica_{r}" / "pdf_q0.npz", xf_export=scale * truth)
    (folder / "summary.json").write_text(json.dumps({"postfit": {"selected": [1, 2, 3, 4]}}))
    (folder / "lhapdf" / "quick").mkdir(parents=True)
    (folder / "lhapdf" / "quick" / "quick.info").write_text("SetDesc: test\n")
    return folder


def test_next_runcard_takes_ranges_from_the_replicas_and_t0_from_the_fit(fit_folder, tmp_path):
    out = tmp_path / "next.yml"
    result = CliRunner().invoke(main, ["nextfit", str(fit_folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    old, new = load_runcard(fit_folder / "filter.yml"), load_runcard(out)
    assert new.dataset_inputs == old.dataset_inputs and new.parameters == old.parameters
    assert new.datacuts.t0pdfset == str((fit_folder / "lhapdf" / "quick").resolve())
    basis = load_theory(old.theory.theoryid).basis
    truth = TRUTHS["steep_sea"].xf_evolution(EXPORT_XGRID, basis)
    alpha, beta = effective_exponents(truth[None], EXPORT_XGRID)
    for entry in new.fitting.basis:
        k = list(basis).index(fk_label(entry.fl))
        low, high = entry.smallx
        assert low <= alpha[0, k, 0] <= high, entry  # the replicas' exponents are inside
        assert entry.largex[0] <= beta[0, k].min() and beta[0, k].max() <= entry.largex[1]
        assert (entry.smallx, entry.largex) != next(
            (b.smallx, b.largex) for b in old.fitting.basis if b.fl == entry.fl
        )
    assert "sng " in result.output and "wrote" in result.output


def test_keep_t0_keeps_the_runcards_t0(fit_folder, tmp_path):
    out = tmp_path / "next.yml"
    result = CliRunner().invoke(main, ["nextfit", str(fit_folder), "-o", str(out), "--keep-t0"])
    assert result.exit_code == 0, result.output
    assert (
        load_runcard(out).datacuts.t0pdfset
        == load_runcard(fit_folder / "filter.yml").datacuts.t0pdfset
    )


def test_not_a_fit_or_too_few_replicas_is_one_line(fit_folder, tmp_path):
    result = CliRunner().invoke(main, ["nextfit", str(tmp_path), "-o", str(tmp_path / "n.yml")])
    assert result.exit_code == 2 and "is not a finished fit" in result.output
    (fit_folder / "summary.json").write_text(json.dumps({"postfit": {"selected": [1]}}))
    result = CliRunner().invoke(main, ["nextfit", str(fit_folder), "-o", str(tmp_path / "n.yml")])
    assert result.exit_code == 2 and "selected 1 replicas" in result.output
    assert not (tmp_path / "n.yml").exists()


def test_help_teaches_the_iteration():
    result = CliRunner().invoke(main, ["nextfit", "--help"])
    assert result.exit_code == 0 and "effective exponents" in result.output
    assert "Example" in result.output and "--keep-t0" in result.output
    assert "nextfit" in CliRunner().invoke(main, ["--help"]).output
