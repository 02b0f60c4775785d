"""The scan machinery on a second, non-PDF ensemble problem: the engine's regression toy.

Each trial trains stacked replicas with Keras on :mod:`n3fit_gpu.ensemble` (through
``tests.ensemble.toy_problem.fit_toy``); fold ``k`` is the ensemble of toy replicas
``2k, 2k+1`` scored on its held-out (validation-mask) points. Only this module imports Keras.
"""

import json

import numpy as np
import pytest

from n3fit_gpu.search.driver import best_trial, run_scan
from n3fit_gpu.search.kfold import FoldResult, KFoldSettings, run_folds
from n3fit_gpu.search.space import LogUniform
from n3fit_gpu.search.statistics import phi2
from n3fit_gpu.search.store import TrialLog

from ..ensemble.toy_problem import MASKS, TARGETS, X, fit_toy

NOISE = 0.2  # the toy's target noise: chi2/point = mean squared residual / NOISE^2
FOLDS = 2


def _predict(weights, n_layers=3):
    """Numpy forward pass of the stacked tanh-tanh-linear network: (replica, point)."""
    h = np.broadcast_to(X, (weights[0].shape[0], *X.shape))
    for layer in range(n_layers):
        kernel, bias = weights[2 * layer], weights[2 * layer + 1]
        h = np.einsum("rbi,rio->rbo", h, kernel) + bias[:, None, :]
        h = np.tanh(h) if layer < n_layers - 1 else h
    return h[..., 0]


def _train_fold(lr_scale):
    def train_fold(k):
        replicas = [2 * k, 2 * k + 1]
        result = fit_toy(replicas, epochs=40, patience=40, epochs_per_call=20, lr_scale=lr_scale)
        held_out = ~MASKS[replicas]
        data = TARGETS[replicas].mean(axis=0)
        return FoldResult(
            chi2=np.asarray(result.best_validation) / NOISE**2,
            phi2=phi2(_predict(result.weights), data, NOISE**2 * np.eye(len(data))),
            penalties={"held_out_fraction": held_out.mean(axis=1)},
            replica_epochs=result.replica_epochs,
            extra={"replicas": replicas, "lr_scale": lr_scale},
        )

    return train_fold


def _objective(point):
    return run_folds(_train_fold(point["lr_scale"]), FOLDS, KFoldSettings(threshold=1e4))


@pytest.mark.slow
def test_scan_of_learning_rate_scale_on_the_ensemble_toy(tmp_path):
    space = {"lr_scale": LogUniform(0.3, 3.0)}
    log = TrialLog(tmp_path / "trials.jsonl")
    docs = run_scan(space, _objective, log, 3, seed=1, progress=False)
    assert [d["tid"] for d in docs] == [0, 1, 2]
    for doc in docs:
        result, meta = doc["result"], doc["result"]["kfold_meta"]
        assert result["status"] == "ok" and meta["aborted_at_fold"] is None
        assert [e["lr_scale"] for e in meta["extra_per_fold"]] == [doc["params"]["lr_scale"]] * 2
        assert [e["replicas"] for e in meta["extra_per_fold"]] == [[0, 1], [2, 3]]
        chi2 = np.array(meta["chi2_per_fold_replica"])
        assert chi2.shape == (FOLDS, 2) and np.all(chi2 > 0)
        assert result["loss"] == pytest.approx(chi2.mean())  # average over replicas, then folds
        assert all(p > -1e-9 for p in meta["phi2_per_fold"])
        assert 0 < result["replica_epochs"] <= FOLDS * 2 * 40  # 2 replicas, 40 epochs
    assert json.loads(log.path.read_text().splitlines()[0]) == docs[0]
    assert best_trial(docs)["result"]["loss"] == min(d["result"]["loss"] for d in docs)
