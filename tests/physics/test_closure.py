"""Closure tests: level-0 data are the truth exactly, level-1 data fluctuate by the covariance,
and a level-2 closure fit with the shipped runcard is faithful to the truth (slow)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.config import load_runcard
from n3fit_gpu.outputs.replica_json import read_replica_json
from n3fit_gpu.physics.covariance import chi2
from n3fit_gpu.physics.fit_data import FitData, load_fit_data, predict
from n3fit_gpu.physics.pdf_sets import pdf_at_q0
from n3fit_gpu.physics.theory import Theory, load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution
from n3fit_gpu.physics.truths import TRUTHS

CLOSURE = Path(__file__).resolve().parents[2] / "runcards" / "closure.yml"


@pytest.fixture(scope="module")
def setup():
    card = load_runcard(CLOSURE)
    return card, load_theory(card.theory.theoryid)


def truth_predictions(data, theory):
    truth = toy_xf_evolution(theory.xgrid, theory.basis)
    return np.concatenate([predict(obs, truth) for obs in data.observables])


@pytest.mark.parametrize("name", sorted(TRUTHS))
def test_truths_satisfy_every_constraint_the_closure_runcard_imposes(setup, name):
    """Positivity of every posdataset, and x f → 0 at small x for every integdataset (the
    benchmark toy's x T8 ~ x^-0.1 did not: a truth the fit is forbidden to reach)."""
    from n3fit_gpu.physics.postfit import INTEGRABILITY_X, integrability_numbers

    card, theory = setup
    truth = pdf_at_q0(name, theory, key="closuretest.fakepdf")
    tolerance = card.parameters.positivity.threshold  # NLO evolution of a steep sea: -1e-8
    for entry in card.positivity.posdatasets:
        assert predict(theory.positivity[entry.dataset], truth).min() >= -tolerance, entry.dataset
    for entry in card.integrability.integdatasets:
        values = np.abs(predict(theory.integrability[entry.dataset], truth))  # x: 2e-7 .. 1e-4
        # vanishing as x → 0; at the smallest point the penalty maxlambda·x f² stays far below
        # one unit of χ², so the fit may reach the truth
        small = entry.maxlambda * values[0] ** 2
        assert np.all(np.diff(values) > 0) and small < 1e-2, (entry.dataset, values)
    at_small_x = TRUTHS[name].xf_evolution(np.array(INTEGRABILITY_X), theory.basis).T[None]
    assert integrability_numbers(at_small_x, theory.basis).max() < 5e-3  # postfit vetoes > 0.5


def test_level0_chi2_is_exactly_zero(setup):
    card, theory = setup
    ct = card.closuretest.model_copy(update={"fakenoise": False})
    card0 = card.model_copy(update={"closuretest": ct, "genrep": False})
    data = load_fit_data(card0, theory, [1])
    assert chi2(truth_predictions(data, theory) - data.central, data.covariance) == 0.0
    np.testing.assert_array_equal(data.pseudodata[0], data.central)


def test_level1_chi2_per_point_is_about_one(setup):
    card, theory = setup
    data = load_fit_data(card, theory, [1])
    n = data.central.size
    value = chi2(truth_predictions(data, theory) - data.central, data.covariance) / n
    assert abs(value - 1.0) < 4 * np.sqrt(2.0 / n)  # χ²/N of N Gaussian draws: σ = √(2/N)
    other = card.closuretest.model_copy(update={"filterseed": card.closuretest.filterseed + 1})
    shifted = load_fit_data(card.model_copy(update={"closuretest": other}), theory, [1])
    assert not np.allclose(shifted.central, data.central)


# -- the closure fit itself -----------------------------------------------------------------
# The shipped runcard unchanged: level 2 (level-1 data, one MC replica of it per replica),
# 10 replicas, 2000 epochs (~75 s on 2 cores). Judged against the truth and the level-1 data.
# Data region: 80% of the data points lie in 1e-3 ≤ x ≤ 0.5 (HERA below, fixed target above);
# the combinations inclusive DIS constrains there are Σ and g (HERA's F2 and its scaling
# violations), V and T3 (proton vs deuteron and CC); V3, V8, T8, T15 are left out (strangeness
# and charm are barely constrained by these data, their bands are wide or set by preprocessing).
DATA_REGION = (1e-3, 0.5)
CONSTRAINED = ("sigma", "g", "v", "t3")


@dataclass(frozen=True)
class ClosureFit:
    data: FitData  # level-1 data, experimental covariance
    theory: Theory
    xf: np.ndarray  # (R, nbasis, nx) x·f at Q0 of the replicas that passed their checks


@pytest.fixture(scope="module")
def closure_fit(setup, tmp_path_factory):
    from n3fit_gpu.fit import run_fit

    card, theory = setup
    folder = run_fit(card, CLOSURE, tmp_path_factory.mktemp("closure"), show_progress=False)
    good = [
        r
        for r in card.replica_indices
        if read_replica_json(folder / "nnfit" / f"replica_{r}" / "closure.json").status == "ok"
    ]
    assert len(good) >= 8, f"only replicas {good} passed their checks"
    xf = np.stack([np.load(folder / "nnfit" / f"replica_{r}" / "pdf_q0.npz")["xf"] for r in good])
    return ClosureFit(load_fit_data(card, theory, [1]), theory, xf)


def _predictions(fit: ClosureFit, xf: np.ndarray) -> np.ndarray:
    return np.concatenate([predict(obs, xf) for obs in fit.data.observables])


@pytest.mark.slow
def test_closure_fit_chi2_is_within_expectation(closure_fit):
    """Replica-mean χ²/N against the level-1 data: 1 ± 3√(2/N) for a faithful fit.

    In the linear approximation (fit = projection Π of rank k on its data), a level-2 replica
    misses the level-1 data by (1 − Π)η + Πε_r, so E[χ²_r] = (N − k) + k = N: the expectation
    is 1 per point, and the fixed level-1 draw η fluctuates it by √(2/N) (0.040 for N = 1233).
    Measured: 1.028 with the runcard's seeds; 1.021–1.050 over 7 fits (other nnseed, mcseed,
    trvlseed; filterseed 41, 42, 43), i.e. within 1.25 σ; the truth scores 1.010–1.029 on
    those η. Also NNPDF's bias/variance ratio: bias = χ²[central − truth]/N over φ² =
    ⟨χ²[replica − central]⟩/N is 1 for a faithful ensemble; measured 0.69 (runcard seeds),
    0.56–1.16 over the 7 fits, asserted within [1/4, 4] (R_bv = √ratio within [0.5, 2]).
    """
    fit = closure_fit
    cov, n = fit.data.covariance, fit.data.central.size
    predictions = np.stack([_predictions(fit, xf) for xf in fit.xf])  # (R, n)
    replica_mean = np.mean(chi2(predictions - fit.data.central, cov)) / n
    assert abs(replica_mean - 1.0) <= 3 * np.sqrt(2.0 / n), replica_mean
    central = predictions.mean(axis=0)
    phi2 = np.mean(chi2(predictions - central, cov)) / n
    truth = _predictions(fit, toy_xf_evolution(fit.theory.xgrid, fit.theory.basis))
    bias = chi2(central - truth, cov) / n
    assert 0.25 <= bias / phi2 <= 4.0, (bias, phi2)


@pytest.mark.slow
def test_closure_fit_one_sigma_band_covers_the_truth(closure_fit):
    """|mean − truth| ≤ σ (replica std) at ≥ 45% of the (flavour, x) points of the data region.

    Expectation for a faithful ensemble of R = 10: P(|t₉| ≤ 1) = 0.66 (the std of 10 replicas
    has 9 degrees of freedom). The x points of one flavour are strongly correlated (a handful
    of independent ones per flavour), so the fraction moves between equally good fits:
    measured 0.655 with the runcard's seeds and 0.61–0.77 (mean 0.675, sd 0.067) over 7 fits
    with other seeds and level-1 draws, 21 x points × 4 flavours. The bound 0.45 is about the
    lowest measured value less two such sd; a biased or over-confident fit falls below it.
    """
    fit, theory = closure_fit, closure_fit.theory
    x = theory.xgrid
    region = (x >= DATA_REGION[0]) & (x <= DATA_REGION[1])
    rows = [theory.basis.index(label) for label in CONSTRAINED]
    truth = toy_xf_evolution(x, theory.basis)[rows][:, region]
    replicas = fit.xf[:, rows][:, :, region]  # (R, flavour, x)
    mean, sigma = replicas.mean(axis=0), replicas.std(axis=0, ddof=1)
    covered = np.abs(mean - truth) <= sigma
    assert covered.mean() >= 0.45, dict(zip(CONSTRAINED, covered.mean(axis=1)))


def test_fakepdf_set_is_the_truth_of_the_fake_data(setup, tmp_path):
    from n3fit_gpu.outputs.lhapdf import write_lhapdf_set
    from n3fit_gpu.physics.pdf_sets import pdf_at_q0
    from n3fit_gpu.physics.toy_pdf import toy_xf_flavour

    card, theory = setup
    pids = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)
    flavours = toy_xf_flavour(theory.xgrid)
    xf = 1.1 * np.stack([flavours[p] for p in pids])  # not the toy: 10% more of everything
    grids = np.broadcast_to(xf, (1, 2, len(pids), theory.xgrid.size))
    q2 = [np.square([theory.q0, 3.0])]
    folder = write_lhapdf_set(tmp_path, "truth", theory.xgrid, q2, pids, grids, {})
    ct = card.closuretest.model_copy(update={"fakenoise": False, "fakepdf": str(folder)})
    data = load_fit_data(card.model_copy(update={"closuretest": ct, "genrep": False}), theory, [1])
    truth = pdf_at_q0(str(folder), theory, key="closuretest.fakepdf")
    expected = np.concatenate([predict(obs, truth) for obs in data.observables])
    np.testing.assert_array_equal(data.central, expected)
    assert not np.allclose(data.central, truth_predictions(data, theory))
