"""run_scan on a pure-numpy toy: TPE runs, and an interrupted scan resumes to the same trials."""

import math

import numpy as np
import pytest
from hyperopt import Domain, tpe

from n3fit_gpu.search.driver import Sampler, best_trial, run_scan, seed_for, suggest
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.jsonable import to_json
from n3fit_gpu.search.kfold import FoldResult, KFoldSettings, run_folds
from n3fit_gpu.search.space import Choice, LogUniform, Uniform, to_hyperopt
from n3fit_gpu.search.store import TrialLog, to_hyperopt_trials

SPACE = {
    "learning_rate": LogUniform(1e-4, 1.0),
    "shape": Choice(("narrow", "wide", {"name": "custom", "width": Uniform(0.5, 2.0)})),
    "replicas": 3,
}
OFFSET = {"narrow": 0.5, "wide": 0.0}


class Quadratic:
    """An ensemble-shaped toy: per-replica chi2 = (log10 lr + 2)^2 + offset + replica noise."""

    def __init__(self, interrupt_at=None):
        self.points, self.interrupt_at = [], interrupt_at

    def __call__(self, point):
        if len(self.points) == self.interrupt_at:
            raise KeyboardInterrupt
        self.points.append(point)
        shape = point["shape"]
        offset = OFFSET[shape] if isinstance(shape, str) else abs(shape["width"] - 1)
        base = (math.log10(point["learning_rate"]) + 2) ** 2 + offset

        def train_fold(k):
            chi2 = base + 0.1 * k + 0.01 * np.arange(point["replicas"])
            return FoldResult(chi2, phi2=0.1, penalties={}, replica_epochs=100)

        return run_folds(train_fold, 2, KFoldSettings())


def _scan(path, objective, trials=8):
    return run_scan(SPACE, objective, TrialLog(path), trials, seed=7, n_startup_jobs=3)


def _summary(docs):
    return [(d["tid"], d["params"], d["result"]["loss"]) for d in docs]


def test_scan_runs_all_trials_and_logs_them(tmp_path):
    objective = Quadratic()
    docs = _scan(tmp_path / "trials.jsonl", objective)
    assert [d["tid"] for d in docs] == list(range(8))
    assert len(objective.points) == 8 and all(d["result"]["status"] == "ok" for d in docs)
    assert all(p["replicas"] == 3 for p in objective.points)
    assert [d["params"] for d in docs] == objective.points
    best = best_trial(docs)
    assert best["result"]["loss"] == min(d["result"]["loss"] for d in docs)


def test_interrupted_scan_resumes_to_the_uninterrupted_trials(tmp_path):
    reference = _scan(tmp_path / "straight.jsonl", Quadratic())
    path = tmp_path / "interrupted.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _scan(path, Quadratic(interrupt_at=3))
    assert len(TrialLog(path).read()) == 3
    resumed_objective = Quadratic()
    resumed = _scan(path, resumed_objective)
    assert len(resumed_objective.points) == 5  # trials 3..7 only: finished ones never rerun
    assert _summary(resumed) == _summary(reference)
    assert _scan(path, resumed_objective) == resumed  # complete: nothing more runs
    assert len(resumed_objective.points) == 5


def test_suggestion_depends_only_on_seed_tid_and_history(tmp_path):
    hp_space = to_hyperopt(SPACE)
    docs = _scan(tmp_path / "t.jsonl", Quadratic(), trials=4)
    again = [suggest(hp_space, docs, 4, seed=7, n_startup_jobs=3) for _ in range(2)]
    assert again[0] == again[1]
    assert seed_for(7, 4) == seed_for(7, 4) != seed_for(7, 5) != seed_for(8, 4)


def test_resuming_with_another_space_is_refused(tmp_path):
    path = tmp_path / "t.jsonl"
    _scan(path, Quadratic(), trials=2)
    other = {"learning_rate": LogUniform(1e-4, 1.0), "replicas": 3}
    with pytest.raises(SearchError, match="another search space"):
        run_scan(other, Quadratic(), TrialLog(path), 3, seed=7)


def test_space_without_dimensions_still_runs(tmp_path):
    calls = []

    def objective(point):
        calls.append(point)
        return Quadratic()({"learning_rate": 0.01, "shape": "wide", **point})

    docs = run_scan({"replicas": 2}, objective, TrialLog(tmp_path / "t"), 3, 0, n_startup_jobs=1)
    assert len(docs) == 3 and calls == [{"replicas": 2}] * 3


def test_sampler_draws_exactly_what_hyperopt_tpe_draws(tmp_path):
    hp_space = to_hyperopt(SPACE)
    docs = _scan(tmp_path / "t.jsonl", Quadratic(), trials=4)
    domain = Domain(lambda point: None, hp_space)
    for startup in (10, 3):  # the random phase (drawn directly), then TPE proper
        sampler = Sampler(hp_space, startup)
        for tid in (4, 5):
            trials = to_hyperopt_trials(docs)
            ours = sampler.suggest(trials, tid, seed=7)[0]
            new = tpe.suggest([tid], domain, trials, seed_for(7, tid), n_startup_jobs=startup)
            assert ours == to_json(new[0]["misc"]["vals"])
