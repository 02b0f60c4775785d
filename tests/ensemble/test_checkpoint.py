"""Snapshots: a training stopped at a call boundary, saved and restored into a fresh trainer
finishes bit-identically to one never stopped (weights, stop and best epochs, history).

Toy replicas 0 and 2 stop (patience) at epochs 74 and 78, replicas 1 and 3 train on to 150;
with 16 epochs per call, a snapshot after call 2 (epoch 32) has every replica training, one
after call 5 (epoch 80) has replicas 0 and 2 stopped already.
"""

import os
import signal

import numpy as np
import pytest

from n3fit_gpu.ensemble.engine import TrainingResult
from n3fit_gpu.ensemble.snapshot import (
    TrainingSnapshot,
    load_snapshot,
    save_snapshot,
    stop_signals,
)

from .toy_problem import MAX_REPLICAS, toy_trainer

EPOCHS_PER_CALL = 16
ALL = range(MAX_REPLICAS)


def _trainer(optimizer: str = "Adam", **kwargs):
    return toy_trainer(ALL, optimizer, epochs_per_call=EPOCHS_PER_CALL, **kwargs)


def _signal_after(calls: int, signum: int = signal.SIGTERM):
    """A progress callback sending this process ``signum`` after ``calls`` compiled calls."""
    seen = []

    def report(progress):
        seen.append(progress.epoch)
        if len(seen) == calls:
            os.kill(os.getpid(), signum)

    return report


def _stopped_after(calls: int, optimizer: str = "Adam") -> tuple[TrainingResult, list]:
    saved: list[TrainingSnapshot] = []
    result = _trainer(optimizer).train(_signal_after(calls), snapshot=saved.append)
    return result, saved


def _assert_identical(a: TrainingResult, b: TrainingResult):
    for name in ("stop_epoch", "best_epoch", "best_validation", "diverged", "finished", "pruned"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(wa, wb)
    for name in ("epochs", "training", "validation"):
        np.testing.assert_array_equal(getattr(a.history, name), getattr(b.history, name))
    assert a.epochs_run == b.epochs_run


@pytest.fixture(scope="module")
def plain() -> TrainingResult:
    return _trainer().train()


def test_setup(plain):
    assert plain.stop_epoch.tolist() == [74, 150, 78, 150]


@pytest.mark.parametrize("calls", [2, 5])
def test_resumed_training_is_bit_identical(plain, calls, tmp_path):
    stopped, saved = _stopped_after(calls)
    assert stopped.interrupted and stopped.signal == "SIGTERM"
    assert stopped.epochs_run == calls * EPOCHS_PER_CALL and len(saved) == 1
    assert stopped.finished.tolist() == [calls == 5, False, calls == 5, False]
    path = save_snapshot(tmp_path / "snap.npz", saved[0].with_metadata(note="toy"))
    restored = load_snapshot(path)
    assert restored.metadata == {"note": "toy"} and restored.epoch == stopped.epochs_run
    resumed = _trainer().train(resume_from=restored)
    assert not resumed.interrupted and resumed.signal is None
    _assert_identical(resumed, plain)


def test_nadam_globals_survive_a_resume():
    """Nadam carries a global (the running product of its momentum schedule) besides slots."""
    plain = _trainer("Nadam").train()
    _, saved = _stopped_after(3, "Nadam")
    _assert_identical(_trainer("Nadam").train(resume_from=saved[0]), plain)


def test_periodic_snapshots_do_not_change_the_training(plain):
    saved: list[TrainingSnapshot] = []
    result = _trainer().train(snapshot=saved.append, snapshot_every=0)
    _assert_identical(result, plain)
    # after every call but the last (at 160 all replicas have finished: nothing to resume)
    assert [s.epoch for s in saved] == list(range(16, 150, 16))
    _assert_identical(_trainer().train(resume_from=saved[-1]), plain)


def test_sigusr1_also_saves_and_stops():
    saved: list[TrainingSnapshot] = []
    usr1 = _trainer().train(_signal_after(1, signal.SIGUSR1), snapshot=saved.append)
    assert usr1.signal == "SIGUSR1" and usr1.interrupted
    assert usr1.epochs_run == saved[0].epoch == EPOCHS_PER_CALL


def test_handlers_are_restored_and_not_installed_without_a_hook():
    before = signal.getsignal(signal.SIGTERM)
    _trainer(epochs=EPOCHS_PER_CALL).train(snapshot=lambda s: None)
    assert signal.getsignal(signal.SIGTERM) is before
    with stop_signals(enabled=False) as flag:
        assert signal.getsignal(signal.SIGTERM) is before and flag.received is None


def test_a_mismatching_snapshot_is_refused():
    _, saved = _stopped_after(1)
    with pytest.raises(ValueError, match="max epochs"):
        _trainer(epochs=200).train(resume_from=saved[0])
    with pytest.raises(ValueError, match="state array"):
        toy_trainer(range(2), epochs_per_call=EPOCHS_PER_CALL).train(resume_from=saved[0])
