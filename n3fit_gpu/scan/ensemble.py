"""``hyperscan ensemble``: one PDF set from the best trials (or replicas) of a scan.

Every finished trial saved its out-of-fold predictions (:mod:`n3fit_gpu.scan.predictions`):
each data point of a k-fold partition predicted by every replica of the fold that never saw
it. A member is one replica of one trial, ``(tid, replica)``; its predictions on the union of
the partitions' points are scored against the central data with the experimental covariance
(``full``, correlations across folds included, or ``folds``: block-diagonal per fold, as each
fold is scored during the scan). :func:`n3fit_gpu.search.selection.select_ensemble` picks
trials (or single replicas) greedily; the chosen (trial, replica) pairs are then refitted on
ALL the data, each exactly as that replica of that trial (its hyperparameters, its replica's
seeds), stacked in as few models as their runcards allow (:data:`n3fit_gpu.fit.SLOT_KEYS`),
and written as a fit. The scan folder gets::

    ensemble/selection.json   criterion and settings, skipped trials, the greedy path (members
                              added, χ²/N of the mean and of the replicas, φ², replicas, cost),
                              the chosen members, the Pareto fronts, and the set's replica
                              numbering (replica i of the set = member (tid, replica)); a
                              different selection from an earlier run is never replaced
                              without ``force`` (``--force``)
    ensemble/pareto.png       criterion against replicas and against inference cost
    ensemble/<name>/          the set in the fit's output format: nnfit/replica_1..M,
                              summary.json, lhapdf/<name>/, plots/, and members.json

Inference cost of a member: the weights of its network (dense layers, inputs x and log x), what
one evaluation of the replica costs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_write_json, json_text
from n3fit_gpu.config import load_runcard
from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.ensemble.backend import set_precision
from n3fit_gpu.errors import FitInterrupted, OutputError
from n3fit_gpu.fit import SLOT_KEYS, train_replicas, write_fit_outputs, write_replicas
from n3fit_gpu.outputs.fit_folder import FitPaths, pending_replicas
from n3fit_gpu.outputs.plots import new_figure, save_png
from n3fit_gpu.outputs.scan_report import log_scale_for, ok_trials
from n3fit_gpu.physics.fit_data import FitData, load_fit_data
from n3fit_gpu.physics.theory import Theory
from n3fit_gpu.physics.theory_source import load_card_theory
from n3fit_gpu.scan.folds import fold_masks
from n3fit_gpu.scan.layout import LOG_NAME, scan_runcard
from n3fit_gpu.scan.predictions import load_trial_predictions
from n3fit_gpu.scan.space import apply_point, check_scannable
from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.selection import (
    DEFAULT_CRITERION,
    DEFAULT_MAX_REPLICAS,
    Ensemble,
    Members,
    Selection,
    check_criterion,
    select_ensemble,
)
from n3fit_gpu.search.store import TrialLog

ENSEMBLE_NAME = "ensemble"
COVARIANCES = ("full", "folds")
NETWORK_INPUTS = 2  # x and log x (physics.pdf_model.StackedPDF)


@dataclass(frozen=True)
class EnsembleSettings:
    """What ``hyperscan ensemble`` selects and writes (see the module docstring)."""

    criterion: str = DEFAULT_CRITERION
    max_replicas: int | None = DEFAULT_MAX_REPLICAS
    replica_level: bool = False
    covariance: str = "full"
    refit: bool = True
    name: str | None = None  # the set's name; default <scan name>_ensemble
    resume: bool = False
    force: bool = False  # replace a different selection.json of an earlier run

    def __post_init__(self) -> None:
        check_criterion(self.criterion)
        if self.covariance not in COVARIANCES:
            raise SearchError(
                f"unknown covariance {self.covariance!r}; use one of {', '.join(COVARIANCES)}"
            )


@dataclass(frozen=True)
class ScanMembers:
    """The members of a scan: predictions on ``points`` (indices into the fit's data)."""

    members: Members
    points: np.ndarray  # (n,) int
    cards: dict[int, RunCard]  # trial runcards by tid
    skipped: dict[int, str]  # tid -> why it is no candidate


def network_weights(nodes_per_layer: Sequence[int]) -> int:
    """Weights and biases of one replica's dense network."""
    widths = [NETWORK_INPUTS, *nodes_per_layer]
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))


