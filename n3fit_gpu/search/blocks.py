"""Per-block search: TPE on one block of the space at a time, the rest at the best trial.

A *block* is a set of top-level keys of a :data:`~.space.Space`, with every label nested under
them: a ``Choice`` travels with its options' sub-spaces (``optimizer`` brings
``optimizer.Adam.learning_rate``). The blocks partition the space's dimensions.

:class:`BlockSampler` (divide and conquer):

1. *Startup.* While the log holds fewer than ``n_startup_jobs`` trials, points are drawn
   jointly at random over the whole space, as TPE's own startup does.
2. *Importance.* From the successful startup trials (ids below ``n_startup_jobs``), a label's
   effect is the share of the variance of the loss *ranks* explained by grouping the trials
   by the label's value (by option for a choice, in up to 5 quantile bins for a number), less
   the share that grouping pure noise explains (epsilon-squared,
   ``(SS_between - (G - 1) MS_within) / SS_total``, about 0 for a label without effect),
   times the fraction of those trials where the label is active (nested labels). A block's
   importance is the sum over its labels, clipped at 0. Ranks make it blind to the loss's
   scale and to outliers (a trial stopped at the k-fold threshold). Later trials are left
   out: they vary one block with the others at the best trial, so their losses do not compare
   across blocks.
3. *Block choice.* Each later trial searches one block, drawn with probability
   ``min_share + (1 - n_blocks * min_share) * importance / total`` (uniform while no block
   shows an effect) by a generator seeded with ``(seed, tid)``.
4. *Search and recombination.* TPE suggests the block's labels from the history restricted to
   them, one entry per distinct configuration of the block with the lowest loss reached with
   it (trials of other blocks repeat the best trial's values, and those copies would collapse
   TPE's kernels onto them); every other label takes the value of the best successful trial
   so far.

Failed trials (status not ``ok`` or no loss) count for neither the best trial nor the
importance; TPE sees them as infinite losses, as in a plain scan.

Determinism and the record of blocks: as for :class:`~.driver.Sampler`, the point of trial
``tid`` depends only on the finished trials, the seed and ``tid``. Trial documents hold no
block field (the driver writes them); :meth:`BlockSampler.block_of` derives the block again
from the trials finished when ``tid`` was suggested: in a one-process scan of one trial per
call, the log's trials with smaller ids (with batches of K, those before the batch).

Cost per suggestion: TPE on one block's distinct configurations, plus O(trials) to restrict
the history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from hyperopt import Trials

from n3fit_gpu.search.driver import Sampler, best_trial
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.jsonable import to_json
from n3fit_gpu.search.space import Space, point_from_vals, to_hyperopt
from n3fit_gpu.search.store import TrialLog, to_hyperopt_trials

_BINS = 5  # quantile bins of a numeric label, >= 3 trials each (3+ bins see a U-shaped effect)
_BLOCK_STREAM = 1  # the block draw's generator is seeded with (seed, tid, 1): apart from TPE's


def _ok_loss(doc: Mapping) -> float | None:
    loss = doc["result"].get("loss")
    ok = doc["result"].get("status") == "ok" and loss is not None and math.isfinite(loss)
    return float(loss) if ok else None


def _ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2)[inverse]


def label_effect(values: Sequence[float], scores: Sequence[float], categorical: bool) -> float:
    """Epsilon-squared of ``scores`` grouped by ``values`` (one entry per trial).

    Groups are the distinct values if ``categorical``, else up to 5 quantile bins of at least
    3 trials. 0 where fewer than two groups can be formed or the scores do not vary.
    """
    n = len(values)
    if n < 2:
        return 0.0
    if categorical:
        groups = np.unique(values, return_inverse=True)[1]
    else:
        groups = np.empty(n, dtype=int)
        groups[np.argsort(values, kind="stable")] = np.arange(n) * min(_BINS, n // 3) // n
    n_groups = int(groups.max()) + 1
    y = np.asarray(scores, dtype=float)
    total = float(((y - y.mean()) ** 2).sum())
    if n_groups < 2 or n <= n_groups or total <= 0:
        return 0.0
    counts, sums = np.bincount(groups), np.bincount(groups, weights=y)
    between = float((sums**2 / counts).sum() - n * y.mean() ** 2)
    within = (total - between) / (n - n_groups)
    return (between - (n_groups - 1) * within) / total


def block_shares(importance: Mapping[str, float], min_share: float) -> dict[str, float]:
    """Each block's probability of being searched: ``min_share`` plus its share of the rest."""
    total = sum(importance.values())
    rest = 1 - len(importance) * min_share
    return {
        name: min_share + rest * (value / total if total > 0 else 1 / len(importance))
        for name, value in importance.items()
    }


def _restricted(docs: Sequence[Mapping], labels: frozenset[str]) -> Trials:
    """``docs`` on ``labels`` only: one per distinct configuration, the lowest loss kept."""
    kept: dict[tuple, tuple[float, dict]] = {}
    for doc in docs:
        vals = {label: list(doc["misc"]["vals"].get(label, [])) for label in sorted(labels)}
        key = tuple(tuple(values) for values in vals.values())
        loss = doc["result"].get("loss")
        loss = math.inf if loss is None else loss
        if key not in kept or loss < kept[key][0]:
            idxs = {label: [doc["tid"]] if values else [] for label, values in vals.items()}
            kept[key] = (loss, {**doc, "misc": {**doc["misc"], "vals": vals, "idxs": idxs}})
    return to_hyperopt_trials([doc for _, doc in kept.values()])


