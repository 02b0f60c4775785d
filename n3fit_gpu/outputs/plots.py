"""PNG plots of a fit: PDF bands at Q0, χ²/N per dataset, training curves.

Each function draws one ``matplotlib.figure.Figure`` on its own Agg canvas — no pyplot, so
nothing global changes (no backend switch, no figure registry to leak) and it works without a
display — renders it to PNG in memory and writes the file atomically.

PDF bands: each flavour gets a log-x panel (small x, x ≥ 1e-5) and a linear-x panel (valence
region, x ≥ 0.05); only the points shown are used to scale the y axis, so the x·f growth at
x → 0 does not flatten the rest.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_write_bytes

LOG_X_MIN = 1e-5
LINEAR_X_MIN = 5e-2
_DPI = 110
_BAND_COLOUR, _TRUTH_COLOUR = "C0", "C3"


def new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure, path: str | Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return atomic_write_bytes(path, buffer.getvalue())


def plot_pdf_bands(
    path: str | Path,
    xgrid: np.ndarray,
    replicas_xf: np.ndarray,
    labels: Sequence[str],
    q0: float,
    truth_xf: np.ndarray | None = None,
) -> Path:
    """x·f of every flavour at Q0: replica mean, 68% band, ±1σ, and the truth when known.

    Parameters
    ----------
    path : str | Path
        PNG file to write.
    xgrid : np.ndarray
        (nx,) increasing x points.
    replicas_xf : np.ndarray
        (R, nfl, nx) x·f of each replica.
    labels : Sequence[str]
        (nfl,) flavour names, e.g. ``EXPORT_LABELS`` entries.
    q0 : float
        scale of the PDFs, GeV (shown in the title).
    truth_xf : np.ndarray | None
        (nfl, nx) x·f of the PDF the data were generated from (closure tests).
    """
    nfl = len(labels)
    pairs_per_row = min(2, nfl)
    rows = -(-nfl // pairs_per_row)
    figure = new_figure(6.4 * pairs_per_row, 2.7 * rows + 0.4)
    axes = figure.subplots(rows, 2 * pairs_per_row, squeeze=False).reshape(rows, -1, 2)
    for k, (log_ax, lin_ax) in enumerate(axes.reshape(-1, 2)):
        if k >= nfl:
            log_ax.set_axis_off()
            lin_ax.set_axis_off()
            continue
        truth = None if truth_xf is None else truth_xf[k]
        for ax, xmin, scale in ((log_ax, LOG_X_MIN, "log"), (lin_ax, LINEAR_X_MIN, "linear")):
            shown = xgrid >= xmin
            _draw_band(
                ax, xgrid[shown], replicas_xf[:, k, shown], None if truth is None else truth[shown]
            )
            ax.set_xscale(scale)
            ax.set_xlim(xmin if scale == "log" else 0.0, 1.0)
            ax.set_xlabel("x")
        log_ax.set_ylabel(f"x·{_pretty(labels[k])}(x)")
        log_ax.set_title(f"{_pretty(labels[k])}, small x", fontsize=9)
        lin_ax.set_title(f"{_pretty(labels[k])}, large x", fontsize=9)
    handles, names = axes[0, 0, 0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside lower center", ncols=len(names), fontsize=8)
    figure.suptitle(f"PDFs at Q0 = {q0:.3g} GeV, {replicas_xf.shape[0]} replicas", fontsize=10)
    return save_png(figure, path)


def _draw_band(ax, x: np.ndarray, reps: np.ndarray, truth: np.ndarray | None) -> None:
    """Mean, 68% band and ±1σ of ``reps`` (R, nx); ``truth`` (nx,) dashed if given."""
    mean, std = reps.mean(axis=0), reps.std(axis=0)
    low, high = np.percentile(reps, [16, 84], axis=0)
    ax.fill_between(x, low, high, color=_BAND_COLOUR, alpha=0.3, lw=0, label="68% of replicas")
    ax.plot(x, mean, color=_BAND_COLOUR, lw=1.2, label="replica mean")
    ax.plot(x, mean + std, color=_BAND_COLOUR, lw=0.7, ls=":", label="mean ± 1σ")
    ax.plot(x, mean - std, color=_BAND_COLOUR, lw=0.7, ls=":")
    if truth is not None:
        ax.plot(x, truth, color=_TRUTH_COLOUR, lw=1.0, ls="--", label="truth")
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.tick_params(labelsize=8)


def _pretty(label: str) -> str:
    """EXPORT_LABELS name as a flavour symbol: UBAR → ū, GLUON → g, PHT → γ."""
    special = {"GLUON": "g", "PHT": "γ"}
    if label in special:
        return special[label]
    if label.endswith("BAR"):
        return label[:-3].lower() + "\u0304"
    return label.lower() if len(label) <= 2 else label


def plot_chi2_per_dataset(
    path: str | Path,
    names: Sequence[str],
    chi2_central: Mapping[str, float],
    chi2_replica_mean: Mapping[str, float],
) -> Path:
    """Horizontal bars of χ²/N per dataset, for the mean PDF and averaged over replicas.

    Parameters
    ----------
    names : Sequence[str]
        datasets, drawn top to bottom in this order.
    chi2_central, chi2_replica_mean : Mapping[str, float]
        χ²/N by dataset name.
    """
    figure = new_figure(7.5, 0.42 * len(names) + 1.4)
    ax = figure.subplots()
    y = np.arange(len(names))
    central = [chi2_central[n] for n in names]
    average = [chi2_replica_mean[n] for n in names]
    bars = ax.barh(y - 0.2, central, 0.4, label="central (mean PDF)")
    ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    bars = ax.barh(y + 0.2, average, 0.4, label="replica average")
    ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    finite = [v for v in (*central, *average) if np.isfinite(v)]
    ax.set_xlim(0, 1.15 * max([*finite, 1.0]))
    ax.set_xlabel("χ²/N (experimental covariance)")
    ax.set_title("χ²/N per dataset", fontsize=10)
    figure.legend(loc="outside lower center", ncols=2, fontsize=8)
    return save_png(figure, path)


def plot_training_curves(
    path: str | Path,
    epochs: np.ndarray,
    chi2_tr: np.ndarray,
    chi2_vl: np.ndarray,
    stop_epochs: np.ndarray,
) -> Path:
    """Training and validation χ²/N of each replica against epoch, and where each stopped.

    Parameters
    ----------
    epochs : np.ndarray
        (T,) epochs at which the χ² were recorded.
    chi2_tr, chi2_vl : np.ndarray
        (R, T) training and validation χ²/N (NaN after a replica stopped is fine).
    stop_epochs : np.ndarray
        (R,) epoch at which each replica stopped.
    """
    from matplotlib import ticker

    figure = new_figure(10.0, 4.0)
    curves, histogram = figure.subplots(1, 2, width_ratios=(2.2, 1))
    nrep = chi2_tr.shape[0]
    alpha = max(0.15, min(0.8, 4.0 / nrep))
    for r in range(nrep):
        curves.plot(epochs, chi2_tr[r], color="C0", alpha=alpha, lw=0.8)
        curves.plot(epochs, chi2_vl[r], color="C1", alpha=alpha, lw=0.8)
    with warnings.catch_warnings():  # epochs every replica has passed are all NaN: no median
        warnings.simplefilter("ignore", RuntimeWarning)
        median_tr, median_vl = np.nanmedian(chi2_tr, axis=0), np.nanmedian(chi2_vl, axis=0)
    curves.plot(epochs, median_tr, color="C0", lw=2, label="training (median)")
    curves.plot(epochs, median_vl, color="C1", lw=2, label="validation (median)")
    at_stop = [np.interp(s, epochs, v) for s, v in zip(stop_epochs, chi2_vl, strict=True)]
    curves.plot(stop_epochs, at_stop, "kx", ms=5, label="stop epoch")
    curves.set_yscale("log")
    curves.yaxis.set_minor_formatter(
        ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5))
    )
    curves.set_xlabel("epoch")
    curves.set_ylabel("χ²/N")
    curves.set_title(f"{nrep} replicas", fontsize=10)
    curves.legend(fontsize=8)
    histogram.hist(stop_epochs, bins=min(20, max(5, nrep)), color="grey")
    histogram.set_xlabel("stop epoch")
    histogram.set_ylabel("replicas")
    histogram.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    histogram.set_title("where replicas stopped", fontsize=10)
    return save_png(figure, path)
