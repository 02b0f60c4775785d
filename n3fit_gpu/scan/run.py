"""``hyperscan``: runcard → search space → TPE trials, each a k-fold of stacked-ensemble fits.

Imports keras (through the fit): choose the backend first. The scan's folder is described in
:mod:`n3fit_gpu.scan.layout`. Running the same command again resumes: finished trials are
read back into TPE's history and never rerun; a trial that was running when the scan died is
rerun from scratch (its suggestion depends only on the seed and its trial number, so it is
the same). As one of many workers (``worker=``, ``hyperscan --worker``) the process shares
the scan with the others through its log and claims; see :mod:`n3fit_gpu.search.worker`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.ensemble.backend import set_precision
from n3fit_gpu.physics.fit_data import load_fit_data
from n3fit_gpu.physics.theory_source import load_card_theory
from n3fit_gpu.scan.folds import ScanProblem, fold_masks, train_folds
from n3fit_gpu.scan.layout import CLAIMS_NAME, FOLDS_NAME, LOG_NAME, prepare_scan_folder
from n3fit_gpu.scan.predictions import save_trial_predictions
from n3fit_gpu.scan.space import apply_point, check_scannable, scan_sampler, scan_space
from n3fit_gpu.search.driver import TrialBatch, run_scan
from n3fit_gpu.search.fold_store import FoldStore, remembering, trial_key
from n3fit_gpu.search.halving import HalvingSettings, Rungs, recorded_rungs
from n3fit_gpu.search.kfold import KFoldSettings, TrialResult, run_folds_together
from n3fit_gpu.search.store import TrialLog
from n3fit_gpu.search.worker import WorkerSettings, run_worker


def kfold_settings(card: RunCard) -> KFoldSettings:
    """The statistics and threshold of ``card.kfold``."""
    k = card.kfold
    return KFoldSettings(
        loss_type=k.loss_type,
        replica_statistic=k.replica_statistic,
        fold_statistic=k.fold_statistic,
        threshold=k.threshold,
        penalties_in_loss=k.penalties_in_loss,
        reduce_proportion=k.reduce_proportion,
    )


def halving_settings(card: RunCard) -> HalvingSettings | None:
    """``hyperscan_config.early_termination`` (None: every trial trains in full)."""
    block = card.hyperscan_config.early_termination if card.hyperscan_config else None
    if block is None:
        return None
    return HalvingSettings(block.min_epochs, block.eta, block.bootstrap, block.statistic)


def _trainer_of(cards: list[RunCard], problem: ScanProblem, rungs):
    """``(fold, alive) -> fold results``: the still-running trials of ``cards`` stacked; with
    ``rungs`` (:class:`Rungs`), early termination in fold 0."""

    def train(fold: int, alive: list[int]):
        hook = None
        if rungs is not None and fold == 0:

            def hook(epoch, step, trials, values):
                if not rungs.is_rung(epoch, step):
                    return None
                return rungs.decide(epoch, [alive[t] for t in trials], values)

        return train_folds([cards[i] for i in alive], problem, fold, hook)

    return train


def make_objective(
    card: RunCard, problem: ScanProblem, root: Path, show_progress: bool, trials_per_model: int = 1
) -> TrialBatch:
    """The k-fold fits of up to ``trials_per_model`` trials at a time, stacked in one model
    per fold (whatever their widths, depths, activations and optimizers: slot keys, see
    :func:`n3fit_gpu.fit.make_trainer`). With ``early_termination``, fold 0 stops trials at
    rungs (:mod:`n3fit_gpu.search.halving`), judged against the rungs the log recorded and the
    batch's other trials. Each trial's out-of-fold predictions are saved
    (:mod:`n3fit_gpu.scan.predictions`) before it is logged.
    """
    settings = kfold_settings(card)
    halving = halving_settings(card)
    n_folds = len(problem.folds)
    log = TrialLog(root / LOG_NAME)

    store = FoldStore(root / FOLDS_NAME)

    def run(trials: list[tuple[int, dict]]) -> list[TrialResult]:
        cards = [apply_point(card, point) for _, point in trials]
        keys = [trial_key(tid, point) for tid, point in trials]
        rungs = None
        if halving is not None:
            statistic = halving.statistic or settings.replica_statistic
            rungs = Rungs(halving, statistic, recorded_rungs(log.read()), len(trials))
        with tqdm(total=n_folds, desc="folds", leave=False, disable=not show_progress) as bar:

            def on_fold(fold: int, losses: list[float]) -> None:
                bar.update(1)
                bar.set_postfix_str(
                    f"fold {fold + 1} losses {', '.join(f'{x:.3g}' for x in losses)}"
                )

            def rung_record(fold: int, i: int):  # rungs are decided in fold 0 only
                return rungs.record(i) if rungs is not None and fold == 0 else None

            train, restored = remembering(
                _trainer_of(cards, problem, rungs), store, keys, rung_record
            )
            results = run_folds_together(train, len(cards), n_folds, settings, on_fold)
        if rungs is not None:
            results = [
                replace(r, early_termination=restored[i] if i in restored else rungs.record(i))
                for i, r in enumerate(results)
            ]
        for (tid, _), result, key in zip(trials, results, keys, strict=True):
            folds = [(f.arrays["points"], f.arrays["predictions"]) for f in result.folds]
            save_trial_predictions(root, tid, problem.data.replicas, folds)
            store.drop(key)
        return results

    return TrialBatch(run, trials_per_model)


def run_hyperscan(
    card: RunCard,
    runcard_path: Path,
    output: Path,
    trials: int,
    seed: int,
    show_progress: bool = True,
    theory_path: Path | None = None,
    worker: WorkerSettings | None = None,
    trials_per_model: int = 1,
) -> Path:
    """Run (or resume) a scan of ``trials`` trials; returns the scan folder.

    ``trials_per_model``: how many trials are suggested together and trained stacked (see
    :func:`make_objective`).

    With ``worker`` this process joins the scan as one of any number of workers (see
    :mod:`n3fit_gpu.search.worker`) and returns once the scan has ``trials`` trials.
    """
    check_scannable(card, Path(runcard_path))
    set_precision(card.double_precision)
    root = prepare_scan_folder(Path(runcard_path), Path(output), seed)
    log = TrialLog(root / LOG_NAME)
    log.read()
    if all(tid in log.finished for tid in range(trials)):
        return root  # nothing left to run: no need to load data (late array tasks)
    theory = load_card_theory(card, theory_path)
    data = load_fit_data(card, theory, card.replica_indices)
    problem = ScanProblem(theory, data, fold_masks(card, data), card.kfold.penalties)
    objective = make_objective(card, problem, root, show_progress, trials_per_model)
    space, sampler = scan_space(card), scan_sampler(card)
    if worker is None:
        run_scan(space, objective, log, trials, seed, progress=show_progress, sampler=sampler)
    else:
        claims = root / CLAIMS_NAME
        run_worker(space, objective, log, claims, trials, seed, worker, show_progress,
                   sampler=sampler)  # fmt: skip
    return root
