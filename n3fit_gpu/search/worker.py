"""One scan worker: claim the next trial, suggest it with TPE on the whole log, run, append.

Any number of workers, on one machine or many sharing a filesystem, run one scan together
through its trial log (:mod:`.store`) and claims folder (:mod:`.claims`); there is no server
(the asynchronous decentralized design: each worker runs its own sequential optimization on
everything already written).

- Budget: the scan is trials ``0 .. trials-1``. A worker claims the lowest trial id that is
  neither finished nor held by a live claim, and stops when every id below ``trials`` is
  finished. While the only unfinished trials are claimed by live workers it waits (a look at
  the store every ``poll`` s), so a dead worker's trial is rerun once its lease expires.
- Suggestion: TPE on every finished trial the log holds at that moment, seeded by
  ``seed_for(seed, tid)``, so no two trial ids share a seed. Unlike a single-process scan the
  history seen by trial ``tid`` depends on timing: a parallel scan is not reproducible.
- Exactly once: the finished trial is appended with ``append_new`` (a worker whose lease was
  taken over may finish second: its duplicate is dropped), then the claim is deleted.

Costs per trial (``scripts/benchmark_scan.py``, 2 shared cores): the store's are flat in the
log's length, ~4-5 ms at 100, 1,000 and 10,000 trials (an incremental read of the records
appended since this worker's previous read, one ``listdir`` and one exclusive create for the
claim, one locked append fsynced after unlocking, one unlink); reading the others' records
is O(workers) per trial (~60-80 ms at 2,000 workers with 2 KB records). TPE's cost grows with
the history: hyperopt's ``tpe.suggest`` takes ~10 ms at 100, ~20 ms at 1,000 and 0.1-0.2 s at
10,000 trials; the worker grows one ``hyperopt.Trials`` instead of converting the whole log
for every suggestion (which would add ~0.15 s at 10,000).
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from hyperopt import Trials
from tqdm.auto import tqdm

from n3fit_gpu.search.claims import Claims
from n3fit_gpu.search.driver import (
    Objective,
    Sampler,
    TrialBatch,
    as_batch,
    progress_note,
    run_trials,
)
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.space import Space, to_hyperopt
from n3fit_gpu.search.store import TrialLog, add_to_hyperopt_trials

_WORKER_ID = re.compile(r"^[\w.@:+-]{1,200}$")


@dataclass(frozen=True)
class WorkerSettings:
    """Who a worker is and how long its claims last.

    ``lease``: seconds a claim stays valid without a heartbeat (one every ``lease / 10`` s).
    ``poll``: seconds between looks at the store while every unfinished trial is claimed
    (default ``lease / 20`` within 0.05–10 s).
    """

    worker_id: str
    lease: float = 600.0
    poll: float | None = None

    def __post_init__(self) -> None:
        if not _WORKER_ID.match(self.worker_id):
            raise SearchError(
                f"worker id {self.worker_id!r} is not usable; give 1-200 letters, digits or "
                "._@:+- (e.g. --worker-id node12-3)"
            )
        if not self.lease > 0 or (self.poll is not None and not self.poll > 0):
            raise SearchError(f"lease and poll must be > 0 s; got {self.lease}, {self.poll}")

    @property
    def poll_s(self) -> float:
        """The polling interval in seconds."""
        return self.poll if self.poll is not None else min(max(self.lease / 20, 0.05), 10.0)


def default_worker_id(environ: Mapping[str, str] | None = None) -> str:
    """``$SLURM_ARRAY_JOB_ID-$SLURM_ARRAY_TASK_ID``, else ``$SLURM_JOB_ID``, else host-pid.

    Stable across a SLURM requeue, so a requeued task takes back its own trial at once.
    """
    env = os.environ if environ is None else environ
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}-{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID") or f"{socket.gethostname()}-{os.getpid()}"


class _History:
    """The log as this worker knows it: hyperopt Trials, lowest unfinished id, count."""

    def __init__(self, sampler: Sampler, log: TrialLog, trials: int):
        self.sampler, self.log, self.budget = sampler, log, trials
        self._start_over()

    def _start_over(self) -> None:
        self.trials, self.seen, self.low, self.done = Trials(), 0, 0, 0

    def update(self) -> None:
        docs = self.log.records()  # no copy: only the new records are sliced off
        if len(docs) < self.seen:  # the log was replaced: start over
            self._start_over()
        new = list(docs[self.seen :])
        self.sampler.check(new, self.log)
        add_to_hyperopt_trials(self.trials, new)
        self.seen = len(docs)
        self.done += sum(doc["tid"] < self.budget for doc in new)
        while self.low in self.log.finished:
            self.low += 1

    def unfinished(self) -> Iterator[int]:
        return (t for t in range(self.low, self.budget) if t not in self.log.finished)


def run_worker(
    space: Space,
    objective: Objective,
    log: TrialLog,
    claims_folder: Path | str,
    trials: int,
    seed: int,
    settings: WorkerSettings,
    progress: bool = False,
    n_startup_jobs: int = 20,
    sampler: Sampler | None = None,
) -> list[dict]:
    """Run trials of the scan in ``log`` until ``trials`` are finished; returns all documents.

    ``sampler`` suggests the points (default: TPE on the whole ``space``, :class:`Sampler`).

    Safe to run in many processes at once and to restart after a crash. Exceptions from the
    objective, and ``KeyboardInterrupt``, propagate after this worker's claims are deleted
    (its trial is then free for the others at once). With a :class:`~.driver.TrialBatch` of
    size K the worker claims up to K trials at once and runs them in one call.
    """
    if trials < 0:
        raise SearchError(f"the number of trials must be >= 0; got {trials}")
    history = _History(sampler or Sampler(to_hyperopt(space), n_startup_jobs), log, trials)
    claims = Claims(claims_folder, settings.worker_id, settings.lease)
    bar = tqdm(total=trials, desc=f"trials ({settings.worker_id})", disable=not progress)
    with bar, claims.heartbeat():
        try:
            claims.take_back_own()
            while _step(history, claims, as_batch(objective), seed, settings):
                bar.update(min(history.done, trials) - bar.n)
                if progress:
                    bar.set_postfix_str(progress_note(log.read()))
            bar.update(min(history.done, trials) - bar.n)
            claims.sweep(log.finished)
        finally:
            claims.release_all()
    return log.read()


def _step(
    history: _History, claims: Claims, batch: TrialBatch, seed: int, settings: WorkerSettings
) -> bool:
    """Run (or wait for) one batch of trials; ``False`` once the whole budget is finished."""
    history.update()
    for tid in claims.held:  # taken back from an earlier run of this worker id
        if tid >= history.budget or tid in history.log.finished:
            claims.release(tid)
    if history.low >= history.budget:
        return False
    tids = claims.held[: batch.size]
    while len(tids) < batch.size:
        tid = claims.claim_next(t for t in history.unfinished() if t not in tids)
        if tid is None:
            break
        tids.append(tid)
    if not tids:
        time.sleep(settings.poll_s)
        return True
    history.update()  # finished by someone while we claimed them?
    todo = [tid for tid in tids if tid not in history.log.finished]
    if todo:
        docs = run_trials(batch, history.sampler, history.trials, todo, seed, settings.worker_id)
        for doc in docs:
            history.log.append_new(doc)
    for tid in tids:
        claims.release(tid)
    return True