def _check_blocks(space: Space, blocks: Mapping[str, Sequence[str]], labels: set[str]) -> None:
    if not blocks:
        raise SearchError("give at least one block (name -> keys of the search space)")
    owner: dict[str, str] = {}
    for name, keys in blocks.items():
        for key in keys:
            if key not in space:
                raise SearchError(
                    f"block {name!r}: {key!r} is not a key of the search space "
                    f"(keys: {', '.join(space)})"
                )
            if key in owner:
                raise SearchError(f"{key!r} is in blocks {owner[key]!r} and {name!r}; keep one")
            owner[key] = name
    missing = sorted({label.split(".")[0] for label in labels} - set(owner))
    if missing:
        raise SearchError(f"{', '.join(missing)}: in no block; add each to one block")


class BlockSampler:
    """Divide-and-conquer TPE over ``blocks`` (name -> top-level keys of ``space``).

    Same interface as :class:`~.driver.Sampler` (``suggest``, ``check``); the algorithm is in
    the module docstring. ``n_startup_jobs`` joint random trials come first; afterwards each
    block is searched with probability at least ``min_share`` (at most ``1 / len(blocks)``).
    """

    def __init__(
        self,
        space: Space,
        blocks: Mapping[str, Sequence[str]],
        n_startup_jobs: int = 20,
        min_share: float = 0.1,
    ):
        if n_startup_jobs < 1:
            raise SearchError(f"block search needs n_startup_jobs >= 1; got {n_startup_jobs}")
        self.joint = Sampler(to_hyperopt(space), n_startup_jobs)
        _check_blocks(space, blocks, self.joint.labels)
        if not 0 <= min_share <= 1 / len(blocks):
            raise SearchError(
                f"min_share must be in [0, 1/{len(blocks)}] for {len(blocks)} blocks; "
                f"got {min_share}"
            )
        self.n_startup_jobs, self.min_share = n_startup_jobs, min_share
        self.samplers = {  # the restricted history is never short of startup trials: TPE at once
            name: Sampler(to_hyperopt({key: space[key] for key in keys}), n_startup_jobs=1)
            for name, keys in blocks.items()
        }
        self.block_labels = {name: frozenset(s.labels) for name, s in self.samplers.items()}
        empty = [name for name, labels in self.block_labels.items() if not labels]
        if empty:
            raise SearchError(f"block {empty[0]!r} has no dimension to search; drop it")
        self.labels = list(self.joint.domain.params)  # in hyperopt's order (sets vary per run)
        self.categorical = {
            label for label, param in self.joint.domain.params.items() if param.name == "randint"
        }

    def importance(self, docs: Sequence[Mapping]) -> dict[str, float]:
        """Each block's effect on the loss, from the successful startup trials in ``docs``."""
        startup = [d for d in docs if d["tid"] < self.n_startup_jobs and _ok_loss(d) is not None]
        ranks = _ranks([_ok_loss(d) for d in startup])
        effects = {}
        for label in self.labels:
            active = [i for i, d in enumerate(startup) if d["misc"]["vals"].get(label)]
            values = [startup[i]["misc"]["vals"][label][0] for i in active]
            effect = label_effect(values, ranks[active], label in self.categorical)
            effects[label] = effect * len(active) / max(len(startup), 1)
        return {  # summed in a fixed order: the same float sums in every process
            name: max(sum(effects[label] for label in self.labels if label in labels), 0.0)
            for name, labels in self.block_labels.items()
        }

    def block_of(self, docs: Sequence[Mapping], tid: int, seed: int) -> str | None:
        """The block trial ``tid`` searches given the finished ``docs``; ``None``: a joint draw.

        ``docs``: trial documents (of the log, or a ``hyperopt.Trials``'s ``trials``).
        """
        if len(docs) < self.n_startup_jobs or best_trial(list(docs)) is None:
            return None
        shares = block_shares(self.importance(docs), self.min_share)
        draw = np.random.default_rng([seed, tid, _BLOCK_STREAM]).random()
        cumulative = np.cumsum(list(shares.values()))
        index = min(int(np.searchsorted(cumulative, draw, side="right")), len(shares) - 1)
        return list(shares)[index]

    def suggest(self, trials: Trials, tid: int, seed: int) -> tuple[dict, dict]:
        """The point for trial ``tid`` given the finished ``trials`` (as ``Sampler.suggest``)."""
        docs = trials.trials
        block = self.block_of(docs, tid, seed)
        if block is None:
            return self.joint.suggest(trials, tid, seed)
        history = _restricted(docs, self.block_labels[block])
        searched, _ = self.samplers[block].suggest(history, tid, seed)
        best = best_trial(docs)["misc"]["vals"]
        vals = to_json({label: searched.get(label, best[label]) for label in self.labels})
        return vals, point_from_vals(self.joint.hp_space, vals)

    def check(self, docs: list[dict], log: TrialLog) -> None:
        """Refuse ``docs`` from ``log`` that were run with another search space."""
        self.joint.check(docs, log)
