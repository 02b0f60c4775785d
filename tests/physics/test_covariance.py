"""The low-rank experimental covariance against naive constructions from the raw files."""

from pathlib import Path

import nnpdf_data
import numpy as np
import pytest
import yaml

from n3fit_gpu.errors import DataError
from n3fit_gpu.physics.commondata import CommonData, DatasetSpec, load_commondata
from n3fit_gpu.physics.covariance import build_covariance, chi2

COMMONDATA = Path(nnpdf_data.__file__).parent / "commondata"


def synthetic(name, central, stat, sys, treatments, names, process="DIS_NC") -> CommonData:
    central = np.asarray(central, dtype=float)
    return CommonData(
        name=name,
        variant=None,
        process_type=process,
        indices=np.arange(len(central)),
        kinematics={},
        central=central,
        stat=np.asarray(stat, dtype=float),
        sys=np.asarray(sys, dtype=float).reshape(len(central), len(names)),
        sys_treatment=tuple(treatments),
        sys_names=tuple(names),
    )


def naive_covariance(path: Path) -> np.ndarray:
    """C_ij from the uncertainty file alone, by the textbook rule, point pair by point pair."""
    raw = yaml.safe_load(path.read_text())
    definitions, bins = raw["definitions"], raw["bins"]
    n = len(bins)
    cov = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            for key, definition in definitions.items():
                si, sj = float(bins[i][key]), float(bins[j][key])
                if key == "stat" or definition["type"] == "UNCORR":
                    cov[i, j] += si * sj if i == j else 0.0
                else:  # CORR or a named systematic: correlated over the whole dataset
                    cov[i, j] += si * sj
    return cov


@pytest.fixture(scope="module")
def hera_pair() -> list[CommonData]:
    names = ["HERA_NC_318GEV_EM-SIGMARED", "HERA_CC_318GEV_EP-SIGMARED"]
    return [load_commondata(DatasetSpec(name, "legacy")) for name in names]


def test_one_dataset_matches_a_hand_computation():
    cd = load_commondata(DatasetSpec("BCDMS_NC_NOTFIXED_P_EM-F2", "legacy"))
    expected = naive_covariance(
        COMMONDATA / "BCDMS_NC_NOTFIXED_P" / "uncertainties_legacy_EM-F2.yaml"
    )
    cov = build_covariance([cd])
    np.testing.assert_allclose(cov.dense(), expected, rtol=1e-12, atol=1e-15)
    assert cov.sys.shape == (cd.ndata, 11)  # 5 named + 6 CORR sources
    assert np.all(cov.diag > 0)


def test_named_systematics_correlate_datasets(hera_pair):
    nc, cc = hera_pair
    dense = build_covariance(hera_pair).dense()
    cross = dense[: nc.ndata, nc.ndata :]
    assert np.abs(cross).max() > 0
    # by hand: Σ over systematic names the two datasets share, σ_nc σ_cc
    shared = [name for name in nc.sys_names if name in cc.sys_names and name != "UNCORR"]
    expected = sum(
        np.outer(nc.sys[:, nc.sys_names.index(s)], cc.sys[:, cc.sys_names.index(s)]) for s in shared
    )
    assert len(shared) == 169
    np.testing.assert_allclose(cross, expected, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(dense, dense.T)


def test_corr_systematics_stay_within_their_dataset():
    names = ["NMC_NC_NOTFIXED_EM-F2", "NMC_NC_NOTFIXED_P_EM-SIGMARED"]
    first, second = [load_commondata(DatasetSpec(name, "legacy")) for name in names]
    assert "CORR" in first.sys_names and "CORR" in second.sys_names
    dense = build_covariance([first, second]).dense()
    assert np.all(dense[: first.ndata, first.ndata :] == 0)
    block = dense[: first.ndata, : first.ndata]
    assert np.abs(block - np.diag(np.diag(block))).max() > 0


def test_t0_rescales_multiplicative_uncertainties_only():
    cd = synthetic(
        "toy",
        central=[2.0, 4.0],
        stat=[0.1, 0.2],
        sys=[[0.2, 0.3, 0.05], [0.4, 0.1, 0.02]],
        treatments=["MULT", "ADD", "MULT"],
        names=["CORR", "CORR", "UNCORR"],
    )
    t0 = np.array([3.0, 2.0])  # ratios t0/central = 1.5, 0.5
    mult = np.array([0.2 * 1.5, 0.4 * 0.5])
    add = np.array([0.3, 0.1])
    uncorr = np.array([0.05 * 1.5, 0.02 * 0.5])
    expected = np.diag([0.01, 0.04] + uncorr**2) + np.outer(mult, mult) + np.outer(add, add)
    np.testing.assert_allclose(build_covariance([cd], t0=[t0]).dense(), expected)
    unscaled = np.diag([0.01 + 0.05**2, 0.04 + 0.02**2]) + np.outer([0.2, 0.4], [0.2, 0.4])
    np.testing.assert_allclose(build_covariance([cd]).dense(), unscaled + np.outer(add, add))


def test_skip_is_ignored_and_theory_types_follow_their_kind():
    cd = synthetic(
        "toy",
        central=[1.0, 1.0],
        stat=[0.1, 0.1],
        sys=[[9.0, 0.2, 0.3], [9.0, 0.4, 0.5]],
        treatments=["ADD"] * 3,
        names=["SKIP", "THEORYUNCORR", "THEORYCORR"],
    )
    expected = np.diag([0.01 + 0.04, 0.01 + 0.16]) + np.outer([0.3, 0.5], [0.3, 0.5])
    np.testing.assert_allclose(build_covariance([cd]).dense(), expected)


def test_zero_uncertainty_point_is_not_positive_definite():
    good = synthetic("GOOD", [1.0], [0.1], [], [], [])
    bad = synthetic("BAD_SET", [1.0, 2.0, 3.0], [0.1, 0.1, 0.0], [[0.1]] * 3, ["ADD"], ["CORR"])
    with pytest.raises(DataError) as error:
        build_covariance([good, bad.select([0, 2])])  # point 2 of the file is now the 2nd
    message = str(error.value)
    assert "BAD_SET" in message and "point 2" in message and "\n" not in message


def test_chi2_is_exact_and_batched(hera_pair):
    cov = build_covariance(hera_pair)
    rng = np.random.default_rng(0)
    residuals = rng.normal(size=(2, 3, len(cov.diag))) * np.sqrt(cov.diag)
    expected = np.einsum("...i,ij,...j->...", residuals, np.linalg.inv(cov.dense()), residuals)
    np.testing.assert_allclose(chi2(residuals, cov), expected, rtol=1e-8)
    assert chi2(residuals[0, 0], cov).shape == ()


def test_block_is_the_dense_sub_matrix(hera_pair):
    cov = build_covariance(hera_pair)
    n = hera_pair[0].ndata
    np.testing.assert_allclose(cov.block(n, len(cov.diag)).dense(), cov.dense()[n:, n:])
