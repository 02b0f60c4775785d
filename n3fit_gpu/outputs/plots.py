"""PNG plots of a fit: PDF bands at Q0, χ² per dataset, training curves.

Matplotlib's Agg backend is selected inside each function (no import-time side effects); each
figure is saved to a temporary file and renamed into place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_write_bytes


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def plot_pdf_bands(
    path: str | Path,
    xgrid: np.ndarray,
    replicas_xf: np.ndarray,
    labels: Sequence[str],
    q0: float,
    truth_xf: np.ndarray | None = None,
) -> Path:
    """One panel per flavour: mean, 68% band, ±1σ lines, truth if given; ``(R, nfl, nx)``."""
    plt = _pyplot()
    n = len(labels)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    mean = replicas_xf.mean(axis=0)
    std = replicas_xf.std(axis=0)
    lo, hi = np.percentile(replicas_xf, [16, 84], axis=0)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        ax.fill_between(xgrid, lo[k], hi[k], alpha=0.35, color="C0", label="68% of replicas")
        ax.plot(xgrid, mean[k], color="C0", label=f"mean of {replicas_xf.shape[0]}")
        ax.plot(xgrid, mean[k] + std[k], color="C0", ls=":", lw=0.8, label="±1σ")
        ax.plot(xgrid, mean[k] - std[k], color="C0", ls=":", lw=0.8)
        if truth_xf is not None:
            ax.plot(xgrid, truth_xf[k], color="C3", ls="--", label="truth")
        ax.set_xscale("log")
        ax.set_xlim(1e-5, 1)
        ax.set_title(f"x·{labels[k].lower()}  (Q = {q0:.2f} GeV)", fontsize=9)
        ax.set_xlabel("x")
        ax.axhline(0, color="grey", lw=0.5)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def plot_chi2_per_dataset(
    path: str | Path,
    names: Sequence[str],
    chi2_central: Mapping[str, float],
    chi2_replica_mean: Mapping[str, float],
) -> Path:
    """Horizontal bars of χ²/N per dataset: central PDF and replica average."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.2))
    y = np.arange(len(names))
    ax.barh(y - 0.2, [chi2_central[n] for n in names], 0.4, label="central (mean PDF)")
    ax.barh(y + 0.2, [chi2_replica_mean[n] for n in names], 0.4, label="replica average")
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("χ² / N  (experimental covariance)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_training_curves(
    path: str | Path,
    epochs: np.ndarray,
    chi2_tr: np.ndarray,
    chi2_vl: np.ndarray,
    stop_epochs: np.ndarray,
) -> Path:
    """Training and validation χ²/N of every replica against epoch; ``(R, T)`` arrays."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in range(chi2_tr.shape[0]):
        ax.plot(epochs, chi2_tr[r], color="C0", alpha=0.4, lw=0.8)
        ax.plot(epochs, chi2_vl[r], color="C1", alpha=0.4, lw=0.8)
    ax.plot([], [], color="C0", label="training")
    ax.plot([], [], color="C1", label="validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("χ² / N")
    ax.set_title(f"{chi2_tr.shape[0]} replicas")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)
