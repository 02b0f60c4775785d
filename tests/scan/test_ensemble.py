"""Ensembles across trials: the out-of-fold predictions file, and ``hyperscan ensemble`` end
to end on a tiny real scan."""

from types import SimpleNamespace

import numpy as np
import pytest

from n3fit_gpu.config import parse_runcard
from n3fit_gpu.errors import OutputError
from n3fit_gpu.scan.ensemble import (
    load_members,
    network_weights,
    scoring_data,
    stack_groups,
)
from n3fit_gpu.scan.predictions import load_trial_predictions, save_trial_predictions
from n3fit_gpu.scan.space import apply_point
from tests.config.helpers import SCAN

# two folds of a 6-point data vector; points 2 and 5 are in no fold (always trained on)
FOLDS = (np.isin(np.arange(6), [0, 1]), np.isin(np.arange(6), [3, 4]))


def test_predictions_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    folds = [
        (np.array([4, 1, 7]), rng.normal(size=(2, 3))),
        (np.array([0]), rng.normal(size=(2, 1))),
    ]
    path = save_trial_predictions(tmp_path, 3, [1, 2], folds)
    assert path == tmp_path / "trials" / "3.npz"
    loaded = load_trial_predictions(tmp_path, 3)
    assert loaded.tid == 3 and loaded.replicas.tolist() == [1, 2]
    assert len(loaded.folds) == 2
    for (points, predictions), (want_points, want_predictions) in zip(
        loaded.folds, folds, strict=True
    ):
        np.testing.assert_array_equal(points, want_points)
        np.testing.assert_array_equal(predictions, want_predictions)
        assert points.dtype == np.int64 and predictions.dtype == np.float64


def test_a_trial_without_predictions_loads_as_none(tmp_path):
    assert load_trial_predictions(tmp_path, 0) is None


def test_predictions_of_the_wrong_shape_are_refused(tmp_path):
    with pytest.raises(ValueError, match="expected \\(2, 3\\)"):
        save_trial_predictions(tmp_path, 0, [1, 2], [(np.arange(3), np.zeros((3, 2)))])
    assert not (tmp_path / "trials" / "0.npz").exists()


@pytest.fixture(scope="module")
def card():
    return parse_runcard(SCAN, "scan.yml")


def doc(tid: int, status: str = "ok", params: dict | None = None) -> dict:
    return {"tid": tid, "params": params or {}, "result": {"status": status, "loss": 1.0}}


def test_members_come_from_complete_successful_trials(tmp_path, card):
    both = [(np.array([1, 0]), np.ones((2, 2))), (np.array([3, 4]), 2 * np.ones((2, 2)))]
    save_trial_predictions(tmp_path, 0, [1, 2], both)
    save_trial_predictions(tmp_path, 1, [1, 2], both[:1])  # stopped after the first fold
    save_trial_predictions(tmp_path, 2, [1, 2], both)  # but the trial failed
    diverged = [(points, np.array([[np.nan] * 2, [5.0] * 2])) for points, _ in both]
    save_trial_predictions(tmp_path, 4, [1, 2], diverged)  # replica 1 diverged
    docs = [doc(0), doc(1), doc(2, "fail"), doc(3), doc(4)]  # 3 saved nothing
    scan = load_members(tmp_path, docs, card, FOLDS)
    np.testing.assert_array_equal(scan.points, [0, 1, 3, 4])
    assert scan.members.pairs(range(3)) == [(0, 1), (0, 2), (4, 2)]
    np.testing.assert_array_equal(scan.members.predictions[0], [1, 1, 2, 2])
    np.testing.assert_array_equal(scan.members.predictions[2], [5, 5, 5, 5])
    assert scan.skipped == {
        1: "folds missing (stopped at the threshold)",
        2: "failed",
        3: "no saved predictions",
    }
    assert scan.members.cost[0] == network_weights(card.parameters.nodes_per_layer)
    assert set(scan.cards) == {0, 4}


def test_a_scan_without_predictions_says_how_to_get_them(tmp_path, card):
    with pytest.raises(OutputError, match="run the scan with this version to save out-of-fold"):
        load_members(tmp_path, [doc(0), doc(1)], card, FOLDS)


def test_network_weights_count_inputs_x_and_log_x():
    assert network_weights([25, 20, 8]) == 3 * 25 + 26 * 20 + 21 * 8


def test_fold_blocks_drop_correlations_across_folds():
    full = np.arange(36.0).reshape(6, 6)
    data = SimpleNamespace(central=np.arange(6.0), covariance=SimpleNamespace(dense=lambda: full))
    points = np.array([0, 1, 3, 4])
    central, matrix = scoring_data(data, FOLDS, points, "full")
    np.testing.assert_array_equal(central, [0, 1, 3, 4])
    np.testing.assert_array_equal(matrix, full[np.ix_(points, points)])
    _, blocks = scoring_data(data, FOLDS, points, "folds")
    same_fold = np.kron(np.eye(2), np.ones((2, 2))).astype(bool)
    np.testing.assert_array_equal(blocks, np.where(same_fold, matrix, 0.0))


def test_trials_stack_when_they_differ_only_in_slot_keys(card):
    point = {"layers": {"n_layers": 3, "units_1": 10, "units_2": 12}}
    adam = {"optimizer_name": "Adam", "learning_rate": 0.01, "clipnorm": 1.0}
    a = apply_point(card, {**point, "optimizer": adam, "epochs": 100})
    b = apply_point(card, {**point, "layers": {**point["layers"], "units_1": 30},
                           "optimizer": {**adam, "learning_rate": 0.003}})  # fmt: skip
    nadam = apply_point(card, {**point, "optimizer": {**adam, "optimizer_name": "Nadam"}})
    sigmoid = apply_point(card, {**point, "optimizer": adam, "activation": "sigmoid"})
    slots = [(1, a, 1), (2, nadam, 1), (3, b, 2), (4, sigmoid, 1), (5, a, 2)]
    groups = stack_groups(slots)
    assert [[number for number, _, _ in group] for group in groups] == [[1, 3, 5], [2], [4]]
