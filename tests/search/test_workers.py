"""Many workers on one scan: a global budget, exactly-once trials, SIGKILLed workers' trials
rerun after their lease, restarts taking back their claim at once, scans kept apart."""

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from n3fit_gpu.search.claims import Claims, read_claims
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.store import TrialLog
from n3fit_gpu.search.worker import WorkerSettings, default_worker_id
from tests.waiting import PATIENCE, wait_for

from .toy_worker import run_toy_worker

TOY = Path(__file__).with_name("toy_worker.py")


def _log_lines(folder):
    """Every line of the log as JSON (a corrupt line fails the test)."""
    path = folder / "tries.jsonl"
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def _in_threads(jobs, timeout=PATIENCE):
    """Run ``jobs`` (callables) in threads; fail if one raises, or any still runs after
    ``timeout`` (a hang guard, not a speed bound)."""
    errors = []

    def guarded(job):
        try:
            job()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a worker did not finish"
    assert not errors, errors


def test_workers_in_threads_share_the_budget_exactly_once(tmp_path):
    settings = [WorkerSettings(f"w{i}", lease=60, poll=0.01) for i in range(3)]
    _in_threads([lambda s=s: run_toy_worker(tmp_path, 12, s, sleep=0.02) for s in settings])
    docs = _log_lines(tmp_path)
    assert sorted(d["tid"] for d in docs) == list(range(12))
    assert {d["owner"] for d in docs} <= {"w0", "w1", "w2"}
    assert read_claims(tmp_path / "claims") == []
    more = run_toy_worker(tmp_path, 14, settings[0])  # a larger budget resumes the same scan
    assert [d["tid"] for d in more][12:] == [12, 13] and len(_log_lines(tmp_path)) == 14


def test_two_scans_in_one_store_directory_never_mix(tmp_path):
    store = tmp_path / "output"
    jobs = [
        lambda name=name, i=i: run_toy_worker(
            store / name, 6, WorkerSettings(f"{name}{i}", lease=60, poll=0.01), label=name
        )
        for name in ("alpha", "beta")
        for i in range(2)
    ]
    _in_threads(jobs)
    for name in ("alpha", "beta"):
        docs = _log_lines(store / name)
        assert sorted(d["tid"] for d in docs) == list(range(6))
        assert all(set(d["params"]) == {name, "learning_rate"} for d in docs)
        assert all(d["owner"].startswith(name) for d in docs)
        assert read_claims(store / name / "claims") == []
    assert sorted(p.name for p in store.iterdir()) == ["alpha", "beta"]


def test_a_restarted_worker_reruns_its_own_claimed_trial_at_once(tmp_path):
    lease = 100 * 60  # far longer than a one-trial run takes on any machine, however loaded
    Claims(tmp_path / "claims", "job-3", lease=lease).claim_next([0])  # then the job died
    Claims(tmp_path / "claims", "other", lease=lease).claim_next([1])  # alive, elsewhere
    settings = WorkerSettings("job-3", lease=lease, poll=0.01)
    finished = []
    _in_threads([lambda: finished.append(run_toy_worker(tmp_path, 1, settings))], lease / 10)
    assert [(d["tid"], d["owner"]) for d in _log_lines(tmp_path)] == [(0, "job-3")]
    assert [c.worker for c in read_claims(tmp_path / "claims")] == ["other"]


def test_default_worker_id_follows_slurm():
    array = {"SLURM_ARRAY_JOB_ID": "812", "SLURM_ARRAY_TASK_ID": "3", "SLURM_JOB_ID": "815"}
    assert default_worker_id(array) == "812-3"
    assert default_worker_id({"SLURM_JOB_ID": "815"}) == "815"
    assert default_worker_id({}).rsplit("-", 1)[1].isdigit()  # <host>-<pid>
    with pytest.raises(SearchError, match="worker id 'a b' is not usable"):
        WorkerSettings("a b")


def _claimed_by(claims_folder, worker):
    return {c.tid for c in read_claims(claims_folder) if c.worker == worker}


@pytest.mark.slow
def test_eight_workers_two_sigkilled_every_trial_once_and_theirs_rerun(tmp_path):
    budget, lease, rng = 24, 2.0, random.Random(11)
    folder, claims = tmp_path / "scan", tmp_path / "scan" / "claims"
    names = [f"w{i}" for i in range(8)]
    toy = [sys.executable, str(TOY), str(folder), "--trials", str(budget), "--lease", str(lease)]
    procs = {
        name: subprocess.Popen(
            [*toy, "--sleep", "0.5", "--worker-id", name], stderr=subprocess.PIPE
        )
        for name in names
    }
    held_at_kill = {}
    try:
        for victim in rng.sample(names, 2):
            wait_for_lines = rng.randint(0, 8)
            wait_for(
                lambda v=victim, n=wait_for_lines: (
                    len(_log_lines(folder)) >= n and _claimed_by(claims, v)
                ),
                f"{wait_for_lines} trials logged and a claim held by {victim}",
                lambda v=victim: procs[v].poll() is not None and f"{v} exited",
                interval=0.01,
            )
            time.sleep(rng.uniform(0.0, 0.15))  # a random moment inside its 0.5 s trial
            procs[victim].kill()
            procs[victim].wait()
            held_at_kill[victim] = _claimed_by(claims, victim)
        for name, proc in procs.items():
            if name not in held_at_kill:
                assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
    finally:
        for proc in procs.values():
            proc.kill()
    docs = _log_lines(folder)
    assert sorted(d["tid"] for d in docs) == list(range(budget))  # each trial exactly once
    owner = {d["tid"]: d["owner"] for d in docs}
    rerun = {tid: owner[tid] for v, tids in held_at_kill.items() for tid in tids if owner[tid] != v}
    assert rerun, f"no killed worker held an unfinished trial: {held_at_kill}"
    assert read_claims(claims) == []
    assert TrialLog(folder / "tries.jsonl").read() == docs
