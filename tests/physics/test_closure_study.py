"""A closure study with a truth that is not the toy (``steep_sea``): six level-2 closure fits of
``runcards/closure_dis_dy.yml`` (DIS + E866 Drell-Yan, NNPDF4.0's training, one
training/validation split), each with its own level-1 noise and seeds, judged by
``n3fit-gpu closure``'s estimators on the fitted data and on HERA NC e-p, which no fit saw
(slow; 8 minutes on 2 CPU cores with TensorFlow, 10 with JAX)."""

import json
from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.config import DatasetInput, load_runcard
from n3fit_gpu.physics.truths import TRUTHS

pytest.importorskip("pineappl", reason="needs the [theory] extra (pineappl) for theory_90000001")

CLOSURE = Path(__file__).resolve().parents[2] / "runcards" / "closure_dis_dy.yml"
TEST = DatasetInput(dataset="HERA_NC_318GEV_EM-SIGMARED", variant="legacy")
FITS, REPLICAS = 6, 25

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from n3fit_gpu.closure_study import run_closure_study

    work = tmp_path_factory.mktemp("closure_study")
    return work, run_closure_study(CLOSURE, "steep_sea", FITS, REPLICAS, work, test=[TEST])


def test_study_fits_the_truth_it_names_and_writes_its_report(study):
    work, report = study
    assert "steep_sea" in TRUTHS and report["truth"] == "steep_sea"
    assert len(report["fits"]) == FITS and all(n >= REPLICAS // 2 for n in report["replicas"])
    assert json.loads((work / "report" / "closure.json").read_text()) == report
    assert (work / "report" / "closure_pulls.png").stat().st_size > 0
    cards = [load_runcard(Path(f) / f"{Path(f).name}.yml") for f in report["fits"]]
    assert {c.closuretest.fakepdf for c in cards} == {"steep_sea"}
    assert len({(c.closuretest.filterseed, c.nnseed, c.mcseed) for c in cards}) == FITS
    assert report["test_data_space"]["datasets"] == [TEST.dataset]
    assert TEST.dataset not in report["data_space"]["datasets"]


@pytest.mark.parametrize("sample", ["data_space", "test_data_space"])
def test_data_space_uncertainty_is_faithful(study, sample):
    """Issue 16's bands, R_bv in [0.9, 1.1] and ξ_1σ in [0.62, 0.74], each widened by twice
    the estimator's bootstrap error: six fits know R_bv to ±0.1 on the fitted data and ±0.2 on
    the 159 test points (measured, JAX: 0.97 ± 0.12 and 0.95 ± 0.22; ξ_1σ 0.72 and 0.78)."""
    _, report = study
    data = report[sample]
    assert np.isfinite(data["bias"]).all() and np.isfinite(data["variance"]).all()
    r_bv, dr = data["r_bv"], data["r_bv_error"]
    xi, dxi = data["xi_1sigma"], data["xi_1sigma_error"]
    assert 0 < dr < 0.5 and 0 < dxi < 0.2, data
    assert 0.9 - 2 * dr <= r_bv <= 1.1 + 2 * dr, data
    assert 0.62 - 2 * dxi <= xi <= 0.74 + 2 * dxi, data


def test_x_space_68_percent_band_covers_the_truth(study):
    """Coverage of the truth by the replicas' 68% band at Q0 over 1e-3 ≤ x ≤ 0.7, every flavour
    (measured: 0.75 flavours, 0.70 evolution basis)."""
    _, report = study
    for space in ("flavour", "evolution"):
        assert report["x_space"][space]["overall_coverage_68"] >= 0.63, report["x_space"][space]


@pytest.mark.xfail(
    strict=True,
    reason=(
        "issue 16: the light sea is the parametrization's where DIS + E866 leave it free; "
        "with positivity it sits above the truth (d-bar, u-bar, s +1 to +1.6σ at x > 0.3, "
        "mean +0.5 to +0.6 ± 0.1) and the gluon, sharing its momentum, −1.2σ at x ≈ 0.3; "
        "without positivity the sea is −0.5σ low instead (measured on 6 and 8 fits)"
    ),
)
def test_no_flavour_is_pulled_beyond_half_a_sigma(study):
    _, report = study
    for space in ("flavour", "evolution"):
        pulls = report["x_space"][space]["mean_pull"]
        assert max(abs(p) for p in pulls.values()) <= 0.5, pulls
