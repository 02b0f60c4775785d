"""The closure report on fit folders whose replicas are known: the truth's own PDF spread
symmetrically about it, so every estimator has an exact expected value, on the fitted data
and on test datasets the fit left out (real data and FK tables of the shipped theory)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from n3fit_gpu.cli import main
from n3fit_gpu.config import load_runcard
from n3fit_gpu.errors import DataError
from n3fit_gpu.outputs.closure_report import closure_report, load_closure_fit, parse_test_dataset
from n3fit_gpu.physics.pdf_sets import pdf_at_q0
from n3fit_gpu.physics.theory import load_theory

CLOSURE = Path(__file__).resolve().parents[2] / "runcards" / "closure.yml"
TEST = "{dataset: SLAC_NC_NOTFIXED_P_EM-F2, variant: legacy_dw}"  # in the theory, not fitted


@pytest.fixture(scope="module")
def fit_folder(tmp_path_factory) -> Path:
    """A finished-looking closure fit of the steep_sea truth whose 6 replicas are the truth
    times 1 ± 2%, 1 ± 5%, 1 ± 10%: their mean is the truth exactly."""
    folder = tmp_path_factory.mktemp("fits") / "closure"
    folder.mkdir()
    text = CLOSURE.read_text().replace("fakepdf: toy", "fakepdf: steep_sea")
    (folder / "closure.yml").write_text(text)
    card = load_runcard(folder / "closure.yml")
    assert card.closuretest.fakepdf == "steep_sea"
    truth = pdf_at_q0("steep_sea", load_theory(card.theory.theoryid), key="fakepdf")
    scales = [1.02, 0.98, 1.05, 0.95, 1.10, 0.90]
    for r, scale in enumerate(scales, start=1):
        (folder / "nnfit" / f"replica_{r}").mkdir(parents=True)
        np.savez(folder / "nnfit" / f"replica_{r}" / "pdf_q0.npz", xf=scale * truth)
    selected = list(range(1, len(scales) + 1))
    (folder / "summary.json").write_text(json.dumps({"postfit": {"selected": selected}}))
    return folder


def test_replicas_centred_on_the_truth_have_no_bias_in_or_out_of_sample(fit_folder, tmp_path):
    fit = load_closure_fit(fit_folder, test=[parse_test_dataset(TEST)])
    report = closure_report([fit, fit], tmp_path)
    assert report["test_data_space"]["datasets"] == ["SLAC_NC_NOTFIXED_P_EM-F2"]
    assert "SLAC_NC_NOTFIXED_P_EM-F2" not in report["data_space"]["datasets"]
    for key in ("data_space", "test_data_space"):
        entry = report[key]
        assert entry["ndata"] > 10
        assert entry["r_bv"] < 1e-6, entry  # (ξ_1σ is rounding's: the spread has rank 1)
    for space in ("flavour", "evolution"):
        assert report["x_space"][space]["overall_coverage_68"] == 1.0
    assert json.loads((tmp_path / "closure.json").read_text()) == report


def test_the_fitted_estimators_do_not_depend_on_test_datasets(fit_folder, tmp_path):
    alone = closure_report([load_closure_fit(fit_folder)], tmp_path / "alone")
    both = closure_report([load_closure_fit(fit_folder, test=[parse_test_dataset(TEST)])], tmp_path)
    assert "test_data_space" not in alone
    assert alone["data_space"] == both["data_space"]


def test_variance_out_of_sample_is_the_replicas_spread(fit_folder, tmp_path):
    """With replicas (1 ± s) × truth, each point's prediction spreads by s × its truth value:
    the variance is Σ_s s²/3 times the truth's own χ² per point (t0 covariance)."""
    fit = load_closure_fit(fit_folder, test=[parse_test_dataset(TEST)])
    sample = fit.test
    inverse = np.linalg.inv(sample.covariance)
    expected = (0.02**2 + 0.05**2 + 0.10**2) / 3 * (sample.truth @ inverse @ sample.truth)
    expected /= sample.truth.size
    report = closure_report([fit], tmp_path)
    assert report["test_data_space"]["variance"][0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{dataset: SLAC_NC_NOTFIXED_P_EM-F2, colour: red}", "colour: unknown key 'colour'"),
        ("[unclosed", "not YAML"),
        ("{variant: legacy}", "dataset: missing required key"),
        ("{dataset: X, frac: 2}", "frac: must be ≤ 1; got 2"),
    ],
)
def test_bad_test_dataset_texts_name_the_problem(text, expected):
    with pytest.raises(DataError, match=expected):
        parse_test_dataset(text)


@pytest.mark.parametrize(
    "test, expected",
    [
        ("HERA_NC_318GEV_EP-SIGMARED", "is fitted by"),
        ("NOT_A_DATASET", "is not in theory"),
        ("{dataset: X, frac: 2}", "test dataset"),
    ],
)
def test_bad_test_datasets_give_one_line(fit_folder, test, expected):
    result = CliRunner().invoke(main, ["closure", str(fit_folder), "--test", test])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: ") and expected in line


def test_cli_prints_both_estimators(fit_folder, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(fit_folder, copy)
    result = CliRunner().invoke(main, ["closure", str(copy), "--test", TEST, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "fitted data" in result.output and "test data" in result.output
