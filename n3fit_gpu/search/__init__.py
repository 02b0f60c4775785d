"""Problem-agnostic hyperparameter scans of replica ensembles (hyperopt TPE, k-fold, trial log).

Nothing here knows about PDFs or Keras: a problem plugs in a ``train_fold(k) -> FoldResult``
callable and an objective ``point -> TrialResult``; the rest is numpy, hyperopt and tqdm.

Modules
-------
space
    Search-space dimensions (``Uniform``, ``LogUniform``, ``IntUniform``, ``Choice``) and their
    translation to a hyperopt space; decoding of hyperopt's stored ``vals`` into points.
statistics
    NNPDF's replica/fold statistics, per-replica chi2, the ensemble phi2, fold and trial losses.
kfold
    ``run_folds``: the trial objective over k-fold partitions, with threshold abort.
store
    ``TrialLog``: the append-only JSON-lines trial log (exactly-once ``append_new``),
    hyperopt trial documents.
claims
    ``Claims``: file claims on trials in progress, with leases, heartbeats and takeover.
driver
    ``suggest`` and ``run_scan``: the ask/tell TPE loop, deterministic on resume.
blocks
    ``BlockSampler``: per-block (divide-and-conquer) TPE, each block searched in proportion to
    its effect on the loss, the other blocks at the best trial.
worker
    ``run_worker``: one of any number of workers sharing a scan's log and claims.
local
    ``run_local_workers``: K worker processes on this machine, one progress bar.
cost
    ``CostMeter``, ``split_cost``, ``sum_costs``: wall, CPU and device seconds, replica-epochs and
    energy (RAPL, NVML) of trials.
jsonable
    Conversion of numpy values to plain JSON (non-finite floats become ``null``).
errors
    ``SearchError``, the user-facing error of this package.
"""

from n3fit_gpu.search.errors import SearchError

__all__ = ["SearchError"]
