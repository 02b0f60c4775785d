"""Claims on trials in progress: files with leases and heartbeats, no database server.

hyperopt's MongoDB workers reserve a trial atomically (``owner``, ``book_time``) and refresh
it (``refresh_time``); a trial whose refresh is too old goes back to the queue. The same with
files, in one folder per scan (so two scans never share claims)::

    claims/<tid>.<generation>.json     {"worker", "host", "pid", "started", "tid", "generation"}

- Claiming trial ``tid`` creates ``<tid>.0.json`` with ``O_CREAT | O_EXCL``: of several
  workers exactly one succeeds (atomic on local filesystems, NFS >= 3, Lustre and GPFS).
- The holder's heartbeat thread touches its file (``utime``) every ``lease / 10`` s. A claim
  whose newest generation was not touched for ``lease`` s is stale: its worker died or hung.
- Taking over a stale claim of generation ``g`` is again one exclusive create, of
  ``<tid>.<g+1>.json``, so of two takers exactly one wins; the winner then deletes the older
  generations. (Renaming the stale file away instead races: a taker that judged the old file
  stale can rename away the file the winner has just created.)
- A worker restarted with the same id (a requeued SLURM array task) takes back its own claims
  at once, stale or not, the same way.
- The holder deletes its claim after the finished trial is in the log.

Claims only avoid duplicate work; exactly-once results come from
:meth:`~n3fit_gpu.search.store.TrialLog.append_new`. Staleness compares file times (set by the
file server) with this machine's clock: clocks must agree to well within the lease (NTP does).

Cost of :meth:`Claims.claim_next`: one ``listdir`` (about one entry per live worker) and one
exclusive create; a ``stat`` only for a claim whose lease may have run out. A claim seen
touched at ``t`` is live until ``t + lease`` at least, and a file absent from the previous
listing (started at ``t``) was created after ``t``, so in a steady state no claim is looked
at before its lease could have expired (2,000 workers: ~2 ms instead of ~25 ms of ``stat``).
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import threading
import time
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from n3fit_gpu.search.errors import SearchError

_NAME = re.compile(r"^(\d+)\.(\d+)\.json$")


@dataclass(frozen=True)
class Claim:
    """The newest claim file of one trial; ``worker`` is ``None`` while it is being written."""

    tid: int
    generation: int
    path: Path
    worker: str | None


def _listing(folder: Path) -> dict[int, tuple[int, str]]:
    """``tid -> (newest generation, file name)`` of the claim files in ``folder``."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return {}
    newest: dict[int, tuple[int, str]] = {}
    for name in names:
        match = _NAME.match(name)
        if match:
            tid, generation = int(match[1]), int(match[2])
            if generation >= newest.get(tid, (-1, ""))[0]:
                newest[tid] = (generation, name)
    return newest


def read_claims(folder: Path | str) -> list[Claim]:
    """The newest claim of every claimed trial in ``folder``, by trial id (for monitoring)."""
    claims = []
    for tid, (generation, name) in sorted(_listing(Path(folder)).items()):
        try:
            worker = json.loads((Path(folder) / name).read_text()).get("worker")
        except (OSError, ValueError):
            worker = None  # released meanwhile, or not written yet
        claims.append(Claim(tid, generation, Path(folder) / name, worker))
    return claims


class Claims:
    """One worker's claims in ``folder`` (created on first use); ``lease`` in seconds."""

    def __init__(self, folder: Path | str, worker_id: str, lease: float = 600.0):
        if not lease > 0:
            raise SearchError(f"the lease must be > 0 seconds; got {lease}")
        self.folder, self.worker_id, self.lease = Path(folder), worker_id, float(lease)
        self._held: dict[int, Path] = {}
        self._live_until: dict[str, float] = {}  # claim file name -> known live until then
        self._listed_at = -math.inf  # when the previous listing started
        self._lock = threading.Lock()

    @property
    def held(self) -> list[int]:
        """The trial ids this worker holds, ascending."""
        with self._lock:
            return sorted(self._held)

    def claim_next(self, candidates: Iterable[int]) -> int | None:
        """Claim the first of ``candidates`` that no live claim holds; ``None`` if there is none.

        A candidate with a stale claim is taken over. ``candidates`` is consumed lazily.
        """
        now = time.time()
        newest = _listing(self.folder)
        names = {name for _, name in newest.values()}
        live = {n: self._live_until.get(n, self._listed_at + self.lease) for n in names}
        self._live_until, self._listed_at = live, now
        for tid in candidates:
            if tid in self._held:
                continue
            generation, name = newest.get(tid, (-1, ""))
            if generation >= 0 and self._is_live(name, now):
                continue
            if self._create(tid, generation + 1):
                return tid
        return None

    def take_back_own(self) -> list[int]:
        """Take over every claim this worker id holds from an earlier run; their trial ids."""
        taken = []
        for claim in read_claims(self.folder):
            mine = claim.worker == self.worker_id and claim.tid not in self._held
            if mine and self._create(claim.tid, claim.generation + 1):
                taken.append(claim.tid)
        return taken

    def release(self, tid: int) -> None:
        """Delete this worker's claim on ``tid`` (nothing if it holds none)."""
        with self._lock:
            path = self._held.pop(tid, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def release_all(self) -> None:
        """Delete every claim this worker holds (on exit or interruption)."""
        for tid in self.held:
            self.release(tid)

    def sweep(self, finished: Container[int]) -> None:
        """Delete claim files of ``finished`` trials left by workers that died after appending."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return
        for name in names:
            match = _NAME.match(name)
            if match and int(match[1]) in finished and int(match[1]) not in self._held:
                (self.folder / name).unlink(missing_ok=True)

    def touch(self) -> None:
        """Renew the lease of every claim held (what the heartbeat does)."""
        with self._lock:
            paths = list(self._held.values())
        for path in paths:
            try:
                os.utime(path)
            except FileNotFoundError:
                pass  # taken over after this worker went stale; the log decides who counts

    @contextmanager
    def heartbeat(self) -> Iterator[None]:
        """Touch the held claims every ``lease / 10`` s from a daemon thread while inside."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease / 10):
                self.touch()

        thread = threading.Thread(target=beat, name=f"heartbeat-{self.worker_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _is_live(self, name: str, now: float) -> bool:
        if now < self._live_until.get(name, -1.0):
            return True
        try:
            until = os.stat(self.folder / name).st_mtime + self.lease
        except FileNotFoundError:
            return True  # released or taken over just now: look again next time
        self._live_until[name] = until
        return now < until

    def _create(self, tid: int, generation: int) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{tid}.{generation}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        identity = {
            "worker": self.worker_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(),
            "tid": tid,
            "generation": generation,
        }
        with os.fdopen(fd, "w") as handle:
            json.dump(identity, handle)
        with self._lock:
            self._held[tid] = path
        for older in range(generation):
            (self.folder / f"{tid}.{older}.json").unlink(missing_ok=True)
        return True
