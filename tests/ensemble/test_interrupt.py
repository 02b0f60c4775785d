"""Ctrl-C during training: asked to, the engine returns the last completed call's state, flagged.

Toy replicas 0 and 2 stop (patience) at epochs 74 and 78, replicas 1 and 3 train on to 150:
with 80 epochs per call, an interrupt after the first call finds two finished replicas.
"""

import numpy as np
import pytest
from keras import ops

from .toy_problem import MAX_REPLICAS, fit_toy, toy_trainer

EPOCHS_PER_CALL = 80


def _interrupt_after_first_call(progress):
    raise KeyboardInterrupt


@pytest.fixture(scope="module")
def complete():
    return fit_toy(range(MAX_REPLICAS), epochs_per_call=EPOCHS_PER_CALL)


def _assert_final_replicas_equal(interrupted, complete):
    for r in np.flatnonzero(interrupted.finished):
        assert interrupted.stop_epoch[r] == complete.stop_epoch[r]
        assert interrupted.best_epoch[r] == complete.best_epoch[r]
        for wi, wc in zip(interrupted.weights, complete.weights):
            np.testing.assert_array_equal(wi[r], wc[r])


def test_uninterrupted_result_is_all_finished(complete):
    assert not complete.interrupted and complete.finished.all()
    assert complete.stop_epoch.tolist()[::2] == [74, 78]  # the setup the tests below rely on


def test_interrupt_in_progress_callback(complete):
    result = fit_toy(
        range(MAX_REPLICAS),
        epochs_per_call=EPOCHS_PER_CALL,
        progress=_interrupt_after_first_call,
        keep_on_interrupt=True,
    )
    assert result.interrupted and result.epochs_run == EPOCHS_PER_CALL
    assert result.finished.tolist() == [True, False, True, False]
    assert result.history.epochs.tolist() == [EPOCHS_PER_CALL]
    _assert_final_replicas_equal(result, complete)


def test_interrupt_inside_a_compiled_call_keeps_the_last_completed_one(complete):
    trainer = toy_trainer(range(MAX_REPLICAS), epochs_per_call=EPOCHS_PER_CALL)
    run = trainer._run()
    calls = []

    def interrupted_second_call(state, constants):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return run(state, constants)

    trainer._compiled = interrupted_second_call
    result = trainer.train(keep_on_interrupt=True)
    assert result.interrupted and result.epochs_run == EPOCHS_PER_CALL
    assert result.finished.tolist() == [True, False, True, False]
    _assert_final_replicas_equal(result, complete)
    # the model holds the restored best weights, as after a complete training
    kernel = ops.convert_to_numpy(trainer.model.trainable_variables[0])
    np.testing.assert_array_equal(kernel[0], complete.weights[0][0])


def test_interrupt_before_any_call_finishes_nothing():
    trainer = toy_trainer(range(MAX_REPLICAS))

    def interrupted(state, constants):
        raise KeyboardInterrupt

    trainer._compiled = interrupted
    result = trainer.train(keep_on_interrupt=True)
    assert result.interrupted and not result.finished.any()
    assert result.epochs_run == 0 and result.history.training.shape == (0, MAX_REPLICAS)


def test_interrupt_propagates_unless_asked_to_keep():
    with pytest.raises(KeyboardInterrupt):
        fit_toy(range(MAX_REPLICAS), epochs=10, progress=_interrupt_after_first_call)
