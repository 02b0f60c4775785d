"""K scan workers on this machine: start them, show one progress bar, stop them together.

Each worker is its own process, started from a command line (for the PDF scan,
``hyperscan RUNCARD --worker --worker-id ID``), with its output in ``<log_folder>/<ID>.log``.
They coordinate through the scan's trial log and claims (:mod:`.worker`) as workers on many
machines do; the parent only reads the log (incrementally) for the bar, and waits.

Stopping (Ctrl-C, or any exception here): Ctrl-C in a terminal reaches the workers too, so
they get ``grace / 3`` s to stop by themselves (deleting their claims), then SIGTERM, then
after another ``grace / 3`` s SIGKILL (their claims expire after the lease).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from n3fit_gpu.search.driver import progress_note
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.store import TrialLog


def run_local_workers(
    commands: Mapping[str, Sequence[str]],
    log: TrialLog,
    trials: int,
    log_folder: Path | str,
    progress: bool = True,
    poll: float = 0.5,
    grace: float = 15.0,
) -> dict[str, int]:
    """Run one process per ``name -> command`` until all exit; their exit codes by name.

    Raises
    ------
    SearchError
        If a worker failed and the log holds fewer than ``trials`` trials (the message quotes
        the last line of its output).
    """
    log_folder = Path(log_folder)
    log_folder.mkdir(parents=True, exist_ok=True)
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, command in commands.items():
            with open(log_folder / f"{name}.log", "ab") as output:
                procs[name] = subprocess.Popen(
                    list(command),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
        _watch(procs, log, trials, progress, poll)
    except BaseException:
        _stop(procs.values(), grace)
        raise
    codes = {name: proc.returncode for name, proc in procs.items()}
    failed = {name: code for name, code in codes.items() if code != 0}
    done = _finished(log, trials)
    if failed and done < trials:
        name, code = next(iter(failed.items()))
        path = log_folder / f"{name}.log"
        raise SearchError(
            f"{len(failed)} of {len(codes)} workers failed with {done} of {trials} trials "
            f"finished; worker {name} exited with code {code}: {_last_line(path)!r} (all its "
            f"output: {path}); fix that and run the same command again to resume"
        )
    return codes


def _finished(log: TrialLog, trials: int) -> int:
    log.read()
    return sum(tid < trials for tid in log.finished)


def _watch(
    procs: Mapping[str, subprocess.Popen], log: TrialLog, trials: int, progress: bool, poll: float
) -> None:
    desc = f"trials ({len(procs)} workers)"
    with tqdm(total=trials, desc=desc, disable=not progress) as bar:
        while True:
            running = any(proc.poll() is None for proc in procs.values())
            bar.update(min(_finished(log, trials), trials) - bar.n)
            if progress:
                bar.set_postfix_str(progress_note(log.read()))
            if not running:
                return
            time.sleep(poll)


def _stop(procs: Iterable[subprocess.Popen], grace: float) -> None:
    """Let the workers stop by themselves, then SIGTERM, then SIGKILL."""
    live = list(procs)
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        live = [proc for proc in live if proc.poll() is None]
        for proc in live:
            if sig is not None:
                proc.send_signal(sig)
        deadline = time.monotonic() + grace / 3
        for proc in live:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                pass


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
