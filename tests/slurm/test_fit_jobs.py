"""``submit_fit.sh`` on a real (local) SLURM: a tiny fit of 4 replicas as an array of 2 blocks
of 2, then the collect job; every replica and the collected ensemble files are checked."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.slurm.helpers import ROOT, SCRIPTS, active, job_logs, submit, wait
from tests.waiting import wait_for

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def tiny_fit_card(folder: Path) -> Path:
    """The quick-start runcard with 4 replicas and 60 epochs, postfit thresholds out of reach
    (60 epochs do not converge; this tests the batch machinery)."""
    text = (ROOT / "runcards" / "quickstart.yml").read_text()
    text = re.sub(r"(?m)^replicas: .*$", "replicas: 4", text)
    text = re.sub(r"(?m)^  epochs: .*$", "  epochs: 60", text)
    text = text.replace("threshold_chi2: 10.0", "threshold_chi2: 1.0e+9", 1)
    text = text.replace("threshold: 1.0e-6}", "threshold: 1.0e+9}", 1)
    path = folder / "tinyfit.yml"
    path.write_text(text)
    return path


def test_fit_array_then_collect(slurm_env, tmp_path):
    tiny_fit_card(tmp_path)
    # relative paths, submitted from the runcard's folder: the scripts make them absolute
    jobs = submit("submit_fit.sh", ["tinyfit.yml", 4, 2, "out"], slurm_env, cwd=tmp_path)
    assert set(jobs) == {"array", "collect"}, jobs
    out = tmp_path / "out"
    seconds = wait(list(jobs.values()), slurm_env, logs=out)
    print(f"fit array + collect: {seconds:.0f} s")
    logs = job_logs(out)
    fit = out / "tinyfit"
    for replica in range(1, 5):
        folder = fit / "nnfit" / f"replica_{replica}"
        for name in ("tinyfit.json", "tinyfit.exportgrid"):
            assert (folder / name).is_file(), f"no {folder / name}\n{logs}"
    array, collect = jobs["array"], jobs["collect"]
    for task, block in ((0, "1-2"), (1, "3-4")):
        log = (out / f"slurm-{array}_{task}.out").read_text()
        assert f"replicas {block} of" in log, logs
    assert (out / f"slurm-{collect}.out").is_file(), logs
    summary = json.loads((fit / "summary.json").read_text())
    assert summary["replicas"]["written"] == 4, logs
    assert (fit / "lhapdf" / "tinyfit" / "tinyfit.info").is_file(), logs


def test_time_limit_signal_checkpoints_requeues_and_resumes(slurm_env, tmp_path):
    """SIGUSR1 to the batch shell (as --signal=B:USR1@120 sends it before the time limit):
    the fit saves a checkpoint and stops, the task requeues itself and its next run resumes."""
    card = tiny_fit_card(tmp_path)
    card.write_text(card.read_text().replace("  epochs: 60", "  epochs: 1000", 1))
    out = tmp_path / "out"
    out.mkdir()
    submitted = subprocess.run(
        ["sbatch", "--parsable", "--array=0", f"--output={out}/slurm-%A_%a.out",
         str(SCRIPTS / "fit_array.sbatch"), str(card), str(out), "2", "2",
         "--checkpoint-minutes", "1e-6"],
        env=slurm_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip().split(";")[0]
    checkpoint = out / "tinyfit" / "checkpoint" / "replicas_1-2.npz"
    wait_for(
        checkpoint.exists,
        f"the checkpoint {checkpoint}",
        hopeless=lambda: not active([job], slurm_env) and f"job {job} ended\n{job_logs(out)}",
    )
    subprocess.run(["scancel", "--batch", "--signal=USR1", f"{job}_0"], env=slurm_env, timeout=30)
    wait([job], slurm_env, logs=out)
    log = job_logs(out)
    assert "stopped (SIGUSR1): checkpoint saved at epoch" in log, log
    assert "requeueing" in log and "resuming replicas 1-2 at epoch" in log, log
    for replica in (1, 2):
        assert (out / "tinyfit" / "nnfit" / f"replica_{replica}" / "tinyfit.json").is_file(), log
    assert not checkpoint.parent.exists(), log
