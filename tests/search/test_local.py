"""run_local_workers: K worker processes, one bar, failures named, Ctrl-C stops them all."""

import os
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
