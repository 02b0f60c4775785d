"""Ensemble outputs of a fit, rebuilt from every replica on disk.

Reads each replica's json and ``pdf_q0.npz``, selects replicas as NNPDF's postfit does
(:mod:`n3fit_gpu.physics.postfit`), and writes ``summary.json`` (the theory, χ² per dataset of
the central PDF and replica average against the data the fit was fitted to, replica counts,
the postfit selection with every veto's reason, stop epochs), the LHAPDF6 set of the selected
replicas (evolved with the theory's operator) and PNG plots. Because it reads only files, it
gives the same result after an interrupted and resumed fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from n3fit_gpu.atomic import atomic_write_json
from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.exportgrid import EXPORT_LABELS, EXPORT_XGRID
from n3fit_gpu.outputs.fit_report import write_fit_report
from n3fit_gpu.outputs.lhapdf import write_lhapdf_set
from n3fit_gpu.outputs.plots import plot_chi2_per_dataset, plot_pdf_bands, plot_training_curves
from n3fit_gpu.outputs.replica_json import read_replica_json
from n3fit_gpu.physics.covariance import build_covariance, chi2
from n3fit_gpu.physics.fit_data import load_fitted_datasets
from n3fit_gpu.physics.observables.predict import predict, predict_stacked
from n3fit_gpu.physics.pdf_sets import pdf_at_q0
from n3fit_gpu.physics.postfit import (
    INTEGRABILITY_FLAVOURS,
    PostfitResult,
    PostfitSettings,
    select_replicas,
)
from n3fit_gpu.physics.theory import EvolutionOperator, Theory

# as evolven3fit writes them (eko's info template); the rest comes from the theory card
LHAPDF_INFO = {"SetDesc": "n3fit_gpu fit", "SetIndex": 0, "Authors": "n3fit_gpu"}


def _chi2_table(card, theory: Theory, xf: np.ndarray) -> dict[str, dict[str, float]]:
    """Per dataset, against the data fitted (a closure test's fake data) with the dataset's
    experimental covariance: χ²/N of the mean PDF (``central``) and averaged over replicas, and
    the median over points of the mean PDF's prediction over the data (``pred_over_data``:
    an offset the χ² hides, e.g. the d'Agostini bias of fits without t0)."""
    datasets, observables = load_fitted_datasets(card, theory)
    table = {}
    for cd, obs in zip(datasets, observables):
        cov = build_covariance([cd])
        stacked = predict_stacked([obs], np.swapaxes(xf, 1, 2))
        per_replica = [chi2(pred - cd.central, cov) / cd.ndata for pred in stacked]
        prediction = predict(obs, xf.mean(axis=0))
        table[cd.name] = {
            "ndata": cd.ndata,
            "central": float(chi2(prediction - cd.central, cov) / cd.ndata),
            "replica_mean": float(np.mean(per_replica)),
            "pred_over_data": float(np.median(prediction / cd.central)),
        }
    return table


def write_ensemble_outputs(
    card, theory: Theory, paths, replicas: Sequence[int], report: dict
) -> dict:
    """summary.json, LHAPDF6 set, plots and report.html from the replicas in ``paths`` (those
    that exist); returns the summary. The set and plots hold the replicas postfit selects
    (none: no set)."""
    infos = {r: read_replica_json(paths.replica_json(r)) for r in replicas if paths.done(r)}
    settings = PostfitSettings()
    selection = postfit(infos, settings)
    good = selection.chosen
    summary = {
        "name": paths.name,
        "theory": theory.description,
        "replicas": {
            "requested": len(replicas),
            "written": len(infos),
            "ok": sum(i.status == "ok" for i in infos.values()),
            "selected": len(good),
        },
        "failed": {str(r): i.status for r, i in infos.items() if i.status != "ok"},
        "postfit": selection.as_json(settings),
        "stop_epochs": {str(r): i.stop_epoch for r, i in infos.items()},
        "last_run": report,
    }
    if good:
        loaded = [np.load(paths.replica_dir(r) / "pdf_q0.npz") for r in good]
        xf = np.stack([f["xf"] for f in loaded])  # (R, nbasis, nx)
        summary["chi2_per_dataset"] = _chi2_table(card, theory, xf)
        if theory.no_evolution is None:
            _write_lhapdf(theory, paths, loaded, good)
        else:
            summary["lhapdf"] = f"not written: {theory.no_evolution}"
        stops = np.array([infos[r].stop_epoch for r in good])
        _write_plots(card, theory, paths, xf, loaded, stops, summary["chi2_per_dataset"])
    atomic_write_json(paths.root / "summary.json", summary)
    write_fit_report(paths.root)
    return summary


def postfit(infos: dict, settings: PostfitSettings) -> PostfitResult:
    """NNPDF's postfit selection of the replicas whose records are ``infos`` (replica → info)."""
    chosen = list(infos)
    if len({(len(infos[r].integrability), len(infos[r].arc_lengths)) for r in chosen}) > 1:
        odd = [r for r in chosen if len(infos[r].integrability) != len(INTEGRABILITY_FLAVOURS)]
        raise OutputError(
            f"replicas {odd[:5]} were written by an earlier version (other integrability "
            "numbers); refit them: delete their nnfit/replica_N folders and rerun with --resume"
        )
    return select_replicas(
        chosen,
        [infos[r].status == "ok" and infos[r].pos_state == "POS_PASS" for r in chosen],
        [np.nan if infos[r].chi2 is None else infos[r].chi2 for r in chosen],
        np.array([infos[r].arc_lengths for r in chosen], dtype=float).reshape(len(chosen), -1),
        np.array([infos[r].integrability for r in chosen], dtype=float).reshape(len(chosen), -1),
        settings,
    )


def _write_lhapdf(theory: Theory, paths, loaded: list, replicas: Sequence[int]) -> None:
    evolution = theory.evolution()
    grids = evolution.apply(*evolution_inputs(theory, evolution, loaded, replicas))
    write_lhapdf_set(
        paths.root / "lhapdf",
        paths.name,
        evolution.xgrid_out,
        evolution.q2_subgrids,
        evolution.pids,
        grids,
        lhapdf_info(theory, evolution),
    )


def evolution_inputs(
    theory: Theory, evolution: EvolutionOperator, loaded: list, replicas: Sequence[int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """x·f ``(R, nbasis, nx_ev)`` on the operator's input grid, and ``(R, nbasis, nx_out)`` on
    the LHAPDF x knots where the replicas' ``pdf_q0.npz`` hold them (None otherwise)."""
    if all("xf_evolution" in f for f in loaded):
        xf_in = np.stack([f["xf_evolution"] for f in loaded])
    elif np.array_equal(evolution.xgrid_in, theory.xgrid):
        xf_in = np.stack([f["xf"] for f in loaded])
    else:
        old = [r for r, f in zip(replicas, loaded) if "xf_evolution" not in f]
        raise OutputError(
            f"replicas {old[:5]} were written before theory {theory.theoryid} evolved from its "
            "own x grid (no xf_evolution in pdf_q0.npz); refit them: delete their "
            "nnfit/replica_N folders and rerun with --resume"
        )
    same = np.array_equal(evolution.xgrid_out, EXPORT_XGRID)
    at_knots = same and all("xf_export" in f for f in loaded)
    return xf_in, np.stack([f["xf_export"] for f in loaded]) if at_knots else None


def lhapdf_info(theory: Theory, evolution: EvolutionOperator) -> dict:
    """The ``.info`` entries of a set evolved by ``evolution`` (``theory``'s), beyond those
    the grids give."""
    card = theory.theory_card
    order = int(card["PTO"])
    return {
        **LHAPDF_INFO,
        "OrderQCD": order,
        "MZ": float(card["MZ"]),
        "MUp": 0.0,
        "MDown": 0.0,
        "MStrange": 0.0,
        "MCharm": float(card["mc"]),
        "MBottom": float(card["mb"]),
        "MTop": float(card["mt"]),
        "AlphaS_MZ": float(card["alphas"]),
        "AlphaS_OrderQCD": order,
        "AlphaS_Type": "ipol",
        "AlphaS_Qs": [float(q) for q in np.sqrt(evolution.q2)],
        "AlphaS_Vals": [float(a) for a in evolution.alphas],
    }


def _write_plots(card, theory: Theory, paths, xf, loaded, stops, chi2_table) -> None:
    from n3fit_gpu.outputs.exportgrid import evolution_to_flavour

    plots = paths.root / "plots"
    flavour = evolution_to_flavour(xf, theory.basis)  # (R, 14, nx)
    keep = [EXPORT_LABELS.index(k) for k in ("GLUON", "U", "D", "UBAR", "DBAR", "S", "C")]
    truth = None
    if card.closuretest.fakedata:
        fake = pdf_at_q0(card.closuretest.fakepdf, theory, key="closuretest.fakepdf")
        truth = evolution_to_flavour(fake, theory.basis)[keep]
    plot_pdf_bands(
        plots / "pdf_q0.png",
        theory.xgrid,
        flavour[:, keep],
        [EXPORT_LABELS[k] for k in keep],
        theory.q0,
        truth,
    )
    names = list(chi2_table)
    plot_chi2_per_dataset(
        plots / "chi2_per_dataset.png",
        names,
        {n: chi2_table[n]["central"] for n in names},
        {n: chi2_table[n]["replica_mean"] for n in names},
    )
    epochs = loaded[0]["history_epochs"]
    same = [i for i, f in enumerate(loaded) if f["history_epochs"].shape == epochs.shape]
    plot_training_curves(
        plots / "training.png",
        epochs,
        np.stack([loaded[i]["history_training"] for i in same]),
        np.stack([loaded[i]["history_validation"] for i in same]),
        stops[same],
    )
