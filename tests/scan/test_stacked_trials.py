"""Stacked trials (``hyperscan --trials-per-model K``): K trials trained in one model per fold
give each trial exactly what it gets alone (float64, real data, shipped theory)."""

import numpy as np
import pytest

from n3fit_gpu.config import parse_runcard
from n3fit_gpu.physics.fit_data import load_fit_data
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.scan.folds import ScanProblem, fold_masks
from n3fit_gpu.scan.predictions import load_trial_predictions
from n3fit_gpu.scan.run import make_objective
from tests.config.helpers import SCAN, edit


def _point(optimizer, lr, clipnorm, epochs, patience, units, initializer, activation="tanh"):
    layers = {"n_layers": len(units) + 1, **{f"units_{i + 1}": u for i, u in enumerate(units)}}
    return {
        "epochs": epochs,
        "stopping_patience": patience,
        "initializer": initializer,
        "optimizer": {"optimizer_name": optimizer, "learning_rate": lr, "clipnorm": clipnorm},
        "layers": layers,
        "activation": activation,
    }


POINTS = [
    _point("Adam", 2e-3, 1.0, 60, 0.2, (25, 20), "glorot_normal"),
    _point("Adam", 2e-3, 1.0, 50, 0.2, (15,), "glorot_normal"),  # another depth: its own model
    _point("Nadam", 4e-3, 0.5, 50, 0.1, (12, 30), "glorot_uniform", "sigmoid"),  # with trial 0
]


# float64 round-off of batched vs single products, amplified over every epoch (every epoch is
# acceptable here, so replicas train to their patience): up to 1.6e-9 relative on JAX; a real
# coupling between slots (a shared statistic or clip norm) gives differences of order 1e-3 and
# more
RTOL = 1e-8


@pytest.fixture(scope="module")
def setup():
    text = edit(SCAN, "replicas: 10", "replicas: 2")
    text = edit(text, "  threshold: 10\n", "  threshold: 1.0e6\n")
    text = edit(text, "double_precision: false", "double_precision: true")
    # 50 epochs fit badly: every replica is acceptable, else the trials fail (no acceptable epoch)
    text = edit(text, "threshold: 1.0e-6}", "threshold: 1.0e+9}")
    text = edit(text, "threshold_chi2: 10.0", "threshold_chi2: 1.0e+9")
    card = parse_runcard(text, "scan.yml")
    theory = load_theory(card.theory.theoryid)
    data = load_fit_data(card, theory, card.replica_indices)
    return card, ScanProblem(theory, data, fold_masks(card, data)[:2], ("patience",))


@pytest.mark.slow
def test_stacked_trials_equal_each_trial_alone(setup, float64, tmp_path):
    card, problem = setup
    stacked_root, alone_root = tmp_path / "stacked", tmp_path / "alone"
    stacked = make_objective(card, problem, stacked_root, False, 3).run(list(enumerate(POINTS)))
    alone_objective = make_objective(card, problem, alone_root, False)
    for tid, point in enumerate(POINTS):
        (alone,) = alone_objective.run([(tid, point)])
        together = stacked[tid]
        assert together.status == alone.status == "ok"
        np.testing.assert_allclose(together.fold_losses, alone.fold_losses, rtol=RTOL)
        np.testing.assert_allclose(together.loss, alone.loss, rtol=RTOL)
        assert together.replica_epochs == alone.replica_epochs
        for a, b in zip(together.folds, alone.folds, strict=True):
            np.testing.assert_array_equal(a.extra["stop_epoch"], b.extra["stop_epoch"])
            np.testing.assert_allclose(a.chi2, b.chi2, rtol=RTOL)
            np.testing.assert_allclose(a.phi2, b.phi2, rtol=1e-8)
            np.testing.assert_allclose(a.penalties["patience"], b.penalties["patience"], rtol=RTOL)
        saved = load_trial_predictions(stacked_root, tid)
        reference = load_trial_predictions(alone_root, tid)
        np.testing.assert_array_equal(saved.replicas, [1, 2])
        for (p_a, v_a), (p_b, v_b) in zip(saved.folds, reference.folds, strict=True):
            np.testing.assert_array_equal(p_a, p_b)
            np.testing.assert_allclose(v_a, v_b, rtol=RTOL)
    # the slots really trained different settings
    assert len({r.loss for r in stacked}) == 3
