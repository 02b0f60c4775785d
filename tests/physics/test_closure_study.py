"""A closure study with a truth that is not the toy (``steep_sea``): six level-2 closure fits of
``runcards/closure_dis_dy.yml`` (NNPDF4.0's DIS data and E866 Drell-Yan, NNPDF4.0's training,
one training/validation split), each with its own level-1 noise and seeds, judged by
``n3fit-gpu closure``'s estimators on the fitted data and on HERA NC e-p, which no fit saw
(slow; ~17 minutes on 2 CPU cores with JAX)."""

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
def test_data_space_uncertainty_is_not_overconfident(study, sample):
    """The safe side of issue 16's bands, R_bv ≤ 1.1 and ξ_1σ ≥ 0.62, each widened by twice
    the estimator's bootstrap error (measured, JAX: R_bv 0.84 ± 0.03 fitted, 0.67 ± 0.06 on
    the 159 test points; ξ_1σ 0.75 ± 0.02 and 0.85 ± 0.04)."""
    _, report = study
    data = report[sample]
    assert np.isfinite(data["bias"]).all() and np.isfinite(data["variance"]).all()
    r_bv, dr = data["r_bv"], data["r_bv_error"]
    xi, dxi = data["xi_1sigma"], data["xi_1sigma_error"]
    assert 0 < dr < 0.5 and 0 < dxi < 0.2, data
    assert r_bv <= 1.1 + 2 * dr and xi >= 0.62 - 2 * dxi, data


@pytest.mark.xfail(
    strict=True,
    reason=(
        "issue 16: with NNPDF4.0's DIS data the uncertainty is conservative, most on the test "
        "data (R_bv 0.67 ± 0.06, ξ_1σ 0.85 ± 0.04): the replicas' spread from their "
        "initialisation and preprocessing draws does not shrink with the data's"
    ),
)
def test_data_space_uncertainty_is_not_conservative(study):
    """The other side of the bands, R_bv ≥ 0.9 and ξ_1σ ≤ 0.74 (widened as above), on the
    fitted and the test data."""
    _, report = study
    for sample in ("data_space", "test_data_space"):
        data = report[sample]
        assert data["r_bv"] >= 0.9 - 2 * data["r_bv_error"], data
        assert data["xi_1sigma"] <= 0.74 + 2 * data["xi_1sigma_error"], data


def test_x_space_68_percent_band_covers_the_truth(study):
    """Coverage of the truth by the replicas' 68% band at Q0 over 1e-3 ≤ x ≤ 0.7, every flavour
    (measured: 0.75 flavours, 0.79 evolution basis)."""
    _, report = study
    for space in ("flavour", "evolution"):
        assert report["x_space"][space]["overall_coverage_68"] >= 0.63, report["x_space"][space]


def test_no_flavour_is_pulled_beyond_half_a_sigma(study):
    """Mean pull (mean − truth)/σ over fits and x, every flavour in both bases, within 0.5σ
    widened by twice its standard error over fits, as the data-space bands (measured: the
    largest d̄ +0.42 ± 0.09; without CHORUS and HERA CC e-p, which separate quarks from
    antiquarks, the light sea was +0.5 to +0.7σ high: README, Closure tests)."""
    _, report = study
    for space in ("flavour", "evolution"):
        entry = report["x_space"][space]
        for label, pull in entry["mean_pull"].items():
            error = entry["mean_pull_error"][label]
            assert 0 < error < 0.3 and abs(pull) <= 0.5 + 2 * error, (label, pull, error)
