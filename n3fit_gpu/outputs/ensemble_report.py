"""Ensemble outputs of a fit, rebuilt from every replica on disk.

Reads each replica's json and ``pdf_q0.npz``, keeps the replicas whose status is ``ok``, and
writes ``summary.json`` (χ² per dataset of the central PDF and replica average, replica
counts, stop epochs), the LHAPDF6 set (evolved with the theory's operator) and PNG plots.
Because it reads only files, it gives the same result after an interrupted and resumed fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from n3fit_gpu.atomic import atomic_write_json
from n3fit_gpu.outputs.exportgrid import EXPORT_LABELS
from n3fit_gpu.outputs.lhapdf import write_lhapdf_set
from n3fit_gpu.outputs.plots import plot_chi2_per_dataset, plot_pdf_bands, plot_training_curves
from n3fit_gpu.outputs.replica_json import read_replica_json
from n3fit_gpu.physics.covariance import build_covariance, chi2
from n3fit_gpu.physics.fit_data import load_datasets, predict
from n3fit_gpu.physics.pdf_sets import pdf_at_q0
from n3fit_gpu.physics.theory import Theory

LHAPDF_INFO = {"SetDesc": "n3fit_gpu fit", "Authors": "n3fit_gpu", "OrderQCD": 1}


def _chi2_table(card, theory: Theory, xf: np.ndarray) -> dict[str, dict[str, float]]:
    """χ²/N per dataset for the mean PDF (``central``) and averaged over replicas."""
    datasets, observables = load_datasets(card, theory)
    table = {}
    for cd, obs in zip(datasets, observables):
        cov = build_covariance([cd])
        per_replica = [chi2(predict(obs, r) - cd.central, cov) / cd.ndata for r in xf]
        central = chi2(predict(obs, xf.mean(axis=0)) - cd.central, cov) / cd.ndata
        table[cd.name] = {
            "ndata": cd.ndata,
            "central": float(central),
            "replica_mean": float(np.mean(per_replica)),
        }
    return table


def write_ensemble_outputs(
    card, theory: Theory, paths, replicas: Sequence[int], report: dict
) -> None:
    """summary.json, LHAPDF6 set and plots from the replicas in ``paths`` (those that exist)."""
    infos = {r: read_replica_json(paths.replica_json(r)) for r in replicas if paths.done(r)}
    good = [r for r, info in infos.items() if info.status == "ok"]
    summary = {
        "name": paths.name,
        "replicas": {"requested": len(replicas), "written": len(infos), "ok": len(good)},
        "failed": {str(r): i.status for r, i in infos.items() if i.status != "ok"},
        "stop_epochs": {str(r): i.stop_epoch for r, i in infos.items()},
        "last_run": report,
    }
    if good:
        loaded = [np.load(paths.replica_dir(r) / "pdf_q0.npz") for r in good]
        xf = np.stack([f["xf"] for f in loaded])  # (R, nbasis, nx)
        summary["chi2_per_dataset"] = _chi2_table(card, theory, xf)
        _write_lhapdf(theory, paths, xf)
        stops = np.array([infos[r].stop_epoch for r in good])
        _write_plots(card, theory, paths, xf, loaded, stops, summary["chi2_per_dataset"])
    atomic_write_json(paths.root / "summary.json", summary)


def _write_lhapdf(theory: Theory, paths, xf: np.ndarray) -> None:
    evolution = theory.evolution()
    grids = evolution.apply(xf)  # (R, nq, npid, nx_out)
    info = {
        **LHAPDF_INFO,
        "AlphaS_Qs": [float(q) for q in np.sqrt(evolution.q2)],
        "AlphaS_Vals": [float(a) for a in evolution.alphas],
        "AlphaS_OrderQCD": 1,
        "AlphaS_Type": "ipol",
    }
    write_lhapdf_set(
        paths.root / "lhapdf",
        paths.name,
        evolution.xgrid_out,
        evolution.q2_subgrids,
        evolution.pids,
        grids,
        info,
    )


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
