"""The PDF fit itself: replicas fitted stacked equal the same replicas fitted one at a time,
and slots of different trials stacked in one model equal each trial fitted alone.

Runs the fit's own code path (data, pseudodata, masks, Woodbury χ², positivity, sum rules,
per-replica clipping and stopping) in float64 on the shipped theory.

Stacked and alone are different programs, so their arithmetic differs by round-off (~1e-14
relative at epoch 0 on every backend), and the first test must stop before training amplifies
that. At the quickstart's learning rate of 0.01 the first epochs are chaotic (a 1e-14
perturbation of ONE sequential fit moves its validation χ² by ~1e-2 within 100 epochs); at 1e-3
the trajectories stay within round-off for ~60 epochs, then some replicas' losses start to
oscillate and the difference grows five- to tenfold per epoch (measured, replicas 1-8, TF and
JAX: onsets at epochs 64-85, and 1e-2 by epoch 96 for replica 5). So: 60 epochs, acceptance
thresholds loose so that the best epoch is a late one, and the penalties grown as in the
quickstart's 2,000-epoch fit (x1.54 and x1.12 every 100 epochs) rather than to their maxlambda
by the last epoch (a x5,400 jump of positivity's multiplier in one step).
"""

from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.config import load_runcard
from n3fit_gpu.fit import check_slot_cards, make_trainer, train_replicas
from n3fit_gpu.physics.fit_data import load_fit_data
from n3fit_gpu.physics.theory import load_theory

QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"


def test_stacked_pdf_fit_equals_sequential(float64):
    card = load_runcard(QUICKSTART)
    p = card.parameters
    params = p.model_copy(
        update={
            "epochs": 60,
            "stopping_patience": 0.1,
            "optimizer": p.optimizer.model_copy(update={"learning_rate": 1e-3}),
            "positivity": p.positivity.model_copy(update={"multiplier": 1.54, "threshold": 1e3}),
            "integrability": p.integrability.model_copy(update={"multiplier": 1.12}),
            "threshold_chi2": 1e3,
        }
    )
    card = card.model_copy(update={"parameters": params, "double_precision": True})
    theory = load_theory(card.theory.theoryid)

    def run(replicas):
        data = load_fit_data(card, theory, replicas)
        return train_replicas(card, theory, data, show_progress=False)[1]

    replicas = (1, 2, 3, 4)
    stacked = run(list(replicas))
    assert np.all(stacked.best_epoch > 0) and np.any(stacked.stop_epoch < 60)
    for i, replica in enumerate(replicas):
        alone = run([replica])
        assert stacked.stop_epoch[i] == alone.stop_epoch[0]
        assert stacked.best_epoch[i] == alone.best_epoch[0]
        np.testing.assert_allclose(stacked.best_validation[i], alone.best_validation[0], rtol=1e-10)
        for w_stacked, w_alone in zip(stacked.weights, alone.weights):
            np.testing.assert_allclose(w_stacked[i], w_alone[0], rtol=0, atol=1e-9)


def _trial(
    card, epochs, patience, learning_rate, clipnorm, nodes, positivity, rule="Adam", act="tanh"
):
    """``card`` with one trial's hyperparameters (acceptance thresholds loose, shared)."""
    p = card.parameters
    optimizer = p.optimizer.model_copy(
        update={"learning_rate": learning_rate, "clipnorm": clipnorm, "optimizer_name": rule}
    )
    params = p.model_copy(
        update={
            "epochs": epochs,
            "stopping_patience": patience,
            "nodes_per_layer": nodes,
            "activation_per_layer": (act,) * (len(nodes) - 1) + ("linear",),
            "optimizer": optimizer,
            "positivity": p.positivity.model_copy(update={"threshold": 1e3, **positivity}),
            "threshold_chi2": 1e3,
        }
    )
    return card.model_copy(update={"parameters": params, "double_precision": True})


@pytest.mark.slow
def test_stacked_trials_equal_each_trial_alone(float64):
    """Two slots with different optimizers (Adam, Nadam) and settings, activations, patience,
    epochs, positivity schedule and hidden widths in one model train as each does alone
    (slot i: trial i, replica i + 1)."""
    card = load_runcard(QUICKSTART)
    trial_a = _trial(card, 60, 0.05, 5e-3, 1.0, (25, 20, 8), {})  # stops at 47 (t0 covariance)
    positivity = {"initial": 50.0, "multiplier": 3.0}
    trial_b = _trial(card, 45, 0.15, 1e-2, 0.5, (12, 30, 8), positivity, "Nadam", "sigmoid")
    theory = load_theory(card.theory.theoryid)
    data = load_fit_data(trial_a, theory, [1, 2])
    stacked = make_trainer(trial_a, theory, data, slot_cards=[trial_a, trial_b])[1].train()
    for i, trial in enumerate((trial_a, trial_b)):
        alone_data = load_fit_data(trial, theory, [data.replicas[i]])
        alone = make_trainer(trial, theory, alone_data)[1].train()
        assert stacked.stop_epoch[i] == alone.stop_epoch[0] <= trial.parameters.epochs
        assert stacked.best_epoch[i] == alone.best_epoch[0] >= 0
        np.testing.assert_allclose(stacked.best_validation[i], alone.best_validation[0], rtol=1e-9)
        for w_stacked, w_alone in zip(stacked.weights, alone.weights, strict=True):
            used = tuple(slice(0, n) for n in w_alone.shape[1:])
            np.testing.assert_allclose(w_stacked[i][used], w_alone[0], rtol=0, atol=1e-8)
    assert stacked.stop_epoch[0] < trial_a.parameters.epochs  # a patience stop is exercised


def test_slots_may_differ_only_in_slot_keys():
    card = _trial(load_runcard(QUICKSTART), 60, 0.1, 5e-3, 1.0, (25, 20, 8), {})
    other = card.model_copy(update={"nnseed": card.nnseed + 1})
    positivity = {"initial": 1.0, "multiplier": 2.0}
    slot = _trial(card, 10, 0.5, 1e-3, None, (5, 9, 8), positivity, "Nadam", "sigmoid")
    check_slot_cards(card, [card, slot], 2)
    with pytest.raises(ValueError, match="slot 1 has nnseed"):
        check_slot_cards(card, [card, other], 2)
    with pytest.raises(ValueError, match="1 slot cards for 2 replicas"):
        check_slot_cards(card, [card], 2)
