"""run_folds: fold order, threshold abort, failures and the JSON result record."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from n3fit_gpu.errors import DataError
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.kfold import FoldResult, KFoldSettings, run_folds, run_folds_together


def _fold(chi2, phi2=0.5, epochs=10, **penalties):
    return FoldResult(
        chi2=np.asarray(chi2, dtype=float),
        phi2=phi2,
        penalties={k: np.asarray(v, dtype=float) for k, v in penalties.items()},
        replica_epochs=epochs,
        extra={"partition": "some datasets"},
    )


class Recorder:
    """A fake train_fold that returns the given fold results and records the folds asked."""

    def __init__(self, *results):
        self.results, self.called = results, []

    def __call__(self, k):
        self.called.append(k)
        result = self.results[k]
        if isinstance(result, Exception):
            raise result
        return result


def test_all_folds_below_threshold_run_in_order():
    train = Recorder(_fold([1.0, 3.0]), _fold([2.0, 2.0]), _fold([3.0, 5.0]))
    seen = []
    result = run_folds(train, 3, KFoldSettings(), on_fold=lambda k, loss: seen.append((k, loss)))
    assert train.called == [0, 1, 2] and seen == [(0, 2.0), (1, 2.0), (2, 4.0)]
    assert result.status == "ok" and result.aborted_at_fold is None
    assert result.loss == pytest.approx(8 / 3) and result.replica_epochs == 30


def test_fold_above_threshold_stops_before_training_the_next():
    train = Recorder(_fold([60.0, 80.0]), _fold([1.0, 1.0]))
    result = run_folds(train, 2, KFoldSettings(threshold=50.0))
    assert train.called == [0]
    assert (result.status, result.stopped, result.stopped_at_fold) == ("fail", "threshold", 0)
    assert result.aborted_at_fold == 0
    # n3fit: the folds run times the folds left (2), then the fold statistic
    assert result.fold_losses == [70.0] and result.loss == 140.0


def test_a_trial_stopped_early_never_scores_better_than_one_that_finished():
    settings = KFoldSettings(threshold=50.0)
    stopped = run_folds(Recorder(_fold([10.0]), _fold([60.0]), None, None), 4, settings)
    finished = run_folds(Recorder(*[_fold([49.0])] * 4), 4, settings)
    assert stopped.fold_losses == [10.0, 60.0] and stopped.aborted_at_fold == 1
    assert stopped.loss == pytest.approx((10 + 60) * 3 / 2)  # x (K - k) = 3 folds left
    assert stopped.loss > finished.loss == 49.0


def test_a_stopped_trial_scores_at_least_the_threshold():
    """n3fit's multiplier is 1 at the last fold; the floor keeps it behind passing trials."""
    settings = KFoldSettings(threshold=50.0)
    last = run_folds(Recorder(_fold([1.0]), _fold([1.0]), _fold([1.0]), _fold([60.0])), 4, settings)
    assert (last.status, last.stopped, last.stopped_at_fold) == ("fail", "threshold", 3)
    assert last.aborted_at_fold is None  # nothing was skipped
    assert last.loss == 50.0  # max(threshold, mean(1, 1, 1, 60) * 1 = 15.75)


def test_forced_failure_threshold_and_early_stop_have_three_outcomes():
    """A fold with no acceptable replica, a threshold stop and an early termination: each
    stops the trial at fold 1 of 3 and is scored by scoring.score_trial's rule."""
    settings = KFoldSettings(threshold=50.0)
    first = _fold([4.0, 6.0])
    none_ok = replace(_fold([2.0, 3.0]), acceptable=np.array([False, False]))
    over = _fold([70.0, 90.0])
    pruned = replace(_fold([8.0, 12.0]), pruned_at=100)
    outcomes = {}
    for name, second in (("forced", none_ok), ("threshold", over), ("early", pruned)):
        train = Recorder(first, second, _fold([1.0, 1.0]))
        result = run_folds(train, 3, settings)
        assert train.called == [0, 1] and result.aborted_at_fold == 1
        record = json.loads(json.dumps(result.to_result_dict(), allow_nan=False))
        outcomes[name] = (record["status"], record["stopped"], record["stopped_at_fold"])
        outcomes[name + " loss"] = record["loss"]
    assert outcomes["forced"] == ("fail", "no_acceptable_replica", 1)
    assert outcomes["forced loss"] is None  # TPE counts it +inf: no fake number
    assert outcomes["threshold"] == ("fail", "threshold", 1)
    assert outcomes["threshold loss"] == pytest.approx((5.0 + 80.0) * 2 / 2)
    assert outcomes["early"] == ("ok", "early_termination", 1)
    assert outcomes["early loss"] == 50.0  # max(50, (5 + 10) * 2 / 2)


def test_some_acceptable_replicas_keep_the_trial():
    fold = replace(_fold([2.0, 30.0]), acceptable=np.array([True, False]))
    result = run_folds(Recorder(fold, _fold([2.0, 2.0])), 2, KFoldSettings())
    assert (result.status, result.stopped, result.loss) == ("ok", None, 9.0)


