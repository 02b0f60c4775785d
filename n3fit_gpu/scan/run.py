"""``hyperscan``: runcard → search space → TPE trials, each a k-fold of stacked-ensemble fits.

Imports keras (through the fit): choose the backend first. The scan's folder is described in
:mod:`n3fit_gpu.scan.layout`. Running the same command again resumes: finished trials are
read back into TPE's history and never rerun; a trial that was running when the scan died is
rerun from scratch (its suggestion depends only on the seed and its trial number, so it is
the same). As one of many workers (``worker=``, ``hyperscan --worker``) the process shares
the scan with the others through its log and claims; see :mod:`n3fit_gpu.search.worker`.
"""

from __future__ import annotations

from pathlib import Path

from tqdm.auto import tqdm

from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.ensemble.backend import set_precision
from n3fit_gpu.physics.fit_data import load_fit_data
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.scan.folds import ScanProblem, fold_masks, model_group, train_folds
from n3fit_gpu.scan.layout import CLAIMS_NAME, LOG_NAME, prepare_scan_folder
from n3fit_gpu.scan.predictions import save_trial_predictions
from n3fit_gpu.scan.space import apply_point, check_scannable, scan_space
from n3fit_gpu.search.driver import TrialBatch, run_scan
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
    )


def _groups(cards: list[RunCard]) -> list[list[int]]:
    """Indices of the cards that can share one model, groups in order of first appearance."""
    groups: dict[tuple, list[int]] = {}
    for i, card in enumerate(cards):
        groups.setdefault(model_group(card), []).append(i)
    return list(groups.values())


def _trainer_of(cards: list[RunCard], problem: ScanProblem):
    """``(fold, alive) -> fold results``: the still-running trials of ``cards``, stacked."""
    return lambda fold, alive: train_folds([cards[i] for i in alive], problem, fold)


def make_objective(
    card: RunCard, problem: ScanProblem, root: Path, show_progress: bool, trials_per_model: int = 1
) -> TrialBatch:
    """The k-fold fits of up to ``trials_per_model`` trials at a time.

    Trials that can share a model (:func:`~n3fit_gpu.scan.folds.model_group`) are trained
    stacked, one model per fold; the others in models of their own. Each trial's
    out-of-fold predictions are saved (:mod:`n3fit_gpu.scan.predictions`) before it is logged.
    """
    settings = kfold_settings(card)
    n_folds = len(problem.folds)

    def run(trials: list[tuple[int, dict]]) -> list[TrialResult]:
        cards = [apply_point(card, point) for _, point in trials]
        groups = _groups(cards)
        results: dict[int, TrialResult] = {}
        total = n_folds * len(groups)
        with tqdm(total=total, desc="folds", leave=False, disable=not show_progress) as bar:

            def on_fold(fold: int, losses: list[float]) -> None:
                bar.update(1)
                bar.set_postfix_str(
                    f"fold {fold + 1} losses {', '.join(f'{x:.3g}' for x in losses)}"
                )

            for members in groups:
                group = [cards[i] for i in members]
                train = _trainer_of(group, problem)
                outcome = run_folds_together(train, len(group), n_folds, settings, on_fold)
                results.update(zip(members, outcome, strict=True))
        for i, (tid, _) in enumerate(trials):
            folds = [(f.arrays["points"], f.arrays["predictions"]) for f in results[i].folds]
            save_trial_predictions(root, tid, problem.data.replicas, folds)
        return [results[i] for i in range(len(trials))]

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
    theory = load_theory(path=theory_path) if theory_path else load_theory(card.theory.theoryid)
    data = load_fit_data(card, theory, card.replica_indices)
    problem = ScanProblem(theory, data, fold_masks(card, data), card.kfold.penalties)
    objective = make_objective(card, problem, root, show_progress, trials_per_model)
    if worker is None:
        run_scan(scan_space(card), objective, log, trials, seed, progress=show_progress)
    else:
        claims = root / CLAIMS_NAME
        run_worker(scan_space(card), objective, log, claims, trials, seed, worker, show_progress)
    return root
