"""K scan workers on this machine: start them, show one progress bar, stop them together.

Each worker is its own process, started from a command line (for the PDF scan,
``hyperscan RUNCARD --worker --worker-id ID``), with its output in ``<log_folder>/<ID>.log``.
They coordinate through the scan's trial log and claims (:mod:`.worker`) as workers on many
machines do; the parent only reads the log (incrementally) for the bar, and waits.

A worker that dies (killed by SIGKILL or the out-of-memory killer, or failed) is named at
once in one line on stderr, with its exit code or signal, its trials and its output. Given
the claims folder, the parent deletes the dead worker's claims (it reaped the process: no one
else writes them), so the others rerun its trials at once instead of after the lease. The
scan goes on while one worker lives; when all have exited short of the budget it fails.

Stopping (Ctrl-C, or any exception here): Ctrl-C in a terminal reaches the workers too, so
they get ``grace / 3`` s to stop by themselves (deleting their claims), then SIGTERM, then
after another ``grace / 3`` s SIGKILL (their claims expire after the lease).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from n3fit_gpu.search.claims import read_claims
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
    claims_folder: Path | str | None = None,
) -> dict[str, int]:
    """Run one process per ``name -> command`` until all exit; their exit codes by name.

    ``name`` is the worker id the command runs with. With ``claims_folder`` (the scan's
    ``claims/``) a worker's claims are deleted as soon as it dies, so the others rerun its
    trials at once; without it they wait for the lease to expire.

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
        deaths = _Deaths(procs, log, log_folder, claims_folder)
        _watch(procs, log, trials, progress, poll, deaths)
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
            f"finished; worker {name} {exit_words(code)}: {_last_line(path)!r} (all its "
            f"output: {path}); fix that and run the same command again to resume"
        )
    return codes


def _finished(log: TrialLog, trials: int) -> int:
    log.read()
    return sum(tid < trials for tid in log.finished)


def exit_words(code: int) -> str:
    """``exited with code 3``, or ``was killed by SIGKILL`` for a negative ``Popen`` code."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    why = " (kill -9 or the out-of-memory killer)" if -code == signal.SIGKILL else ""
    return f"was killed by {name}{why}"


class _Deaths:
    """Names each worker that exited with a non-zero code, once, and frees its claims."""

    def __init__(self, procs, log: TrialLog, log_folder: Path, claims_folder) -> None:
        self.procs, self.log, self.log_folder = procs, log, log_folder
        self.claims_folder = None if claims_folder is None else Path(claims_folder)
        self.reported: set[str] = set()

    def lines(self) -> list[str]:
        """One line per worker found dead since the previous call."""
        found = []
        for name, proc in self.procs.items():
            code = proc.poll()
            if code is None or code == 0 or name in self.reported:
                continue
            self.reported.add(name)
            alive = sum(p.poll() is None for p in self.procs.values())
            found.append(
                f"worker {name} {exit_words(code)}; {self._trials_of(name)}; "
                f"{alive} of {len(self.procs)} workers still running; its output: "
                f"{self.log_folder / f'{name}.log'}"
            )
        return found

    def _trials_of(self, name: str) -> str:
        """What happens to the dead worker's trials (its claims deleted when we know them)."""
        if self.claims_folder is None:
            return "a trial it held is rerun by the others once its lease expires"
        self.log.read()
        freed = _release_claims_of(self.claims_folder, name)
        todo = [tid for tid in freed if tid not in self.log.finished]
        if not todo:
            return "it held no unfinished trial"
        listed = ", ".join(str(tid) for tid in todo)
        return f"its claim on trial(s) {listed} was deleted: the others rerun them now"


def _release_claims_of(folder: Path, worker_id: str) -> list[int]:
    """Delete the claims of ``worker_id``, a process this parent has reaped; their trial ids.

    Safe: the dead process writes nothing more, and a worker that took one of its claims over
    meanwhile did so with a new file (a higher generation), which is not touched.
    """
    freed = []
    for claim in read_claims(folder):
        if claim.worker == worker_id:
            claim.path.unlink(missing_ok=True)
            freed.append(claim.tid)
    return freed


def _watch(
    procs: Mapping[str, subprocess.Popen],
    log: TrialLog,
    trials: int,
    progress: bool,
    poll: float,
    deaths: _Deaths,
) -> None:
    desc = f"trials ({len(procs)} workers)"
    with tqdm(total=trials, desc=desc, disable=not progress) as bar:
        while True:
            running = any(proc.poll() is None for proc in procs.values())
            for line in deaths.lines():
                tqdm.write(line, file=sys.stderr)
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
