"""The ask/tell TPE loop: suggest a point, run the objective, append the trial to the log.

Determinism on resume: the suggestion for trial ``tid`` depends only on the search space, the
finished trials ``0 .. tid-1`` (read back from the log, so their floats are exactly those a
resumed scan reads) and a seed derived from ``(seed, tid)`` alone (:func:`seed_for`). A scan
that is interrupted and started again therefore suggests, trial by trial, what an
uninterrupted scan does: finished trials are never rerun, and a trial killed mid-way is rerun
with the same point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from hyperopt import Domain, Trials, rand, tpe
from tqdm.auto import tqdm

from n3fit_gpu.search.cost import CostMeter, split_cost
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.jsonable import to_json
from n3fit_gpu.search.kfold import TrialResult
from n3fit_gpu.search.scoring import ranked_trials
from n3fit_gpu.search.space import Space, point_from_vals, to_hyperopt
from n3fit_gpu.search.store import TrialLog, to_hyperopt_trials, trial_document


@dataclass(frozen=True)
class TrialBatch:
    """An objective that trains up to ``size`` trials together (e.g. stacked in one model).

    ``run([(tid, point), ...])`` returns one :class:`TrialResult` per trial, in order. A scan
    given a batch suggests the next ``size`` trials from the same history (each with its own
    seed), runs them in one call and appends each. A plain ``point -> TrialResult`` objective
    is a batch of one.
    """

    run: Callable[[list[tuple[int, dict]]], list[TrialResult]]
    size: int = 1

    def __post_init__(self) -> None:
        if self.size < 1:
            raise SearchError(f"trials per batch must be >= 1; got {self.size}")


Objective = Callable[[dict], TrialResult] | TrialBatch


def as_batch(objective: Objective) -> TrialBatch:
    """``objective`` as a :class:`TrialBatch` (a point objective runs one trial per call)."""
    if isinstance(objective, TrialBatch):
        return objective
    return TrialBatch(lambda trials: [objective(point) for _, point in trials], 1)


def seed_for(seed: int, tid: int) -> int:
    """The RNG seed of trial ``tid``: a function of ``(seed, tid)`` only (numpy SeedSequence)."""
    if seed < 0 or tid < 0:
        raise SearchError(f"seeds and trial ids must be >= 0; got seed={seed}, tid={tid}")
    return int(np.random.SeedSequence([seed, tid]).generate_state(1)[0])


def _domain(hp_space: dict) -> Domain:
    return Domain(lambda point: None, hp_space)  # only the space is used: no evaluation here


class Sampler:
    """hyperopt's TPE on one search space (hyperopt's ``Domain`` is built once, ~10 ms).

    The first ``n_startup_jobs`` trials are drawn at random, as ``tpe.suggest`` does itself;
    the random draw is made directly (the same call TPE makes), without first building TPE's
    posterior, which costs about as much as the draw.
    """

    def __init__(self, hp_space: dict, n_startup_jobs: int = 20):
        self.hp_space, self.n_startup_jobs = hp_space, n_startup_jobs
        self.domain = _domain(hp_space)
        self.labels = set(self.domain.params)

    def suggest(self, trials: Trials, tid: int, seed: int) -> tuple[dict, dict]:
        """The point for trial ``tid`` given the finished ``trials`` (one record per tid).

        Returns
        -------
        vals : dict
            hyperopt's ``misc.vals`` (``label -> [value]`` or ``[]``), plain JSON.
        point : dict
            The decoded point, as the objective receives it.
        """
        if len(trials.trials) < self.n_startup_jobs:
            new = rand.suggest([tid], self.domain, trials, seed_for(seed, tid))
        else:
            new = tpe.suggest([tid], self.domain, trials, seed_for(seed, tid),
                              n_startup_jobs=self.n_startup_jobs, verbose=False)  # fmt: skip
        vals = to_json(new[0]["misc"]["vals"])
        return vals, point_from_vals(self.hp_space, vals)

    def check(self, docs: list[dict], log: TrialLog) -> None:
        """Refuse ``docs`` from ``log`` that were run with another search space."""
        for doc in docs:
            if set(doc["misc"]["vals"]) != self.labels:
                raise SearchError(
                    f"{log.path}: trial {doc['tid']} was run with another search space "
                    f"(labels {sorted(doc['misc']['vals'])}, now {sorted(self.labels)}); "
                    "resume with the original runcard or start a new scan folder"
                )


def suggest(
    hp_space: dict, docs: list[dict], tid: int, seed: int, *, n_startup_jobs: int = 20
) -> tuple[dict, dict]:
    """TPE's suggestion for trial ``tid`` given the finished trial documents ``docs``.

    See :class:`Sampler` (a worker keeps one, and grows one ``hyperopt.Trials``).
    """
    return Sampler(hp_space, n_startup_jobs).suggest(to_hyperopt_trials(docs), tid, seed)


def best_trial(docs: list[dict]) -> dict | None:
    """The best ``ok`` trial document (:func:`.scoring.ranked_trials`; ``None`` if none)."""
    ranked = ranked_trials(docs)
    return ranked[0] if ranked else None


def progress_note(docs: list[dict]) -> str:
    """The best loss so far, for a progress bar."""
    best = best_trial(docs)
    if best is None:
        return "no successful trial yet"
    return f"best loss {best['result']['loss']:.4g} (trial {best['tid']})"


def run_trials(
    batch: TrialBatch,
    sampler: Sampler,
    history: Trials,
    tids: list[int],
    seed: int,
    owner: str | None = None,
) -> list[dict]:
    """Suggest trials ``tids`` from ``history``, run them in one batch call, and return their
    documents; the measured cost of the call is shared among them by replica-epochs."""
    suggested = [sampler.suggest(history, tid, seed) for tid in tids]
    started = datetime.now(UTC)
    with CostMeter() as meter:
        results = batch.run([(tid, point) for tid, (_, point) in zip(tids, suggested)])
    finished = datetime.now(UTC)
    epochs = [result.replica_epochs for result in results]
    costs = split_cost(meter.result(sum(epochs)), epochs)
    return [
        trial_document(
            tid, vals, point, {**result.to_result_dict(), "cost": cost}, started, finished, owner
        )  # fmt: skip
        for tid, (vals, point), result, cost in zip(tids, suggested, results, costs, strict=True)
    ]


def _next_tids(done: set[int], trials: int, size: int) -> list[int]:
    """The ``size`` lowest trial ids below ``trials`` not in ``done``."""
    return [tid for tid in range(trials) if tid not in done][:size]


def run_scan(
    space: Space,
    objective: Objective,
    log: TrialLog,
    trials: int,
    seed: int,
    progress: bool = True,
    n_startup_jobs: int = 20,
    sampler: Sampler | None = None,
) -> list[dict]:
    """Run (or resume) a scan until ``log`` holds ``trials`` trials; returns all documents.

    Each new trial gets the lowest trial id not in the log, TPE's point for it, and
    ``objective(point)``; its document is appended to the log before the next trial starts.
    With a :class:`TrialBatch` of size K, the K lowest missing ids are suggested from the
    same history and run in one call, so on resume a batch is rebuilt exactly as it was.
    Exceptions from the objective propagate (the trial is not logged and reruns on resume).
    One process only: for many workers on one log, see :func:`~.worker.run_worker`.
    ``sampler`` suggests the points (default: TPE on the whole ``space``, :class:`Sampler`).
    """
    if trials < 0:
        raise SearchError(f"the number of trials must be >= 0; got {trials}")
    batch = as_batch(objective)
    sampler = sampler or Sampler(to_hyperopt(space), n_startup_jobs)
    docs = log.read()
    sampler.check(docs, log)
    done = {doc["tid"] for doc in docs}
    initial = min(len(done), trials)
    with tqdm(total=trials, initial=initial, desc="trials", disable=not progress) as bar:
        bar.set_postfix_str(progress_note(docs))
        while len(done) < trials:
            tids = _next_tids(done, trials, batch.size)
            for doc in run_trials(batch, sampler, to_hyperopt_trials(docs), tids, seed):
                log.append_new(doc)
            docs = log.read()
            done = {doc["tid"] for doc in docs}
            bar.update(min(len(done), trials) - bar.n)
            bar.set_postfix_str(progress_note(docs))
    return docs
