"""run_local_workers: K worker processes, one bar, failures named, Ctrl-C stops them all."""

import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from n3fit_gpu.search import local
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.local import run_local_workers
from n3fit_gpu.search.store import TrialLog
from tests.waiting import wait_for

TOY = Path(__file__).with_name("toy_worker.py")
FAIL = [sys.executable, "-c", "import sys; print('error: no theory 123'); sys.exit(2)"]


@pytest.mark.slow
def test_local_workers_finish_the_scan_and_a_failed_one_is_reported(tmp_path):
    scan = tmp_path / "scan"
    toy = [sys.executable, str(TOY), str(scan), "--trials", "6", "--sleep", "0.05"]
    commands = {f"w{i}": [*toy, "--worker-id", f"w{i}"] for i in range(2)} | {"bad": FAIL}
    log = TrialLog(scan / "tries.jsonl")
    codes = run_local_workers(commands, log, 6, scan / "workers", progress=False, poll=0.05)
    assert codes == {"w0": 0, "w1": 0, "bad": 2}  # the scan finished anyway: no error
    assert sorted(log.finished) == list(range(6))
    assert (scan / "workers" / "bad.log").read_text().strip() == "error: no theory 123"


def test_workers_that_all_fail_give_one_line_naming_the_output(tmp_path):
    log = TrialLog(tmp_path / "tries.jsonl")
    with pytest.raises(SearchError) as caught:
        run_local_workers({"a": FAIL, "b": FAIL}, log, 3, tmp_path / "workers", progress=False)
    message = str(caught.value)
    assert "2 of 2 workers failed with 0 of 3 trials finished" in message
    assert "'error: no theory 123'" in message and str(tmp_path / "workers" / "a.log") in message
    assert len(message.splitlines()) == 1


def test_ctrl_c_stops_every_worker(tmp_path, monkeypatch):
    pid_files = [tmp_path / f"{i}.pid" for i in range(2)]
    sleeper = (  # alive until the test's Ctrl-C stops it, however slow the machine
        "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(3600)"
    )
    commands = {str(i): [sys.executable, "-c", sleeper, str(p)] for i, p in enumerate(pid_files)}

    def interrupt(seconds):
        wait_for(
            lambda: all(p.exists() and p.read_text() for p in pid_files),
            "both workers to write their pid",
            interval=0.01,
        )
        raise KeyboardInterrupt

    monkeypatch.setattr(local, "time", SimpleNamespace(sleep=interrupt, monotonic=time.monotonic))
    log = TrialLog(tmp_path / "tries.jsonl")
    with pytest.raises(KeyboardInterrupt):
        run_local_workers(commands, log, 1, tmp_path / "w", progress=False, grace=0.6)
    for path in pid_files:
        with pytest.raises(ProcessLookupError):
            os.kill(int(path.read_text()), 0)  # stopped and reaped


SELF_KILL = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]


def _claim_of(claims: Path, worker: str) -> dict | None:
    """The identity in a claim file held by ``worker``, if there is one."""
    for path in claims.glob("*.json"):
        try:
            identity = json.loads(path.read_text())
        except ValueError:
            continue  # being written
        if identity.get("worker") == worker:
            return identity
    return None


def test_a_killed_worker_is_named_and_its_trial_rerun_at_once(tmp_path, monkeypatch, capsys):
    scan = tmp_path / "scan"
    toy = [sys.executable, str(TOY), str(scan), "--trials", "4", "--lease", "3600"]
    go = tmp_path / "go"  # w1 starts once w0 is killed (else it could finish the scan alone)
    w1 = shlex.join([*toy, "--worker-id", "w1", "--sleep", "0.05"])
    wait = f"until [ -e {shlex.quote(str(go))} ]; do sleep 0.05; done"
    commands = {  # w0 holds its first trial for an hour: it is killed there
        "w0": [*toy, "--worker-id", "w0", "--sleep", "3600"],
        "w1": ["sh", "-c", f"{wait}; exec {w1}"],
    }
    killed = {}

    def sleep_or_kill(seconds):  # the parent's poll: kill w0 once it holds a claim
        if not killed and (claim := _claim_of(scan / "claims", "w0")):
            os.kill(claim["pid"], signal.SIGKILL)
            killed.update(claim)
            go.touch()
        if not killed and (output := (scan / "workers" / "w0.log").read_text()):
            raise AssertionError(f"w0 failed before claiming a trial: {output}")
        time.sleep(seconds)

    clock = SimpleNamespace(sleep=sleep_or_kill, monotonic=time.monotonic)
    monkeypatch.setattr(local, "time", clock)
    log = TrialLog(scan / "tries.jsonl")
    codes = run_local_workers(commands, log, 4, scan / "workers", False, 0.05,
                              claims_folder=scan / "claims")  # fmt: skip
    assert codes == {"w0": -signal.SIGKILL, "w1": 0}  # the scan went on with w1 alone
    owners = {doc["tid"]: doc["owner"] for doc in log.read()}
    assert sorted(owners) == [0, 1, 2, 3] and owners[killed["tid"]] == "w1"  # not after 1 h
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"worker w0 was killed by SIGKILL (kill -9 or the out-of-memory killer); its claim on "
        f"trial(s) {killed['tid']} was deleted: the others rerun them now; 1 of 2 workers still "
        f"running; its output: {scan / 'workers' / 'w0.log'}"
    ]


def test_workers_that_all_die_give_one_line_naming_the_signal(tmp_path, capsys):
    log = TrialLog(tmp_path / "tries.jsonl")
    commands = {"a": SELF_KILL, "b": SELF_KILL}
    with pytest.raises(SearchError) as caught:
        run_local_workers(commands, log, 3, tmp_path / "workers", progress=False, poll=0.05)
    message = str(caught.value)
    assert message.startswith("2 of 2 workers failed with 0 of 3 trials finished; worker a was ")
    assert "killed by SIGKILL" in message and len(message.splitlines()) == 1
    died = capsys.readouterr().err.strip().splitlines()
    assert sorted(line.split(" was ")[0] for line in died) == ["worker a", "worker b"]
    assert all("a trial it held is rerun by the others once its lease expires" in line
               for line in died)  # fmt: skip
