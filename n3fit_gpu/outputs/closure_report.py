"""``n3fit-gpu closure``: the closure estimators of one or more closure fits, as JSON and PNG.

Each fit folder (written by ``fit`` from a runcard with ``closuretest.fakedata``) gives its
runcard, its postfit-selected replicas (``pdf_q0.npz``) and, rebuilt from the runcard, its
level-1 data, covariance and truth (``closuretest.fakepdf``: ``toy`` or any LHAPDF set, so a
user can bring their own truth). Fits must share the data and the truth; they differ in their
level-1 noise (``closuretest.filterseed``) and seeds. Writes ``closure.json`` and
``closure_pulls.png`` (x-space pull per flavour against x) and returns the report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_write_json
from n3fit_gpu.config import load_runcard
from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.exportgrid import EXPORT_LABELS, evolution_to_flavour
from n3fit_gpu.outputs.plots import new_figure, save_png
from n3fit_gpu.physics.closure import data_space, x_space
from n3fit_gpu.physics.covariance import build_covariance
from n3fit_gpu.physics.fit_data import load_fitted_datasets, t0_predictions
from n3fit_gpu.physics.observables.predict import predict_stacked
from n3fit_gpu.physics.pdf_sets import pdf_at_q0
from n3fit_gpu.physics.theory_source import load_card_theory

FLAVOURS = ("GLUON", "U", "UBAR", "D", "DBAR", "S", "C")
EVOLUTION = ("sigma", "g", "v", "v3", "v8", "t3", "t8", "t15")  # the fitted combinations
X_REGION = (1e-3, 0.7)


@dataclass(frozen=True)
class ClosureFit:
    """What the estimators need of one closure fit."""

    folder: Path
    replicas: np.ndarray  # (R, nbasis, nx) x·f at Q0 of the selected replicas
    predictions: np.ndarray  # (R, N)
    truth_xf: np.ndarray  # (nbasis, nx)
    truth: np.ndarray  # (N,) the truth's predictions
    covariance: np.ndarray  # (N, N) the fit's (t0) covariance
    xgrid: np.ndarray
    basis: tuple[str, ...]
    fakepdf: str


def load_closure_fit(folder: Path, theory_path: Path | None = None) -> ClosureFit:
    """Read a finished closure fit (one-line :class:`OutputError` when it is not one)."""
    folder = Path(folder)
    cards = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
    summary = folder / "summary.json"
    if not cards or not summary.is_file():
        raise OutputError(f"{folder} is not a finished fit (no runcard or summary.json)")
    card = load_runcard(cards[0])
    if not card.closuretest.fakedata:
        raise OutputError(
            f"{folder} is not a closure fit: its runcard has closuretest.fakedata false"
        )
    theory = load_card_theory(card, theory_path)
    chosen = json.loads(summary.read_text())["postfit"]["selected"]
    if len(chosen) < 2:
        raise OutputError(f"{folder}: postfit selected {len(chosen)} replicas; need at least 2")
    xf = np.stack([np.load(folder / "nnfit" / f"replica_{r}" / "pdf_q0.npz")["xf"] for r in chosen])
    datasets, observables = load_fitted_datasets(card, theory)
    covariance = build_covariance(datasets, t0_predictions(card, theory, observables))
    truth_xf = pdf_at_q0(card.closuretest.fakepdf, theory, key="closuretest.fakepdf")

    def predictions(xf_stack: np.ndarray) -> np.ndarray:  # (R, nb, nx) -> (R, n)
        return predict_stacked(observables, np.swapaxes(xf_stack, 1, 2))

    return ClosureFit(
        folder=folder,
        replicas=xf,
        predictions=predictions(xf),
        truth_xf=truth_xf,
        truth=predictions(truth_xf[None])[0],
        covariance=covariance.dense(),
        xgrid=theory.xgrid,
        basis=theory.basis,
        fakepdf=str(card.closuretest.fakepdf),
    )


def closure_report(
    fits: Sequence[ClosureFit], output: Path, region: tuple[float, float] = X_REGION
) -> dict:
    """Data- and x-space estimators of ``fits``; writes closure.json and closure_pulls.png."""
    first = fits[0]
    for fit in fits[1:]:
        if fit.truth.shape != first.truth.shape or not np.allclose(fit.truth_xf, first.truth_xf):
            raise OutputError(
                f"{fit.folder} and {first.folder} have different data or truths; a closure "
                "report compares fits of one truth to the same data"
            )
    data = data_space([f.predictions for f in fits], first.truth, first.covariance)
    shown = (first.xgrid >= region[0]) & (first.xgrid <= region[1])
    x = first.xgrid[shown]
    rows = [EXPORT_LABELS.index(label) for label in FLAVOURS]
    flavour = x_space(
        [evolution_to_flavour(f.replicas, f.basis)[:, rows][..., shown] for f in fits],
        evolution_to_flavour(first.truth_xf, first.basis)[rows][..., shown],
        FLAVOURS,
        x,
    )
    evo_rows = [first.basis.index(label) for label in EVOLUTION]
    evolution = x_space(
        [f.replicas[:, evo_rows][..., shown] for f in fits],
        first.truth_xf[evo_rows][..., shown],
        EVOLUTION,
        x,
    )
    report = {
        "fits": [str(f.folder) for f in fits],
        "truth": first.fakepdf,
        "replicas": [len(f.replicas) for f in fits],
        "data_space": {
            "r_bv": data.r_bv,
            "xi_1sigma": data.xi_1sigma,
            "bias": data.bias.tolist(),
            "variance": data.variance.tolist(),
            "ndata": int(first.truth.size),
        },
        "x_space": {
            "region": list(region),
            "points": int(shown.sum()),
            **{
                name: {
                    "coverage_68": dict(zip(space.labels, space.coverage.tolist())),
                    "mean_pull": dict(zip(space.labels, space.pull.tolist())),
                    "overall_coverage_68": space.overall_coverage,
                }
                for name, space in (("flavour", flavour), ("evolution", evolution))
            },
        },
    }
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_json(output / "closure.json", report)
    _plot_pulls(output / "closure_pulls.png", (flavour, evolution), len(fits), first.fakepdf)
    return report


def _plot_pulls(path: Path, spaces, nfits: int, truth: str) -> Path:
    """Mean pull (mean − truth)/σ against x, one line per flavour, ±0.5σ marked."""
    figure = new_figure(11, 4)
    for ax, space, title in zip(figure.subplots(1, 2), spaces, ("flavours", "evolution basis")):
        for k, label in enumerate(space.labels):
            ax.plot(space.x, space.pull_by_x[k], lw=1.2, label=f"{label} ({space.pull[k]:+.2f})")
        for level in (-0.5, 0.5):
            ax.axhline(level, color="grey", lw=0.6, ls="--")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("x")
        ax.set_ylabel("mean over fits of (mean − truth) / σ")
        ax.set_title(f"x-space pulls at Q0, {title}", fontsize=10)
        ax.legend(fontsize=7, ncols=2)
    figure.suptitle(f"Closure test: {nfits} fits of truth {truth}", fontsize=10)
    return save_png(figure, path)


def format_report(report: dict) -> str:
    """The report as a few lines of text for the terminal."""
    d, xs = report["data_space"], report["x_space"]
    lines = [
        f"{len(report['fits'])} fits of truth {report['truth']}, {d['ndata']} points",
        f"data space: R_bv {d['r_bv']:.3f} (faithful: 1), ξ_1σ {d['xi_1sigma']:.3f} "
        f"(faithful: 0.68)",
        f"x space ({xs['region'][0]:g} ≤ x ≤ {xs['region'][1]:g}, {xs['points']} points), "
        "68% coverage and mean pull per flavour:",
    ]
    for name in ("flavour", "evolution"):
        space = xs[name]
        cells = [
            f"{label} {space['coverage_68'][label]:.2f}/{space['mean_pull'][label]:+.2f}"
            for label in space["coverage_68"]
        ]
        lines.append(f"  {name:9s} overall {space['overall_coverage_68']:.3f}: {'  '.join(cells)}")
    return "\n".join(lines)
