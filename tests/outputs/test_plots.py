"""Plots are written as real PNG files, atomically."""

import numpy as np
import pytest

from n3fit_gpu.outputs.plots import plot_chi2_per_dataset, plot_pdf_bands, plot_training_curves

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


@pytest.mark.parametrize(("nfl", "with_truth"), [(3, True), (4, False)])
def test_pdf_bands(tmp_path, nfl, with_truth):
    x = np.geomspace(1e-9, 1, 120)
    rng = np.random.default_rng(0)
    reps = rng.normal(1, 0.1, size=(20, nfl, 1)) * x**0.2 * (1 - x) ** 3
    labels = ["GLUON", "U", "UBAR", "S"][:nfl]
    truth = reps.mean(axis=0) if with_truth else None
    assert_png(plot_pdf_bands(tmp_path / "pdf.png", x, reps, labels, 1.65, truth))


@pytest.mark.parametrize("bcdms", [1.3, float("nan")])  # NaN: every replica failed there
def test_chi2_per_dataset(tmp_path, bcdms):
    names = ["NMC_NC_NOTFIXED_P_EM-F2", "HERA_NC_318GEV_EP-SIGMARED", "BCDMS_NC_NOTFIXED_P_EM-F2"]
    central = dict(zip(names, (1.1, 0.9, bcdms), strict=True))
    average = dict(zip(names, (1.3, 1.0, 1.4), strict=True))
    assert_png(plot_chi2_per_dataset(tmp_path / "chi2.png", names, central, average))


@pytest.mark.filterwarnings("error")
def test_training_curves(tmp_path):
    epochs = np.arange(1, 41) * 100
    rng = np.random.default_rng(1)
    chi2_tr = 1 + 5 * np.exp(-epochs / 800) * rng.uniform(0.8, 1.2, size=(6, 1))
    chi2_vl = chi2_tr + 0.1
    stops = np.array([2000, 2500, 4000, 3100, 1800, 4000])
    chi2_vl[0, epochs > 2000] = np.nan  # history ends where the replica stopped
    chi2_vl[:, -1] = np.nan
    path = plot_training_curves(tmp_path / "training.png", epochs, chi2_tr, chi2_vl, stops)
    assert_png(path)
