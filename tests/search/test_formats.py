"""Stored formats: a committed version-1 trial log still reads, decodes and resumes; JSON rules."""

import json
import math
import shutil
from pathlib import Path

import numpy as np

from n3fit_gpu.search.driver import run_scan
from n3fit_gpu.search.jsonable import float_or_nan, to_json
from n3fit_gpu.search.kfold import FoldResult, KFoldSettings, run_folds
from n3fit_gpu.search.space import Choice, LogUniform, point_from_vals, to_hyperopt
from n3fit_gpu.search.store import TrialLog, to_hyperopt_trials

V1_LOG = Path(__file__).parent / "data" / "trials_v1.jsonl"
# the space the committed log was written with (3 trials, seed 3, trial 1 failed)
V1_SPACE = {
    "optimizer": Choice(
        ({"optimizer_name": "Adam", "learning_rate": LogUniform(1e-4, 1e-2)}, "SGD")
    ),
    "replicas": 2,
}


def test_version_1_log_reads_and_decodes():
    docs = TrialLog(V1_LOG).read()
    assert [(d["tid"], d["result"]["status"], d["format_version"]) for d in docs] == [
        (0, "ok", 1),
        (1, "fail", 1),
        (2, "ok", 1),
    ]
    hp_space = to_hyperopt(V1_SPACE)
    for doc in docs:
        assert to_json(point_from_vals(hp_space, doc["misc"]["vals"])) == doc["params"]
    trials = to_hyperopt_trials(docs)
    assert trials.best_trial["tid"] == 2 and trials.losses()[1] is None
    assert docs[1]["result"]["error"].startswith("fold 0 has no data")


def test_version_1_log_resumes(tmp_path):
    path = tmp_path / "trials.jsonl"
    shutil.copy(V1_LOG, path)

    def objective(point):
        fold = FoldResult(np.ones(2), 0.1, {}, 10)
        return run_folds(lambda k: fold, 1, KFoldSettings())

    docs = run_scan(V1_SPACE, objective, TrialLog(path), 5, seed=3, progress=False)
    assert [d["tid"] for d in docs] == [0, 1, 2, 3, 4]
    assert docs[:3] == TrialLog(V1_LOG).read()


def test_to_json_rules():
    value = {
        "a": (np.int64(3), np.float32(0.5), np.bool_(True)),
        1: np.array([[1.0, np.nan], [np.inf, -np.inf]]),
        "n": None,
        "s": np.float64(np.nan),
    }
    plain = to_json(value)
    assert plain == {"a": [3, 0.5, True], "1": [[1.0, None], [None, None]], "n": None, "s": None}
    assert json.loads(json.dumps(plain, allow_nan=False)) == plain
    assert math.isnan(float_or_nan(None)) and float_or_nan(2) == 2.0
