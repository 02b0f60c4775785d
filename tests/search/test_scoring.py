"""score_trial and the ranking shared by TPE and the report, against hand computations."""

import pytest

from n3fit_gpu.search.scoring import complete, penalised_loss, ranked_trials, score_trial


def _score(losses, n_folds, stopped, loss_type="chi2", statistic="average", threshold=50.0):
    return score_trial(losses, n_folds, stopped, loss_type, statistic, threshold)


def test_a_finished_trial_is_ok_with_the_fold_statistic():
    score = _score([2.0, 4.0, 9.0], 3, None)
    assert (score.status, score.loss, score.stopped, score.stopped_at_fold) == (
        "ok",
        5.0,
        None,
        None,
    )
    assert _score([2.0, 4.0, 9.0], 3, None, statistic="best_worst").loss == 9.0
    assert _score([1.0, 4.0], 2, None, loss_type="phi2").loss == pytest.approx(1 / 2.5)


@pytest.mark.parametrize(
    ("losses", "statistic", "expected"),
    [
        ([10.0, 60.0], "average", (10 + 60) * 3 / 2),  # n3fit: x (4 - 1) folds left
        ([10.0, 60.0], "best_worst", 60.0 * 3),
        ([70.0], "average", 70.0 * 4),
        ([1.0, 1.0, 1.0, 60.0], "average", 50.0),  # (63 / 4) * 1 < 50: the floor
        ([10.0, 60.0], "std", 75.0),  # std(30, 180) = 75 > 50
    ],
)
def test_threshold_stop_is_n3fits_penalty_floored_at_the_threshold(losses, statistic, expected):
    score = _score(losses, 4, "threshold", statistic=statistic)
    assert score.status == "fail" and score.stopped == "threshold"
    assert score.loss == pytest.approx(expected)
    assert score.stopped_at_fold == len(losses) - 1
    assert score.folds_not_run(4) == 4 - len(losses)


def test_early_termination_is_ok_and_ranks_after_every_passing_trial():
    score = _score([3.0], 4, "early_termination")
    assert (score.status, score.loss, score.stopped_at_fold) == ("ok", 50.0, 0)
    assert _score([20.0], 4, "early_termination").loss == 80.0
    # a trial that passed every fold scores at most the threshold, whatever the statistic
    for statistic in ("average", "average_best", "best_worst", "std"):
        assert _score([50.0, 0.0, 50.0, 50.0], 4, None, statistic=statistic).loss <= 50.0


@pytest.mark.parametrize("stopped", ["no_acceptable_replica", "non_finite"])
def test_forced_failures_have_no_loss(stopped):
    score = _score([3.0, 4.0], 3, stopped)
    assert (score.status, score.loss, score.stopped, score.stopped_at_fold) == (
        "fail", None, stopped, 1)  # fmt: skip


def test_an_error_stops_at_the_fold_that_raised():
    score = _score([3.0], 3, "error")
    assert (score.status, score.loss, score.stopped_at_fold) == ("fail", None, 1)


def test_phi2_stops_fail_without_loss():
    for stopped in ("threshold", "early_termination"):
        assert _score([0.5], 2, stopped, loss_type="phi2").loss is None


def test_non_finite_trial_loss_fails():
    score = _score([0.0, 0.0], 2, None, loss_type="phi2")  # 1 / phi2 of a collapsed ensemble
    assert (score.status, score.loss, score.stopped) == ("fail", None, "non_finite")


def test_missing_folds_need_a_reason():
    with pytest.raises(ValueError, match="no stop reason"):
        _score([1.0], 2, None)
    with pytest.raises(ValueError, match="unknown stop reason"):
        _score([1.0], 2, "bored")


def test_penalised_loss_by_hand():
    assert penalised_loss([2.0, 3.0], 5, "average", 1.0) == pytest.approx(2.5 * 4)


def _doc(tid, status, loss, stopped=None):
    return {"tid": tid, "result": {"status": status, "loss": loss, "stopped": stopped}}


def test_ranking_is_the_order_tpe_sees_and_keeps_only_ok_trials():
    docs = [
        _doc(0, "ok", 50.0, "early_termination"),
        _doc(1, "fail", 140.0, "threshold"),
        _doc(2, "ok", 3.0),
        _doc(3, "fail", None, "no_acceptable_replica"),
        _doc(4, "ok", 3.0),
    ]
    assert [d["tid"] for d in ranked_trials(docs)] == [2, 4, 0]
    assert [complete(d) for d in docs] == [False, False, True, False, True]
    old = {"tid": 5, "result": {"status": "ok", "loss": 1.0, "kfold_meta": {"aborted_at_fold": 0}}}
    assert not complete(old)
