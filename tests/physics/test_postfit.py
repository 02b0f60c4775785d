"""Postfit vetoes as NNPDF applies them, each on replicas made to fail it."""

import numpy as np
import pytest

from n3fit_gpu.physics.postfit import (
    INTEGRABILITY_FLAVOURS,
    PostfitSettings,
    integrability_numbers,
    select_replicas,
)

R = 20


def healthy():
    """20 replicas that pass everything: χ² ≈ 1.1, five arc lengths ≈ 1.5, small integ."""
    rng = np.random.default_rng(3)
    return {
        "replicas": list(range(1, R + 1)),
        "converged": [True] * R,
        "chi2": 1.1 + 0.02 * rng.standard_normal(R),
        "arc_lengths": 1.5 + 0.05 * rng.standard_normal((R, 5)),
        "integrability": 0.01 * rng.random((R, 5)),
    }


def test_healthy_replicas_all_pass():
    result = select_replicas(**healthy())
    assert all(result.selected) and result.reasons == {}
    assert result.chosen == list(range(1, R + 1))


def test_unconverged_replica_is_vetoed():
    fit = healthy()
    fit["converged"][4] = False
    result = select_replicas(**fit)
    assert result.chosen == [r for r in range(1, R + 1) if r != 5]
    assert result.reasons == {5: ["convergence"]}


def test_integrability_threshold_is_per_number_and_inclusive():
    fit = healthy()
    fit["integrability"][2, 3] = 0.51  # T8 of replica 3
    fit["integrability"][6, 0] = 0.5  # exactly the threshold passes (NNPDF: value <= threshold)
    result = select_replicas(**fit)
    assert result.reasons == {3: [f"integrability_{INTEGRABILITY_FLAVOURS[3]}"]}


def test_chi2_outlier_is_vetoed_and_the_statistics_are_recomputed():
    fit = healthy()
    fit["chi2"][7] = 50.0  # far out: vetoed in the first pass
    fit["chi2"][8] = 1.45  # hidden by replica 8's spread at first, an outlier once 8 is gone
    values = np.asarray(fit["chi2"])
    first = values.mean() + 4 * values.std()
    assert values[8] <= first  # would pass a single pass
    kept = np.delete(values, [7, 8])
    assert values[8] > kept.mean() + 4 * kept.std()
    result = select_replicas(**fit)
    assert sorted(result.reasons) == [8, 9]
    assert result.reasons[8] == ["chi2"] and result.reasons[9] == ["chi2"]


def test_low_chi2_is_never_an_outlier():
    """NNPDF's veto is one-sided: a replica far *below* the mean passes."""
    fit = healthy()
    fit["chi2"][0] = -50.0
    assert all(select_replicas(**fit).selected)


def test_arc_length_outlier_names_its_flavour():
    fit = healthy()
    fit["arc_lengths"][11, 2] = 9.0
    result = select_replicas(**fit)
    assert result.reasons == {12: ["arc_length_2"]}


def test_nan_chi2_is_vetoed_without_poisoning_the_others():
    fit = healthy()
    fit["chi2"][5] = np.nan
    result = select_replicas(**fit)
    assert list(result.reasons) == [6] and "non_finite" in result.reasons[6]
    assert sum(result.selected) == R - 1


def test_thresholds_are_settings():
    fit = healthy()
    fit["chi2"][3] = 3.0  # z ≈ 4.2 (one outlier among 20 reaches at most 19/√20 = 4.25)
    assert 4 in select_replicas(**fit).reasons
    assert select_replicas(**fit, settings=PostfitSettings(nsigma_chi2=100.0)).reasons == {}


def test_one_replica_is_never_an_outlier_and_none_selects_nothing():
    one = select_replicas([7], [True], [3.0], np.ones((1, 5)), np.zeros((1, 5)))
    assert one.chosen == [7]
    assert select_replicas([], [], [], np.zeros((0, 5)), np.zeros((0, 5))).chosen == []


def test_as_json_records_the_selection_and_every_reason():
    fit = healthy()
    fit["converged"][0] = False
    settings = PostfitSettings()
    record = select_replicas(**fit).as_json(settings)
    assert record["selected"] == list(range(2, R + 1))
    assert record["vetoed"] == {"1": ["convergence"]}
    assert record["thresholds"] == {"chi2_nsigma": 4.0, "arc_length_nsigma": 4.0,
                                    "integrability": 0.5}  # fmt: skip


def test_integrability_numbers_sum_absolute_values_over_the_three_x_points():
    basis = ("sigma", "g", "v", "v3", "v8", "v15", "t3", "t8", "t15")
    xf = np.zeros((2, 3, len(basis)))
    xf[0, :, basis.index("t8")] = [0.1, -0.2, 0.3]
    xf[1, :, basis.index("v")] = [-1.0, 0.0, 0.0]
    numbers = integrability_numbers(xf, basis)
    assert numbers.shape == (2, 5)
    assert numbers[0].tolist() == pytest.approx([0, 0, 0, 0.6, 0])  # V, T3, V3, T8, V8
    assert numbers[1].tolist() == pytest.approx([1.0, 0, 0, 0, 0])
