"""A scan's trial log as NNPDF's ``tries.json``, the file ``vp-hyperoptplot`` reads.

n3fit writes one JSON array of hyperopt trial documents per scan, in
``<fit>/nnfit/replica_1/tries.json``. Each carries ``misc.space_vals`` (the trial's runcard
values: optimizer, epochs, stopping_patience, positivity, nodes_per_layer,
activation_per_layer, layer_type, initializer, dropout) and ``result.kfold_meta`` with per-fold
lists. Our log (``tries.jsonl``) holds the same hyperopt documents with our per-fold details;
this maps them, keeping every field of ours and adding n3fit's:

- ``hyper_losses``: the χ²/point of every (fold, replica), n3fit's ``exp_chi2_matrix``;
- ``hyper_losses_chi2`` / ``hyper_losses_phi2``: per fold, the replica statistic of χ² and
  φ² (the scan's ``kfold.replica_statistic``; φ² is one number per fold);
- ``penalties``: per penalty, per fold, the replica values;
- ``validation_losses``: per fold, the mean over replicas of the best validation χ²;
- ``hyper_losses_logp``, ``trvl_losses_chi2exp``, ``experimental_losses``: what we do not
  compute, NaN per fold (n3fit's reader averages them; NaN says "not measured").
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_write_text
from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.scan.space import apply_point
from n3fit_gpu.search.statistics import REDUCE_PROPORTION, statistic

NNPDF_TRIES = Path("nnfit") / "replica_1" / "tries.json"


def nnpdf_trial(doc: dict, card: RunCard) -> dict:
    """One of our trial documents as n3fit writes it (``card``: the scan's runcard)."""
    parameters = apply_point(card, doc.get("params", {})).parameters
    optimizer = parameters.optimizer
    space_vals = {
        "optimizer": {
            "optimizer_name": optimizer.optimizer_name,
            "learning_rate": optimizer.learning_rate,
            "clipnorm": optimizer.clipnorm,
        },
        "epochs": parameters.epochs,
        "stopping_patience": parameters.stopping_patience,
        "positivity": {
            "initial": parameters.positivity.initial,
            "multiplier": parameters.positivity.multiplier,
        },
        "integrability": {
            "initial": parameters.integrability.initial,
            "multiplier": parameters.integrability.multiplier,
        },
        "nodes_per_layer": list(parameters.nodes_per_layer),
        "activation_per_layer": list(parameters.activation_per_layer),
        "layer_type": parameters.layer_type,
        "initializer": parameters.initializer,
        "dropout": parameters.dropout,
    }
    result = dict(doc["result"])
    meta = dict(result.get("kfold_meta", {}))
    kfold = card.kfold
    replica_statistic = kfold.replica_statistic if kfold else "average"
    proportion = kfold.reduce_proportion if kfold else REDUCE_PROPORTION
    chi2 = [_floats(fold) for fold in meta.get("chi2_per_fold_replica", [])]
    folds = len(chi2)
    nan = [math.nan] * folds
    validation = [
        float(np.mean(_finite_or_nan(extra.get("best_validation", []))))
        for extra in meta.get("extra_per_fold", [])
    ]
    meta.update(
        hyper_losses=chi2,
        hyper_losses_chi2=[_statistic(replica_statistic, fold, proportion) for fold in chi2],
        hyper_losses_phi2=_floats(meta.get("phi2_per_fold", nan)),
        hyper_losses_logp=nan,
        trvl_losses_chi2exp=nan,
        experimental_losses=nan,
        validation_losses=validation or nan,
        penalties={
            name: [_floats(fold) for fold in values]
            for name, values in meta.get("penalties_per_fold", {}).items()
        },
    )
    result["kfold_meta"] = meta
    if result.get("loss") is None:
        result["loss"] = math.nan  # our log writes non-finite losses as null
    misc = dict(doc["misc"], space_vals=space_vals)
    return {**doc, "result": result, "misc": misc}


def export_nnpdf_tries(docs: list[dict], card: RunCard, folder: Path) -> Path:
    """Write ``folder/nnfit/replica_1/tries.json`` (the layout vp-hyperoptplot searches)."""
    path = folder / NNPDF_TRIES
    trials = [nnpdf_trial(doc, card) for doc in docs]
    atomic_write_text(path, json.dumps(trials, indent=1))  # NaN as n3fit's json.dumps writes it
    return path


def _floats(values) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _finite_or_nan(values) -> np.ndarray:
    array = np.asarray(_floats(values), dtype=float)
    return np.where(np.isfinite(array), array, np.nan) if array.size else np.array([np.nan])


def _statistic(name: str, values: list[float], proportion: float) -> float:
    array = np.asarray(values, dtype=float)
    return float(statistic(name, array, proportion)) if array.size else math.nan
