"""Mid-training checkpoints of a fit: a fit stopped by SIGTERM or kill -9 and resumed writes
the same replicas, bit for bit, as one never stopped; a checkpoint of another fit is refused."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from n3fit_gpu.config import load_runcard
from n3fit_gpu.ensemble.snapshot import TrainingSnapshot
from n3fit_gpu.errors import CheckpointError
from n3fit_gpu.fit_checkpoint import FitCheckpoint
from tests.test_fit import QUICKSTART, small_card
from tests.waiting import PATIENCE, wait_for

REPLICAS = 3


def _fit_command(card, out, *options) -> list[str]:
    command = [sys.executable, "-m", "n3fit_gpu.cli.fit", card, "-r", REPLICAS, "-o", out, "-q"]
    return [str(c) for c in command + list(options)]


def _run(command) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=PATIENCE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _replica_files(fit_dir, replica: int) -> tuple[bytes, dict, dict]:
    folder = fit_dir / "nnfit" / f"replica_{replica}"
    info = json.loads((folder / f"{fit_dir.name}.json").read_text())
    epochs = {key: info[key] for key in ("stop_epoch", "best_epoch", "erf_tr", "erf_vl", "chi2")}
    with np.load(folder / "pdf_q0.npz") as npz:
        arrays = {name: npz[name] for name in npz.files}
    return (folder / f"{fit_dir.name}.exportgrid").read_bytes(), epochs, arrays


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_fit_stopped_mid_training_resumes_bit_identically(tmp_path, stop):
    # 1000 epochs: replicas stop at ~240-520 (calls of 100 epochs), long after the first
    # checkpoint, so the signal comes while they train. SIGTERM: saved at the next call, exit
    # 75; kill -9: nothing runs, the last periodic checkpoint is what is left.
    card = small_card(tmp_path, epochs=1000, name="ckpt", lenient=True)
    _run(_fit_command(card, tmp_path / "plain", "--checkpoint-minutes", 0))

    out = tmp_path / "stopped"
    command = _fit_command(card, out, "--checkpoint-minutes", 1e-6)  # after every call
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = out / "ckpt" / "checkpoint" / f"replicas_1-{REPLICAS}.npz"
    wait_for(
        checkpoint.exists,
        f"the checkpoint {checkpoint}",
        hopeless=lambda: proc.poll() is not None and f"the fit exited with {proc.returncode}",
    )
    proc.send_signal(stop)
    stdout, stderr = proc.communicate(timeout=PATIENCE)
    if stop == signal.SIGTERM:
        assert proc.returncode == 75, f"the fit ended before the signal?\n{stderr[-2000:]}"
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("stopped (SIGTERM): checkpoint saved at epoch ")
        assert last.endswith("; rerun with --resume") and checkpoint.exists()
        epoch = last.split("epoch ")[1].split(";")[0]
    else:
        assert proc.returncode == -signal.SIGKILL and checkpoint.exists()
        epoch = ""

    resumed = _run(command[:-2] + ["--resume"])
    assert f"resuming replicas 1-{REPLICAS} at epoch {epoch}" in resumed.stdout
    assert not checkpoint.parent.exists()
    for replica in range(1, REPLICAS + 1):
        grid, info, arrays = _replica_files(out / "ckpt", replica)
        grid_ref, info_ref, arrays_ref = _replica_files(tmp_path / "plain" / "ckpt", replica)
        assert grid == grid_ref and info == info_ref
        for name, value in arrays_ref.items():
            np.testing.assert_array_equal(arrays[name], value, err_msg=name)


def _snapshot() -> TrainingSnapshot:
    rows = np.zeros((1, 2), np.float32)
    return TrainingSnapshot(
        epoch=100,
        state=(np.zeros(2, np.float32),),
        history_epochs=np.array([100]),
        history_training=rows,
        history_validation=rows,
        pruned=np.zeros(2, bool),
        seconds=1.0,
        epochs_per_call=100,
        max_epochs=1000,
    )


def test_checkpoint_of_another_fit_is_refused(tmp_path):
    card = load_runcard(QUICKSTART)
    store = FitCheckpoint.of_block(tmp_path, [1, 2], card)
    store.save(_snapshot(), [1, 2])
    snapshot, replicas = store.load([2])  # replica 1 written since: trained again, not written
    assert replicas == [1, 2] and snapshot.epoch == 100
    with pytest.raises(CheckpointError, match="not \\[3\\]"):
        store.load([2, 3])
    other = FitCheckpoint.of_block(tmp_path, [1, 2], card.model_copy(update={"nnseed": 1}))
    assert other.path == store.path
    with pytest.raises(CheckpointError, match="other runcard settings.*delete it"):
        other.load([1, 2])
    store.delete()
    assert not store.path.parent.exists()


def test_replica_count_alone_does_not_change_the_settings(tmp_path):
    card = load_runcard(QUICKSTART)
    store = FitCheckpoint.of_block(tmp_path, [1, 2], card)
    wider = FitCheckpoint.of_block(tmp_path, [1, 2], card.model_copy(update={"replicas": 50}))
    assert store.identity == wider.identity
    assert os.fspath(store.path).endswith("checkpoint/replicas_1-2.npz")