def load_members(
    root: Path, docs: Sequence[dict], card: RunCard, folds: Sequence[np.ndarray]
) -> ScanMembers:
    """Members of every successful trial whose predictions cover all folds; others skipped.

    Diverged replicas (non-finite predictions) are left out of their trial.
    """
    size = folds[0].size
    points = np.flatnonzero(np.any(folds, axis=0))
    ok = {d["tid"]: d for d in ok_trials(docs)}
    skipped = {d["tid"]: "failed" for d in docs if d["tid"] not in ok}
    tids, replicas, rows, cost, cards = [], [], [], [], {}
    for tid in sorted(ok):
        saved = load_trial_predictions(root, tid)
        if saved is None:
            skipped[tid] = "no saved predictions"
            continue
        full = np.full((saved.replicas.size, size), np.nan)
        covered = np.zeros(size, bool)
        for fold_points, predictions in saved.folds:
            if fold_points.size and fold_points.max() >= size:
                raise OutputError(
                    f"{root}: the predictions of trial {tid} do not match the scan's data "
                    f"({size} points); was the runcard or nnpdf-data changed?"
                )
            full[:, fold_points] = predictions
            covered[fold_points] = True
        if not covered[points].all():
            skipped[tid] = "folds missing (the trial stopped early)"
            continue
        finite = np.isfinite(full[:, points]).all(axis=1)
        if not finite.any():
            skipped[tid] = "every replica diverged"
            continue
        cards[tid] = apply_point(card, ok[tid]["params"])
        weights = network_weights(cards[tid].parameters.nodes_per_layer)
        tids += [tid] * int(finite.sum())
        replicas += saved.replicas[finite].tolist()
        rows.append(full[np.ix_(finite, points)])
        cost += [weights] * int(finite.sum())
    if not rows:
        raise OutputError(_no_members_message(root, skipped))
    members = Members.build(tids, replicas, np.concatenate(rows), cost)
    return ScanMembers(members, points, cards, dict(sorted(skipped.items())))


def _no_members_message(root: Path, skipped: dict[int, str]) -> str:
    if skipped and all(why == "no saved predictions" for why in skipped.values()):
        return (
            f"{root}: no trial saved out-of-fold predictions (trials/<tid>.npz); run the scan "
            "with this version to save out-of-fold predictions"
        )
    reasons = sorted(set(skipped.values()))
    return f"{root}: no trial can join an ensemble ({'; '.join(reasons) or 'no trials'})"


def scoring_data(
    data: FitData, folds: Sequence[np.ndarray], points: np.ndarray, covariance: str
) -> tuple[np.ndarray, np.ndarray]:
    """Central values ``(n,)`` and covariance ``(n, n)`` of the out-of-fold ``points``.

    ``covariance="folds"`` keeps only the blocks within each fold.
    """
    matrix = data.covariance.dense()[np.ix_(points, points)]
    if covariance == "folds":
        fold_of = np.argmax(np.stack(folds)[:, points], axis=0)
        matrix = np.where(fold_of[:, None] == fold_of[None, :], matrix, 0.0)
    return data.central[points], matrix


def _ensemble_json(ensemble: Ensemble, members: Members) -> dict:
    return {
        "replicas": ensemble.replicas,
        "cost": ensemble.cost,
        "chi2_mean": ensemble.scores.chi2_mean,
        "chi2_replicas": ensemble.scores.chi2_replicas,
        "phi2": ensemble.scores.phi2,
        "trials": sorted({int(members.tids[i]) for i in ensemble.rows}),
    }


def _front_json(front: Sequence[Ensemble], selection: Selection, members: Members) -> list:
    """Front entries, each named by its path step or as one unit (trial or member) alone."""
    entries = []
    for ensemble in front:
        if ensemble in selection.path:
            origin = {"path_step": selection.path.index(ensemble) + 1}
        else:
            origin = {"alone": members.pairs(ensemble.rows)}
        entries.append({**origin, **_ensemble_json(ensemble, members)})
    return entries


