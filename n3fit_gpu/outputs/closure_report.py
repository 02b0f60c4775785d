"""``n3fit-gpu closure``: the closure estimators of one or more closure fits, as JSON and PNG.

Each fit folder (written by ``fit`` from a runcard with ``closuretest.fakedata``) gives its
runcard, its postfit-selected replicas (``pdf_q0.npz``) and, rebuilt from the runcard, its
level-1 data, covariance and truth (``closuretest.fakepdf``: ``toy`` or any LHAPDF set, so a
user can bring their own truth). Fits must share the data and the truth; they differ in their
level-1 noise (``closuretest.filterseed``) and seeds. Writes ``closure.json`` and
``closure_pulls.png`` (x-space pull per flavour against x) and returns the report.

Test datasets (of the fits' theory, left out of every fit) give the data-space estimators out
of sample as well, as NNPDF's closure tests of its 4.0 methodology evaluate them: the
uncertainty of predictions for data the fit has not seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import ValidationError

from n3fit_gpu.atomic import atomic_write_json
from n3fit_gpu.config import DatasetInput, load_runcard
from n3fit_gpu.config.messages import issues_from
from n3fit_gpu.errors import DataError, OutputError
from n3fit_gpu.outputs.exportgrid import EXPORT_LABELS, evolution_to_flavour
from n3fit_gpu.outputs.fit_folder import selected_pdfs
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
class DataSample:
    """Predictions of a fit's replicas and of the truth for some data, and their covariance."""

    datasets: tuple[str, ...]
    predictions: np.ndarray  # (R, N)
    truth: np.ndarray  # (N,)
    covariance: np.ndarray  # (N, N) the t0 covariance of the fit's runcard


@dataclass(frozen=True)
class ClosureFit:
    """What the estimators need of one closure fit."""

    folder: Path
    replicas: np.ndarray  # (R, nbasis, nx) x·f at Q0 of the selected replicas
    truth_xf: np.ndarray  # (nbasis, nx)
    fitted: DataSample  # the data the fit was fitted to
    test: DataSample | None  # data left out of the fit, when test datasets are given
    xgrid: np.ndarray
    basis: tuple[str, ...]
    fakepdf: str


def parse_test_dataset(text: str) -> DatasetInput:
    """A test dataset from the command line: a name, or YAML such as
    ``{dataset: NAME, variant: legacy}`` (one-line :class:`DataError` when it is neither)."""
    try:
        value = yaml.safe_load(text)
        return DatasetInput.model_validate({"dataset": value} if isinstance(value, str) else value)
    except yaml.YAMLError:
        problem = "not YAML"
    except ValidationError as exc:
        issue = issues_from(exc, DatasetInput, "--test", lambda path: 0)[0]
        problem = f"{issue.path}: {issue.message}" if issue.path else issue.message
    raise DataError(
        f"test dataset {text!r}: {problem}; give a dataset name or "
        "'{dataset: NAME, variant: VARIANT}'"
    )


def load_closure_fit(
    folder: Path, theory_path: Path | None = None, test: Sequence[DatasetInput] = ()
) -> ClosureFit:
    """Read a finished closure fit (one-line :class:`OutputError` when it is not one) and, when
    ``test`` names datasets the fit left out, its predictions for them."""
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
    _, xf = selected_pdfs(folder, "xf")
    truth_xf = pdf_at_q0(card.closuretest.fakepdf, theory, key="closuretest.fakepdf")
    tested = _test_sample(folder, card, theory, theory_path, test, xf, truth_xf) if test else None
    return ClosureFit(
        folder=folder,
        replicas=xf,
        truth_xf=truth_xf,
        fitted=_data_sample(card, theory, xf, truth_xf),
        test=tested,
        xgrid=theory.xgrid,
        basis=theory.basis,
        fakepdf=str(card.closuretest.fakepdf),
    )


def _test_sample(
    folder: Path,
    card,
    theory,
    theory_path: Path | None,
    test: Sequence[DatasetInput],
    xf: np.ndarray,
    truth_xf: np.ndarray,
) -> DataSample:
    """:func:`_data_sample` of the ``test`` datasets, which the fit in ``folder`` left out."""
    fitted = {entry.dataset for entry in card.dataset_inputs}
    for entry in test:
        if entry.dataset in fitted:
            raise DataError(
                f"test dataset {entry.dataset} is fitted by {folder}; a test dataset must be "
                "left out of the fits (remove it from their dataset_inputs or from the tests)"
            )
    # an NNPDF-layout theory is read for a runcard's datasets, on the union of their grids
    joint = load_card_theory(
        card.model_copy(update={"dataset_inputs": card.dataset_inputs + tuple(test)}), theory_path
    )
    if not np.array_equal(joint.xgrid, theory.xgrid):
        raise DataError(
            f"the FK tables of test datasets {', '.join(e.dataset for e in test)} have x nodes "
            f"the fit in {folder} did not save its PDFs at; choose test datasets on the fits' "
            "x grid"
        )
    test_card = card.model_copy(update={"dataset_inputs": tuple(test)})
    return _data_sample(test_card, joint, xf, truth_xf)