def test_threshold_uses_the_replica_statistic_and_penalties_when_in_loss():
    train = Recorder(_fold([1.0, 2.0], sat=[10.0, 10.0]), _fold([1.0, 2.0]))
    settings = KFoldSettings(replica_statistic="best_worst", threshold=5.0)
    assert run_folds(train, 2, settings).aborted_at_fold is None
    train = Recorder(_fold([1.0, 2.0], sat=[10.0, 10.0]), _fold([1.0, 2.0]))
    in_loss = KFoldSettings(replica_statistic="best_worst", threshold=5.0, penalties_in_loss=True)
    result = run_folds(train, 2, in_loss)
    assert train.called == [0] and result.fold_losses == [12.0]


def test_nan_fold_loss_aborts_and_fails():
    train = Recorder(_fold([np.nan, 1.0]), _fold([1.0, 1.0]))
    result = run_folds(train, 2, KFoldSettings())
    assert train.called == [0] and result.aborted_at_fold == 0
    assert result.status == "fail" and math.isnan(result.loss)
    assert (result.stopped, result.stopped_at_fold) == ("non_finite", 0)


def test_user_error_in_training_fails_the_trial_with_its_message():
    train = Recorder(_fold([1.0]), DataError("fold 1 is empty after cuts; widen the partition"))
    result = run_folds(train, 3, KFoldSettings())
    assert train.called == [0, 1]
    assert result.status == "fail" and "fold 1 is empty" in result.error
    assert result.fold_losses == [1.0] and result.aborted_at_fold == 1
    assert (result.stopped, result.stopped_at_fold) == ("error", 1)


def test_bugs_propagate():
    with pytest.raises(ZeroDivisionError):
        run_folds(Recorder(ZeroDivisionError()), 1, KFoldSettings())


def test_phi2_loss_is_reciprocal_and_an_aborted_phi2_trial_fails():
    train = Recorder(_fold([1.0], phi2=0.25), _fold([1.0], phi2=0.75))
    result = run_folds(train, 2, KFoldSettings(loss_type="phi2"))
    assert result.status == "ok" and result.loss == pytest.approx(2.0)
    train = Recorder(_fold([99.0], phi2=0.25), _fold([1.0], phi2=0.75))
    result = run_folds(train, 2, KFoldSettings(loss_type="phi2"))
    assert train.called == [0] and result.status == "fail" and math.isnan(result.loss)


def test_result_dict_is_plain_json_with_per_fold_metadata():
    diverged = [1.0] * 9 + [np.inf]  # average_best drops the worst of 10 replicas
    train = Recorder(_fold(diverged, sat=[0.5] * 10), _fold([2.0] * 10, sat=[1.0] * 10))
    result = run_folds(train, 2, KFoldSettings(replica_statistic="average_best"))
    record = json.loads(json.dumps(result.to_result_dict(), allow_nan=False))
    assert record["status"] == "ok" and record["loss"] == record["validation_loss"]
    assert record["stopped"] is None and record["stopped_at_fold"] is None
    meta = record["kfold_meta"]
    assert meta["fold_losses"] == [1.0, 2.0] and record["loss"] == 1.5
    assert meta["chi2_per_fold_replica"] == [[1.0] * 9 + [None], [2.0] * 10]  # inf -> null
    assert meta["penalties_per_fold"] == {"sat": [[0.5] * 10, [1.0] * 10]}
    assert meta["phi2_per_fold"] == [0.5, 0.5] and meta["aborted_at_fold"] is None
    assert meta["extra_per_fold"] == [{"partition": "some datasets"}] * 2
    assert record["replica_epochs"] == 20 and record["error"] is None
    failed = run_folds(Recorder(_fold([np.nan])), 1, KFoldSettings()).to_result_dict()
    assert json.loads(json.dumps(failed, allow_nan=False))["loss"] is None


@pytest.mark.parametrize(
    "bad",
    [
        {"loss_type": "logp"},
        {"replica_statistic": "median"},
        {"fold_statistic": "max"},
        {"threshold": 0.0},
    ],
)
def test_bad_settings_raise_search_error(bad):
    with pytest.raises(SearchError):
        KFoldSettings(**bad)


def test_trials_together_score_as_each_alone_and_drop_stopped_trials():
    """Three trials: 0 runs both folds, 1 stops at fold 0 (threshold), 2 fails at fold 1
    together with every trial trained in that call; later folds train only running trials."""
    folds = {
        0: [_fold([1.0, 2.0]), _fold([2.0, 4.0])],
        1: [_fold([99.0, 1.0]), _fold([1.0, 1.0])],
        2: [_fold([3.0, 3.0]), DataError("bad fold")],
    }
    asked = []

    def train_folds(k, trials):
        asked.append((k, list(trials)))
        results = [folds[i][k] for i in trials]
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    settings = KFoldSettings(threshold=10.0)
    together = run_folds_together(train_folds, 3, 2, settings)
    assert asked == [(0, [0, 1, 2]), (1, [0, 2])]
    assert together[1].aborted_at_fold == 0 and together[1].fold_losses == [50.0]
    assert together[1].stopped == "threshold" and together[1].loss == 100.0
    alone = run_folds(Recorder(*folds[1]), 2, settings)
    assert together[1].loss == alone.loss and together[1].status == alone.status
    # the error of fold 1 fails both trials of that call
    assert together[0].status == together[2].status == "fail"
    assert together[0].error == together[2].error == "bad fold"
    assert [len(t.folds) for t in together] == [1, 1, 1]
