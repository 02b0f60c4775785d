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
from n3fit_gpu.scan.folds import ScanProblem, fold_masks, train_fold
from n3fit_gpu.scan.layout import CLAIMS_NAME, LOG_NAME, prepare_scan_folder
from n3fit_gpu.scan.space import apply_point, check_scannable, scan_space
from n3fit_gpu.search.driver import run_scan
from n3fit_gpu.search.kfold import KFoldSettings, TrialResult, run_folds
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


def make_objective(card: RunCard, problem: ScanProblem, show_progress: bool):
    """``point -> TrialResult``: the k-fold fits of one trial."""
    settings = kfold_settings(card)

    def objective(point: dict) -> TrialResult:
        trial_card = apply_point(card, point)
        folds = len(problem.folds)
        with tqdm(total=folds, desc="folds", leave=False, disable=not show_progress) as bar:

            def on_fold(fold: int, loss: float) -> None:
                bar.update(1)
                bar.set_postfix_str(f"fold {fold + 1} loss {loss:.3g}")

            return run_folds(
                lambda fold: train_fold(trial_card, problem, fold), folds, settings, on_fold
            )

    return objective


def run_hyperscan(
    card: RunCard,
    runcard_path: Path,
    output: Path,
    trials: int,
    seed: int,
    show_progress: bool = True,
    theory_path: Path | None = None,
    worker: WorkerSettings | None = None,
) -> Path:
    """Run (or resume) a scan of ``trials`` trials; returns the scan folder.

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
    objective = make_objective(card, problem, show_progress)
    if worker is None:
        run_scan(scan_space(card), objective, log, trials, seed, progress=show_progress)
    else:
        claims = root / CLAIMS_NAME
        run_worker(scan_space(card), objective, log, claims, trials, seed, worker, show_progress)
    return root
