"""A closure study with a truth that is not the toy (``steep_sea``): three level-1 fits of the
shipped closure runcard, judged by ``n3fit-gpu closure``'s estimators (slow)."""

import json
from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.config import load_runcard
from n3fit_gpu.physics.truths import TRUTHS

CLOSURE = Path(__file__).resolve().parents[2] / "runcards" / "closure.yml"
FITS, REPLICAS = 3, 20

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from n3fit_gpu.closure_study import run_closure_study

    work = tmp_path_factory.mktemp("closure_study")
    return work, run_closure_study(CLOSURE, "steep_sea", FITS, REPLICAS, work)


def test_study_fits_the_truth_it_names_and_writes_its_report(study):
    work, report = study
    assert "steep_sea" in TRUTHS and report["truth"] == "steep_sea"
    assert len(report["fits"]) == FITS and all(n >= REPLICAS // 2 for n in report["replicas"])
    assert json.loads((work / "report" / "closure.json").read_text()) == report
    assert (work / "report" / "closure_pulls.png").stat().st_size > 0
    cards = [load_runcard(Path(f) / f"{Path(f).name}.yml") for f in report["fits"]]
    assert {c.closuretest.fakepdf for c in cards} == {"steep_sea"}
    assert len({(c.closuretest.filterseed, c.nnseed, c.mcseed) for c in cards}) == FITS


def test_data_space_uncertainty_is_not_underestimated(study):
    """R_bv ≤ 1.1 and ξ_1σ ≥ 0.6: the data-space uncertainty covers the truth at least as often
    as a faithful one would (measured: R_bv 0.68–0.79, ξ_1σ 0.79–0.84 over 4 fits)."""
    _, report = study
    data = report["data_space"]
    assert np.isfinite(data["bias"]).all() and np.isfinite(data["variance"]).all()
    assert data["r_bv"] <= 1.1 and data["xi_1sigma"] >= 0.6, data


@pytest.mark.xfail(
    strict=True,
    reason=(
        "issue 16: the DIS-only method is biased in x space where the data are weak (measured "
        "on steep_sea, 4 fits: valence -2σ at x > 0.2 and +1.4σ at x < 0.01, sea +1.5..2σ and "
        "gluon -1.3σ at x ~ 0.2-0.5; x-space 68% coverage 0.48 in the evolution basis); and "
        "it is conservative in data space (R_bv 0.69, ξ_1σ 0.84)"
    ),
)
def test_closure_meets_the_faithfulness_targets(study):
    """Issue 16's targets: R_bv in [0.9, 1.1], ξ_1σ in [0.62, 0.74], x-space 68% coverage
    ≥ 0.63 and no flavour pulled beyond 0.5σ on average (1e-3 ≤ x ≤ 0.7)."""
    _, report = study
    data, xs = report["data_space"], report["x_space"]
    assert 0.9 <= data["r_bv"] <= 1.1 and 0.62 <= data["xi_1sigma"] <= 0.74, data
    for space in ("flavour", "evolution"):
        assert xs[space]["overall_coverage_68"] >= 0.63, xs[space]
        assert max(abs(p) for p in xs[space]["mean_pull"].values()) <= 0.5, xs[space]