def _data_sample(card, theory, xf: np.ndarray, truth_xf: np.ndarray) -> DataSample:
    """Predictions of the replicas ``xf`` and of the truth for ``card``'s datasets (closure
    data, its cuts), with the card's t0 covariance."""
    datasets, observables = load_fitted_datasets(card, theory)
    covariance = build_covariance(datasets, t0_predictions(card, theory, observables))
    both = predict_stacked(observables, np.swapaxes(np.concatenate([xf, truth_xf[None]]), 1, 2))
    return DataSample(
        datasets=tuple(e.dataset for e in card.dataset_inputs),
        predictions=both[:-1],
        truth=both[-1],
        covariance=covariance.dense(),
    )


def closure_report(
    fits: Sequence[ClosureFit], output: Path, region: tuple[float, float] = X_REGION
) -> dict:
    """Data- and x-space estimators of ``fits``; writes closure.json and closure_pulls.png."""
    first = fits[0]
    for fit in fits[1:]:
        same_data = fit.fitted.datasets == first.fitted.datasets and (
            fit.fitted.truth.shape == first.fitted.truth.shape
        )
        if not same_data or not np.allclose(fit.truth_xf, first.truth_xf):
            raise OutputError(
                f"{fit.folder} and {first.folder} have different data or truths; a closure "
                "report compares fits of one truth to the same data"
            )
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
        "data_space": _data_space_entry([f.fitted for f in fits]),
        **(
            {"test_data_space": _data_space_entry([f.test for f in fits])}
            if first.test is not None
            else {}
        ),
        "x_space": {
            "region": list(region),
            "points": int(shown.sum()),
            **{
                name: {
                    "coverage_68": dict(zip(space.labels, space.coverage.tolist())),
                    "mean_pull": dict(zip(space.labels, space.pull.tolist())),
                    "mean_pull_error": dict(
                        zip(space.labels, [_finite_or_none(e) for e in space.pull_error])
                    ),
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


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a missing value is null."""
    return float(value) if np.isfinite(value) else None


def _data_space_entry(samples: Sequence[DataSample]) -> dict:
    """The data-space estimators of one sample (fitted or test data) of every fit."""
    first = samples[0]
    data = data_space([s.predictions for s in samples], first.truth, first.covariance)
    return {
        "r_bv": data.r_bv,
        "r_bv_error": _finite_or_none(data.r_bv_error),
        "xi_1sigma": data.xi_1sigma,
        "xi_1sigma_error": _finite_or_none(data.xi_1sigma_error),
        "bias": data.bias.tolist(),
        "variance": data.variance.tolist(),
        "ndata": int(first.truth.size),
        "datasets": list(first.datasets),
    }


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
    xs = report["x_space"]
    lines = [f"{len(report['fits'])} fits of truth {report['truth']}"]
    for key, what in (("data_space", "fitted data"), ("test_data_space", "test data")):
        if key in report:
            e = report[key]
            lines.append(
                f"data space, {what} ({e['ndata']} points): R_bv {e['r_bv']:.3f}"
                f"{_error_text(e['r_bv_error'])} (faithful: 1), ξ_1σ {e['xi_1sigma']:.3f}"
                f"{_error_text(e['xi_1sigma_error'])} (faithful: 0.68)"
            )
    lines += [
        f"x space ({xs['region'][0]:g} ≤ x ≤ {xs['region'][1]:g}, {xs['points']} points), "
        "68% coverage / mean pull ± its error over fits, per flavour:",
    ]
    for name in ("flavour", "evolution"):
        space = xs[name]
        cells = [
            f"{label} {space['coverage_68'][label]:.2f}/{space['mean_pull'][label]:+.2f}"
            + _error_text(space["mean_pull_error"][label], gap="")
            for label in space["coverage_68"]
        ]
        lines.append(f"  {name:9s} overall {space['overall_coverage_68']:.3f}: {'  '.join(cells)}")
    return "\n".join(lines)


def _error_text(error: float | None, gap: str = " ") -> str:
    """`` ± error`` (``gap`` around the sign), or nothing for a missing error."""
    return "" if error is None else f"{gap}±{gap}{error:.2f}"
