"""Stacked trials: one model holding slots with different hyperparameters.

Two toy "trials" × 4 replicas, differing in epochs, patience, learning rates, clip norms and
hidden widths (padded layers), trained in one stacked model, equal each trial trained alone:
same stop and best epochs, same weights to round-off once the padding is cut away, and the
padding itself still exactly zero.
"""

import numpy as np
import pytest
from keras import ops

from n3fit_gpu.ensemble.layers import stack_architectures, stacked_network

from .toy_problem import ToyTrial, trials_trainer

REPLICAS = [0, 1, 2, 3]
TRIAL_A = ToyTrial()
TRIAL_B = ToyTrial(epochs=90, patience=6, lr_scale=2.0, clip_scale=0.5, nodes=(7, 15, 1))
# other update rules and activation (MixedOptimizer, per-slot activations)
TRIAL_C = ToyTrial(epochs=80, patience=8, optimizer="Nadam", activation="sigmoid")
TRIAL_D = ToyTrial(epochs=70, patience=5, lr_scale=0.5, optimizer="RMSprop", nodes=(9, 12, 1))
# shallower and deeper networks (pass-through layers)
TRIAL_E = ToyTrial(epochs=80, patience=6, nodes=(10, 1))
TRIAL_F = ToyTrial(epochs=60, patience=6, optimizer="Nadam", nodes=(6, 8, 5, 1))


def _unpadded(stacked: np.ndarray, slot: int, shape: tuple[int, ...]) -> np.ndarray:
    """Slot ``slot`` of a padded variable, cut to the unpadded ``shape`` (without replica)."""
    block = stacked[slot]
    used = tuple(slice(0, n) for n in shape)
    padding = block.copy()
    padding[used] = 0
    assert not padding.any(), "padded weights must stay exactly zero"
    return block[used]


@pytest.mark.parametrize(
    "trials",
    [(TRIAL_A, TRIAL_B), (TRIAL_A, TRIAL_C, TRIAL_D), (TRIAL_A, TRIAL_E, TRIAL_F)],
    ids=["widths", "rules", "depths"],
)
def test_stacked_trials_equal_each_trial_alone(float64, trials):
    stacked = trials_trainer(trials, REPLICAS).train()
    alone = [trials_trainer([trial], REPLICAS).train() for trial in trials]
    stops = np.concatenate([a.stop_epoch for a in alone])
    epochs = [trial.epochs for trial in trials]
    # the setup exercises both ways of ending: patience, and some trial's epochs
    assert set(stops) & set(epochs)
    assert (stops < np.repeat(epochs, len(REPLICAS))).sum() >= 2
    np.testing.assert_array_equal(stacked.stop_epoch, stops)
    np.testing.assert_array_equal(stacked.best_epoch, np.concatenate([a.best_epoch for a in alone]))
    depth = max(len(trial.nodes) for trial in trials)
    for k, (trial, single) in enumerate(zip(trials, alone, strict=True)):
        # a shallower network's layers are the first ones and the last (pass-through between)
        layers = [*range(len(trial.nodes) - 1), depth - 1]
        stacked_weights = [stacked.weights[2 * layer + j] for layer in layers for j in (0, 1)]
        for i in range(len(REPLICAS)):
            slot = k * len(REPLICAS) + i
            np.testing.assert_allclose(
                stacked.best_validation[slot], single.best_validation[i], rtol=1e-10
            )
            for w_stacked, w_single in zip(stacked_weights, single.weights, strict=True):
                np.testing.assert_allclose(
                    _unpadded(w_stacked, slot, w_single.shape[1:]), w_single[i], atol=1e-10
                )


def test_padded_layers_start_from_the_unpadded_weights(float64):
    seeds = [5, 6]
    nodes, acts = stack_architectures([(12, 12, 1), (7, 15, 1)], [("tanh", "tanh", "linear")] * 2)
    padded = stacked_network(nodes, acts, seeds)
    single = stacked_network([7, 15, 1], acts, seeds[1:])
    p_width = s_width = 1
    for p_layer, s_layer in zip(padded, single, strict=True):
        p_layer.build((None, p_width))
        s_layer.build((None, s_width))
        p_width, s_width = p_layer.units, s_layer.units
        p_kernel = ops.convert_to_numpy(p_layer.kernel)
        s_kernel = ops.convert_to_numpy(s_layer.kernel)
        np.testing.assert_array_equal(_unpadded(p_kernel, 1, s_kernel.shape[1:]), s_kernel[0])


def test_shallower_networks_start_from_their_own_weights(float64):
    """A 2-layer network stacked with a 3-layer one: its real layers get its own initial
    kernels (its own initializer keys), its pass-through layer the identity."""
    seeds = [5, 6]
    nodes, acts = stack_architectures(
        [(12, 12, 1), (7, 1)], [("tanh", "tanh", "linear"), ("sigmoid", "linear")]
    )
    assert nodes == [(12, 7), (12, 7), 1]
    assert acts == [("tanh", "sigmoid"), ("tanh", "pass_through"), "linear"]
    padded = stacked_network(nodes, acts, seeds)
    single = stacked_network([7, 1], ["sigmoid", "linear"], seeds[1:])
    widths = [1, 12, 12]
    for layer, width in zip(padded, widths, strict=True):
        layer.build((None, width))
    for layer, width in zip(single, [1, 7], strict=True):
        layer.build((None, width))
    kernels = [ops.convert_to_numpy(layer.weights_in_use()[0]) for layer in padded]
    own = [ops.convert_to_numpy(layer.kernel)[0] for layer in single]
    np.testing.assert_array_equal(kernels[0][1, :1, :7], own[0])
    np.testing.assert_array_equal(kernels[1][1], np.pad(np.eye(7), ((0, 5), (0, 5))))
    np.testing.assert_array_equal(kernels[2][1, :7], own[1])


@pytest.mark.parametrize(
    ("nodes", "activations", "match"),
    [
        ([(12, 12, 1), (1,)], [("tanh", "tanh", "linear"), ("linear",)], "without hidden"),
        ([(12, 1), (12, 1)], [("tanh", "linear"), ("tanh", "tanh", "linear")], "activations"),
    ],
)
def test_architectures_that_cannot_be_stacked(nodes, activations, match):
    with pytest.raises(ValueError, match=match):
        stack_architectures(nodes, activations)
