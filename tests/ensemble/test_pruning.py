"""The ``checkpoint`` hook: pruned replicas freeze at a call boundary, the others never notice.

Toy replicas 0 and 2 stop (patience) at epochs 74 and 78, replicas 1 and 3 train on to 150;
with 32 epochs per call the hook is asked at epochs 32, 64, 96, 128 and 150.
"""

import numpy as np
import pytest

from n3fit_gpu.ensemble.engine import Checkpoint, TrainingResult

from .toy_problem import MAX_REPLICAS, fit_toy, toy_trainer

EPOCHS_PER_CALL = 32
ALL = range(MAX_REPLICAS)


def _train(checkpoint, **kwargs) -> TrainingResult:
    trainer = toy_trainer(ALL, epochs_per_call=EPOCHS_PER_CALL, **kwargs)
    return trainer.train(checkpoint=checkpoint)


def _prune_at(epoch: int, replicas: list[int]):
    def hook(view: Checkpoint) -> np.ndarray | None:
        if view.epoch != epoch:
            return None
        return np.isin(np.arange(len(view.active)), replicas)

    return hook


@pytest.fixture(scope="module")
def plain():
    return fit_toy(ALL, epochs_per_call=EPOCHS_PER_CALL)


def _assert_replica_equal(a: TrainingResult, b: TrainingResult, r: int):
    assert (a.stop_epoch[r], a.best_epoch[r]) == (b.stop_epoch[r], b.best_epoch[r])
    assert a.best_validation[r] == b.best_validation[r]
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(wa[r], wb[r])


def test_setup(plain):
    assert plain.stop_epoch.tolist() == [74, 150, 78, 150]
    assert not plain.pruned.any() and "pruned" not in plain.status


def test_pruning_one_replica_leaves_the_others_bit_identical(plain):
    pruned = _train(_prune_at(EPOCHS_PER_CALL, [1]))
    assert pruned.pruned.tolist() == [False, True, False, False]
    assert pruned.status == ["ok", "pruned", "ok", "ok"]
    np.testing.assert_array_equal(pruned.history.epochs, plain.history.epochs)
    for r in (0, 2, 3):
        _assert_replica_equal(pruned, plain, r)
        np.testing.assert_array_equal(
            pruned.history.validation[:, r], plain.history.validation[:, r]
        )
        np.testing.assert_array_equal(pruned.history.training[:, r], plain.history.training[:, r])


def test_pruned_replica_keeps_its_best_weights_at_the_checkpoint():
    pruned = _train(_prune_at(EPOCHS_PER_CALL, [1]))
    short = fit_toy(ALL, epochs=EPOCHS_PER_CALL, epochs_per_call=EPOCHS_PER_CALL)
    assert pruned.stop_epoch[1] == EPOCHS_PER_CALL and pruned.finished[1]
    _assert_replica_equal(pruned, short, 1)
    frozen = pruned.history.validation[1:, 1]  # the frozen weights give the same loss each call
    np.testing.assert_array_equal(frozen, np.full_like(frozen, frozen[0]))


@pytest.mark.parametrize("answer", [None, [False] * MAX_REPLICAS])
def test_hook_that_prunes_nothing_changes_nothing(plain, answer):
    seen: list[Checkpoint] = []

    def hook(view: Checkpoint):
        seen.append(view)
        return answer

    result = _train(hook)
    assert not result.pruned.any() and result.status == plain.status
    for r in ALL:
        _assert_replica_equal(result, plain, r)
    assert [v.epoch for v in seen] == plain.history.epochs.tolist() == [32, 64, 96, 128, 150]
    np.testing.assert_array_equal(seen[0].validation, plain.history.validation[0])
    assert seen[2].active.tolist() == [False, True, False, True]  # 0 and 2 stopped before 96


def test_checkpoint_best_validation_is_the_best_so_far():
    seen: list[Checkpoint] = []
    _train(lambda view: seen.append(view))
    short = fit_toy(ALL, epochs=EPOCHS_PER_CALL, epochs_per_call=EPOCHS_PER_CALL)
    np.testing.assert_array_equal(seen[0].best_validation, short.best_validation)


def test_mask_on_inactive_replicas_is_ignored_and_all_pruned_ends_the_loop(plain):
    result = _train(_prune_at(96, list(ALL)))
    assert result.epochs_run == 96 and result.history.epochs.tolist() == [32, 64, 96]
    assert result.status == ["ok", "pruned", "ok", "pruned"]
    assert result.stop_epoch.tolist() == [74, 96, 78, 96]
    for r in (0, 2):
        _assert_replica_equal(result, plain, r)


def test_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(4,\) bool mask"):
        _train(lambda view: [True, False])
