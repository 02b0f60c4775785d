"""Monte Carlo replicas of the data (statistics, seeding, correlations) and tr/vl masks."""

import numpy as np
import pytest

from n3fit_gpu.errors import DataError
from n3fit_gpu.physics.commondata import CommonData, DatasetSpec, load_commondata
from n3fit_gpu.physics.covariance import Covariance, build_covariance, chi2
from n3fit_gpu.physics.cuts import apply_cuts
from n3fit_gpu.physics.pseudodata import (
    replica_seed,
    sample_pseudodata,
    sample_replicas,
    training_masks,
)

NSAMPLES = 2000


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


@pytest.fixture(scope="module")
def datasets() -> list[CommonData]:
    names = ["HERA_NC_318GEV_EM-SIGMARED", "HERA_CC_318GEV_EP-SIGMARED", "NMC_NC_NOTFIXED_EM-F2"]
    return [apply_cuts(load_commondata(DatasetSpec(name, "legacy"))) for name in names]


@pytest.fixture(scope="module")
def samples(datasets) -> np.ndarray:
    return sample_replicas(datasets, seed=7, replicas=range(NSAMPLES))


def test_replica_seed_is_reproducible_and_distinct():
    first = replica_seed(1, 3).standard_normal(4)
    np.testing.assert_array_equal(first, replica_seed(1, 3).standard_normal(4))
    assert not np.allclose(first, replica_seed(1, 4).standard_normal(4))
    assert not np.allclose(first, replica_seed(2, 3).standard_normal(4))


def test_pseudodata_is_reproducible_per_replica(datasets, samples):
    one = sample_pseudodata(datasets, seed=7, replica=5)
    np.testing.assert_array_equal(one, samples[5])  # independent of the other replicas asked
    np.testing.assert_array_equal(one, sample_pseudodata(datasets, seed=7, replica=5))
    assert not np.allclose(one, samples[6])
    assert not np.allclose(one, sample_pseudodata(datasets, seed=8, replica=5))


def test_mean_and_covariance_match(datasets, samples):
    central = np.concatenate([cd.central for cd in datasets])
    cov = build_covariance(datasets)
    sigma = np.sqrt(np.diag(cov.dense()))
    # points with σ ≳ 30% of the value are truncated by the positivity redraw: compare the others
    gaussian = sigma / central < 0.3
    assert gaussian.sum() > 300
    mean_pull = (samples.mean(axis=0) - central) / sigma * np.sqrt(NSAMPLES)
    assert np.abs(mean_pull[gaussian]).max() < 5
    expected = cov.dense()
    # sample covariance vs C, in units of its standard error √((C_ii C_jj + C_ij²)/N)
    error = np.sqrt((np.outer(sigma**2, sigma**2) + expected**2) / NSAMPLES)
    pulls = np.abs(np.cov(samples.T) - expected) / error
    assert pulls[np.ix_(gaussian, gaussian)].max() < 6
    # the named HERA systematics correlate NC and CC: the sample sees that block
    n_nc = datasets[0].ndata
    cross = slice(0, n_nc), slice(n_nc, n_nc + datasets[1].ndata)
    assert (np.abs(expected[cross]) / np.outer(sigma, sigma)[cross]).max() > 0.1
    assert pulls[cross].max() < 6
    # whitened: E[χ²] = n, with a standard error √(2n/N) on the mean over N replicas
    sub = Covariance(cov.diag[gaussian], cov.sys[gaussian], cov.sys_names)
    n = int(gaussian.sum())
    mean_chi2 = chi2(samples[:, gaussian] - central[gaussian], sub).mean()
    assert abs(mean_chi2 - n) < 5 * np.sqrt(2 * n / NSAMPLES)


def test_replicas_keep_negative_draws_by_default_as_n3fit():
    wide = synthetic("WIDE", [1.0, 1.0], [0.9, 0.9], [], [], [])
    kept = sample_replicas([wide], 1, range(400))
    assert np.any(kept < 0)
    assert abs(kept.mean() - 1.0) < 4 * 0.9 / np.sqrt(kept.size)  # unbiased
    redrawn = sample_replicas([wide], 1, range(400), resample_negative=True)
    assert np.all(redrawn >= 0) and redrawn.mean() > kept.mean() + 0.1  # truncation bias


def test_resampling_redraws_unpolarised_dis_only():
    polarised = synthetic("POL", [0.1, 0.1], [0.9, 0.9], [], [], [], process="DIS_POL")
    assert np.any(sample_replicas([polarised], 1, range(200), resample_negative=True) < 0)


def test_hopeless_positivity_raises():
    negative = synthetic("NEG", [-1.0], [1e-3], [], [], [])
    with pytest.raises(DataError, match="replica 0: pseudodata of NEG.*resample_negative"):
        sample_replicas([negative], 1, [0], resample_negative=True)


def test_multiplicative_shifts_scale_and_additive_ones_add():
    central = [2.0, 4.0]
    mult = synthetic("M", central, [0, 0], [[0.2], [0.4]], ["MULT"], ["CORR"])
    add = synthetic("A", central, [0, 0], [[0.2], [0.1]], ["ADD"], ["CORR"])
    for row in sample_replicas([mult], 3, range(5)):
        assert row[0] / 2.0 == pytest.approx(row[1] / 4.0)  # one factor 1 + z·10%
    for row in sample_replicas([add], 3, range(5)):
        assert (row[0] - 2.0) / 0.2 == pytest.approx((row[1] - 4.0) / 0.1)  # one shift z·σ


def test_named_sources_share_their_number_corr_ones_do_not():
    def pair(name):
        return [
            synthetic(f"S{i}", [1.0], [0.0], [[0.1 * (i + 1)]], ["ADD"], [name]) for i in range(2)
        ]

    shared = sample_replicas(pair("LUMI"), 4, range(20))
    np.testing.assert_allclose((shared[:, 0] - 1) / 0.1, (shared[:, 1] - 1) / 0.2)
    separate = sample_replicas(pair("CORR"), 4, range(20))
    assert not np.allclose((separate[:, 0] - 1) / 0.1, (separate[:, 1] - 1) / 0.2)


def test_training_masks_counts_and_seeds():
    ndata, fracs = [10, 7, 5], [0.75, 0.5, 1.0]
    masks = training_masks(ndata, fracs, trvlseed=3, replicas=[1, 2, 3, 4])
    assert masks.shape == (4, 22) and masks.dtype == bool
    np.testing.assert_array_equal(masks[:, :10].sum(axis=1), 7)
    np.testing.assert_array_equal(masks[:, 10:17].sum(axis=1), 3)
    assert masks[:, 17:].all()
    assert len({row.tobytes() for row in masks}) == 4  # each replica its own split
    np.testing.assert_array_equal(masks[1:3], training_masks(ndata, fracs, 3, [2, 3]))
    assert not np.array_equal(masks, training_masks(ndata, fracs, 4, [1, 2, 3, 4]))


def test_same_trvl_per_replica_gives_identical_rows():
    masks = training_masks([10, 7], [0.75, 0.5], 3, [1, 2, 3], same_trvl_per_replica=True)
    assert all(np.array_equal(row, masks[0]) for row in masks)
    np.testing.assert_array_equal(masks[0], training_masks([10, 7], [0.75, 0.5], 3, [0])[0])


def test_training_fraction_out_of_range_is_refused():
    with pytest.raises(DataError, match="frac"):
        training_masks([10], [0.0], 1, [1])
