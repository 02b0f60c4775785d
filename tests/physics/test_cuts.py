"""DIS kinematic cuts: NNPDF4.0's point counts, points that must go, and empty datasets."""

import numpy as np
import pytest

from n3fit_gpu.errors import DataError
from n3fit_gpu.physics.commondata import DatasetSpec, load_commondata
from n3fit_gpu.physics.cuts import apply_cuts, dis_cut_mask, w2

# NNPDF4.0 (arXiv:2109.02653, table 2.1) number of points after its default DIS cuts
NNPDF40_POINTS = {
    "BCDMS_NC_NOTFIXED_P_EM-F2": 333,
    "NMC_NC_NOTFIXED_P_EM-SIGMARED": 204,
    "NMC_NC_NOTFIXED_EM-F2": 121,
    "HERA_NC_318GEV_EM-SIGMARED": 159,
    "HERA_NC_318GEV_EP-SIGMARED": 377,
    "HERA_CC_318GEV_EP-SIGMARED": 39,
}


def test_w2_is_nnpdf_convention():
    np.testing.assert_allclose(w2(np.array([0.5, 0.1]), np.array([10.0, 2.0])), [10.0, 18.0])


@pytest.mark.parametrize("name", NNPDF40_POINTS)
def test_default_cuts_give_nnpdf40_point_counts(name):
    cd = load_commondata(DatasetSpec(name, "legacy"))
    assert apply_cuts(cd).ndata == NNPDF40_POINTS[name]


def test_points_failing_w2_or_q2_are_removed():
    bcdms = load_commondata(DatasetSpec("BCDMS_NC_NOTFIXED_P_EM-F2", "legacy"))
    # point 60: x = 0.55, Q² = 11.75 GeV² passes Q² but has W² = 9.6 GeV²
    assert bcdms.kinematics["x"][60] == 0.55 and bcdms.kinematics["Q2"][60] == 11.75
    kept = apply_cuts(bcdms)
    assert 60 not in kept.indices and 59 in kept.indices
    nmc = load_commondata(DatasetSpec("NMC_NC_NOTFIXED_EM-F2", "legacy"))
    assert nmc.kinematics["Q2"][0] == 0.16  # point 0 fails Q² > 3.49
    assert 0 not in apply_cuts(nmc).indices


def test_kept_points_pass_and_removed_points_fail():
    cd = load_commondata(DatasetSpec("NMC_NC_NOTFIXED_P_EM-SIGMARED", "legacy"))
    keep = dis_cut_mask(cd, q2min=5.0, w2min=20.0)
    x, q2 = cd.kinematics["x"], cd.kinematics["Q2"]
    passes = (q2 > 5.0) & (q2 * (1 - x) / x > 20.0)
    np.testing.assert_array_equal(keep, passes)
    assert 0 < keep.sum() < cd.ndata
    np.testing.assert_array_equal(apply_cuts(cd, 5.0, 20.0).central, cd.central[passes])


def test_cuts_that_empty_a_dataset_raise_one_line():
    cd = load_commondata(DatasetSpec("HERA_CC_318GEV_EP-SIGMARED", "legacy"))
    with pytest.raises(DataError) as error:
        apply_cuts(cd, q2min=1e6)
    message = str(error.value)
    assert "\n" not in message
    assert "HERA_CC_318GEV_EP-SIGMARED" in message and "1000000.0" in message
    assert "39 of 39 fail Q²" in message