def selection_report(
    selection: Selection, scan: ScanMembers, settings: EnsembleSettings, name: str
) -> dict:
    """The content of ``selection.json``."""
    members = scan.members
    chosen = members.pairs(selection.chosen.rows)
    path, rows = [], 0
    for step, ensemble in enumerate(selection.path, 1):
        added = members.pairs(ensemble.rows[rows:])
        path.append({"step": step, "added": added, **_ensemble_json(ensemble, members)})
        rows = ensemble.replicas
    return {
        "criterion": settings.criterion,
        "replica_level": settings.replica_level,
        "max_replicas": settings.max_replicas,
        "covariance": settings.covariance,
        "points": int(scan.points.size),
        "candidates": {"trials": len(scan.cards), "members": int(members.tids.size)},
        "skipped": {str(tid): why for tid, why in scan.skipped.items()},
        "chosen": {**_ensemble_json(selection.chosen, members), "members": chosen},
        "path": path,
        "pareto_replicas": _front_json(selection.front_replicas, selection, members),
        "pareto_cost": _front_json(selection.front_cost, selection, members),
        "set": {"name": name, "members": _numbering(chosen)},
    }


def _numbering(pairs: Sequence[tuple[int, int]]) -> list[dict]:
    """Replica ``i`` of the set (1..M) is member ``pairs[i - 1]``."""
    return [
        {"replica": i, "tid": tid, "trial_replica": replica}
        for i, (tid, replica) in enumerate(pairs, 1)
    ]


def plot_pareto(path: Path, selection: Selection) -> Path:
    """The criterion of every candidate against replicas and cost: path, fronts, the rest."""
    from matplotlib.ticker import MaxNLocator

    figure = new_figure(10.0, 4.0)
    alone = "replica alone" if selection.replica_level else "trial alone"
    axes = figure.subplots(1, 2)
    panels = (
        ("replicas", selection.front_replicas, "replicas"),
        ("cost", selection.front_cost, "inference cost (network weights)"),
    )
    for ax, (size, front, label) in zip(axes, panels):
        for ensembles, style in (
            (selection.units, {"ls": "none", "marker": ".", "color": "grey", "label": alone}),
            (selection.path, {"marker": "o", "ms": 4, "color": "C0", "label": "greedy path"}),
            (
                front,
                {"ls": "--", "marker": "s", "mfc": "none", "color": "C3", "label": "Pareto front"},
            ),
        ):
            x = [getattr(e, size) for e in ensembles]
            ax.plot(x, [e.scores.criterion(selection.criterion) for e in ensembles], **style)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yscale(log_scale_for(np.array([u.scores.criterion(selection.criterion)
                                              for u in selection.units])))  # fmt: skip
        ax.set_xlabel(label)
        ax.set_ylabel(f"{selection.criterion} (out of fold, χ²/N)")
        ax.legend(fontsize=8)
    figure.suptitle("ensemble selection: quality against size", fontsize=10)
    return save_png(figure, path)


def _stack_key(card: RunCard) -> str:
    """Equal for runcards that can share one stacked model (equal outside SLOT_KEYS)."""
    dump = card.model_dump(mode="json")
    for key in SLOT_KEYS:
        *parents, leaf = key.split(".")
        node = dump
        for parent in parents:
            node = node.get(parent) or {}
        node.pop(leaf, None)
    return json.dumps(dump, sort_keys=True)


def stack_groups(slots: Sequence[tuple[int, RunCard, int]]) -> list[list[tuple]]:
    """``(number, card, replica)`` slots grouped by :func:`_stack_key`, in order of appearance."""
    groups: dict[str, list[tuple]] = {}
    for slot in slots:
        groups.setdefault(_stack_key(slot[1]), []).append(slot)
    return list(groups.values())


def refit(
    paths: FitPaths,
    card: RunCard,
    theory: Theory,
    scan: ScanMembers,
    pairs: Sequence[tuple[int, int]],
    resume: bool,
    show_progress: bool,
) -> Path:
    """Fit the chosen ``(tid, replica)`` pairs on all the data as the set's replicas 1..M."""
    numbering = _numbering(pairs)
    members_file = paths.root / "members.json"
    if resume and members_file.is_file() and json.loads(members_file.read_text()) != numbering:
        raise OutputError(
            f"{paths.root} holds a set of other members (the scan changed since?); remove it "
            "or give --name to write a new set"
        )
    numbers = [entry["replica"] for entry in numbering]
    todo = set(pending_replicas(paths, numbers, resume, elsewhere="--name"))
    atomic_write_json(members_file, numbering)
    start, replica_epochs = time.perf_counter(), 0
    slots = [(n, scan.cards[tid], r) for n, (tid, r) in zip(numbers, pairs) if n in todo]
    for group in stack_groups(slots):
        group_numbers, cards, replicas = zip(*group)
        data = load_fit_data(cards[0], theory, replicas)
        model, result = train_replicas(cards[0], theory, data, show_progress, cards)
        write_replicas(cards[0], theory, data, model, result, paths, group_numbers)
        replica_epochs += result.replica_epochs
        if result.interrupted:
            kept = sum(paths.done(n) for n in numbers)
            raise FitInterrupted(kept, len(numbers), int(result.finished.sum()))
    report = {"seconds": time.perf_counter() - start, "replica_epochs": replica_epochs}
    write_fit_outputs(card, theory, paths, numbers, report)
    return paths.root


