"""Ensembles across trials: the out-of-fold predictions file, and ``hyperscan ensemble`` end
to end on a tiny real scan."""

import numpy as np
import pytest

from n3fit_gpu.scan.predictions import load_trial_predictions, save_trial_predictions


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
