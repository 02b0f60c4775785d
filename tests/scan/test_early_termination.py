"""Early termination (successive halving) in a real PDF scan: a trial stopped at a rung
trained fewer epochs, skipped its later folds, and the log records where it stopped."""

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from n3fit_gpu.config import parse_runcard
from n3fit_gpu.physics.fit_data import load_fit_data
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.scan.folds import ScanProblem, fold_masks
from n3fit_gpu.scan.run import make_objective
from n3fit_gpu.search.halving import recorded_rungs
from tests.config.helpers import SCAN, edit

SCHEMA = Path(__file__).resolve().parents[2] / "n3fit_gpu" / "search" / "trial_document.schema.json"


def _point(lr):
    return {
        "epochs": 300,
        "stopping_patience": 0.9,  # nothing stops by patience: only the rung stops trials
        "optimizer": {"optimizer_name": "Adam", "learning_rate": lr, "clipnorm": 1.0},
        "layers": {"n_layers": 3, "units_1": 20, "units_2": 20},
    }


@pytest.fixture(scope="module")
def scan_parts():
    text = edit(SCAN, "replicas: 10", "replicas: 2")
    text = edit(text, "  threshold: 10\n", "  threshold: 1.0e6\n")
    text = edit(
        text,
        "hyperscan_config:\n",
        "hyperscan_config:\n  early_termination: {min_epochs: 100, eta: 3, bootstrap: 0}\n",
    )
    card = parse_runcard(text, "scan.yml")
    theory = load_theory(card.theory.theoryid)
    data = load_fit_data(card, theory, card.replica_indices)
    return card, ScanProblem(theory, data, fold_masks(card, data), ())


@pytest.mark.slow
def test_trials_below_the_rung_stop_there(scan_parts, tmp_path):
    card, problem = scan_parts
    # three trials in one model reach the rung (epoch 100) together; with eta 3 one goes on
    results = make_objective(card, problem, tmp_path, False, 3).run(
        [(0, _point(1e-2)), (1, _point(1e-4)), (2, _point(3e-3))]
    )
    records = [r.early_termination for r in results]
    values = [record["rungs"][0]["value"] for record in records]
    assert [record["rungs"][0]["epoch"] for record in records] == [100, 100, 100]
    best = int(np.argmin(values))
    for i, (result, record) in enumerate(zip(results, records, strict=True)):
        if i == best:
            assert record["stopped_at_epoch"] is None
            assert len(result.folds) == 2 and result.aborted_at_fold is None
            assert result.replica_epochs == 2 * 2 * 300  # 2 replicas, 2 folds, all epochs
        else:
            assert record["stopped_at_epoch"] == 100
            assert result.aborted_at_fold == 0 and len(result.folds) == 1
            np.testing.assert_array_equal(result.folds[0].extra["stop_epoch"], [100, 100])
            assert result.replica_epochs == 2 * 100
            # ok, scored max(threshold, fold loss x 2 folds): after every trial that finished
            assert (result.status, result.stopped, result.stopped_at_fold) == (
                "ok", "early_termination", 0)  # fmt: skip
            assert result.loss == max(1.0e6, 2 * result.fold_losses[0])
            # the record the log keeps says where it stopped
            assert result.to_result_dict()["early_termination"]["stopped_at_epoch"] == 100
    result_schema = json.loads(SCHEMA.read_text())["properties"]["result"]
    for result in results:
        jsonschema.validate(result.to_result_dict(), result_schema)
    docs = [{"result": r.to_result_dict()} for r in results]
    assert sorted(recorded_rungs(docs)[100]) == sorted(values)