def build_ensemble(
    root: Path,
    settings: EnsembleSettings = EnsembleSettings(),
    theory_path: Path | None = None,
    show_progress: bool = True,
) -> dict:
    """Select an ensemble from the scan in ``root`` and (``settings.refit``) fit it.

    Returns the content of ``selection.json`` (written to ``root/ensemble/``).
    """
    root = Path(root)
    runcard = scan_runcard(root)
    card = load_runcard(runcard)
    check_scannable(card, runcard)
    docs = TrialLog(root / LOG_NAME).read()
    if not docs:
        raise OutputError(f"{root}: no finished trials yet; run the scan first")
    set_precision(card.double_precision)
    theory = load_card_theory(card, theory_path)
    data = load_fit_data(card, theory, card.replica_indices)
    folds = fold_masks(card, data)
    scan = load_members(root, docs, card, folds)
    central, covariance = scoring_data(data, folds, scan.points, settings.covariance)
    selection = select_ensemble(
        scan.members,
        central,
        covariance,
        settings.criterion,
        settings.max_replicas,
        settings.replica_level,
    )
    name = settings.name or f"{root.name}_{ENSEMBLE_NAME}"
    report = selection_report(selection, scan, settings, name)
    folder = root / ENSEMBLE_NAME
    check_previous_selection(folder / "selection.json", report, settings.force)
    atomic_write_json(folder / "selection.json", report)
    plot_pareto(folder / "pareto.png", selection)
    if settings.refit:
        pairs = scan.members.pairs(selection.chosen.rows)
        refit(FitPaths(folder / name, name), card, theory, scan, pairs, settings.resume,
              show_progress)  # fmt: skip
    return report


def check_previous_selection(path: Path, report: dict, force: bool) -> None:
    """Refuse to replace ``path`` (an earlier run's ``selection.json``) by a different
    ``report`` unless ``force``; the same selection (e.g. ``--no-refit`` first, then the
    refit, or ``--resume``) is rewritten unchanged."""
    if force or not path.is_file():
        return
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = None
    if previous == json.loads(json_text(report)):
        return
    what = "an unreadable selection"
    if isinstance(previous, dict) and isinstance(previous.get("chosen"), dict):
        chosen = previous["chosen"]
        what = (f"another selection ({previous.get('criterion')}, {chosen.get('replicas')} "
                f"replicas of trials {chosen.get('trials')})")  # fmt: skip
    raise OutputError(
        f"{path} holds {what}, made by an earlier `hyperscan ensemble` with other options or "
        "a scan with fewer trials; --force replaces it (sets already fitted stay), or move it"
    )


def _number(value: float | None, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits; round-off below 1e-10 (a one-replica
    ensemble's φ², -1e-17) is 0, never ``-0``."""
    if value is None:
        return "-"
    if abs(value) < 1e-10:
        return "0"
    return f"{value:.{digits}g}"


def summary_text(report: dict) -> str:
    """The greedy path as a small table (one trial, or one tid/replica, added per step);
    χ²/N and φ² to 4 significant digits."""
    criterion = report["criterion"]
    lines = [f"{'step':>4}  {'added':<12} {'replicas':>8} {criterion:>13} {'phi2':>10}"]
    for step in report["path"]:
        tid, replica = step["added"][0]
        added = f"{tid}/{replica}" if report["replica_level"] else f"trial {tid}"
        lines.append(f"{step['step']:>4}  {added:<12} {step['replicas']:>8} "
                     f"{_number(step[criterion]):>13} {_number(step['phi2']):>10}")  # fmt: skip
    chosen = report["chosen"]
    lines.append(
        f"chosen: {chosen['replicas']} replicas of trials {chosen['trials']}; "
        f"{len(report['skipped'])} trials skipped (see selection.json)"
    )
    return "\n".join(lines)
