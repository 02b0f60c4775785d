"""Plots are written as real PNG files."""

import numpy as np

from n3fit_gpu.outputs.plots import plot_chi2_per_dataset, plot_pdf_bands, plot_training_curves

PNG = b"\x89PNG\r\n\x1a\n"


def test_all_plots_are_pngs(tmp_path):
    x = np.geomspace(1e-5, 0.9, 30)
    reps = np.random.default_rng(0).normal(1, 0.1, size=(5, 3, 30)) * x**0.2
    paths = [
        plot_pdf_bands(tmp_path / "a.png", x, reps, ["GLUON", "U", "D"], 1.65, reps[0]),
        plot_chi2_per_dataset(
            tmp_path / "b.png", ["A", "B"], {"A": 1.1, "B": 0.9}, {"A": 1.3, "B": 1.0}
        ),
        plot_training_curves(
            tmp_path / "c.png",
            np.arange(1, 11) * 100,
            np.ones((5, 10)),
            np.ones((5, 10)) * 1.2,
            np.full(5, 1000),
        ),
    ]
    for p in paths:
        data = p.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
