"""``fit``: runcard → data & theory → stacked PDF model → training → per-replica outputs.

Imports keras: call :func:`n3fit_gpu.ensemble.backend.select_backend` before importing this.
Per-replica results are written as soon as training ends, each file atomically, and the
ensemble files (summary, LHAPDF set, plots) are then rebuilt from every replica on disk, so
an interrupted fit keeps its finished replicas and ``resume`` completes it. During training
the state of the replicas still training can be checkpointed (:mod:`n3fit_gpu.fit_checkpoint`):
periodically, and on SIGTERM or SIGUSR1 (then the fit stops); ``resume`` goes on from there.

Stacked trials: :func:`make_trainer` can build one model whose replicas ("slots") carry
different hyperparameters, one runcard per slot (``slot_cards``). A slot is a (trial, replica)
pair: its card is the trial's, its replica index the replica's, and it uses that replica's
seeds (network, preprocessing, pseudodata, training mask), so slot (k, r) starts from the same
weights and fits the same pseudodata as replica r of trial k fitted alone, and trains exactly
as it would alone. Only the :data:`SLOT_KEYS` may differ between slots; widths are padded,
shallower networks given pass-through layers, activations and optimizers chosen per slot
(:mod:`n3fit_gpu.ensemble.layers`, :class:`~n3fit_gpu.ensemble.optimizers.MixedOptimizer`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from contextlib import ExitStack
from pathlib import Path

import keras
import numpy as np
import yaml
from keras import ops
from tqdm.auto import tqdm

from n3fit_gpu.atomic import atomic_savez, atomic_write_json, atomic_write_text
from n3fit_gpu.ensemble.backend import set_precision
from n3fit_gpu.ensemble.engine import EnsembleTrainer, Progress, TrainingResult, TrainingSettings
from n3fit_gpu.ensemble.layers import one_or_all, stack_architectures
from n3fit_gpu.ensemble.optimizers import make_optimizer
from n3fit_gpu.ensemble.snapshot import TrainingSnapshot
from n3fit_gpu.errors import FitCheckpointed, FitInterrupted, OutputError, TrainingError
from n3fit_gpu.fit_checkpoint import FitCheckpoint
from n3fit_gpu.outputs.ensemble_report import lhapdf_info, write_ensemble_outputs
from n3fit_gpu.outputs.exportgrid import EXPORT_XGRID, evolution_to_flavour, write_exportgrid
from n3fit_gpu.outputs.fit_folder import (
    FitPaths,
    claim_fit_folder,
    differences,
    fit_identity,
)
from n3fit_gpu.outputs.lhapdf import write_evolven3fit_layout
from n3fit_gpu.outputs.replica_json import (
    ReplicaFitInfo,
    arc_length,
    code_versions,
    write_replica_json,
)
from n3fit_gpu.physics.fit_data import FitData, fit_tensors, load_fit_data, positivity_observables
from n3fit_gpu.physics.losses import PDFLoss, PenaltySchedule
from n3fit_gpu.physics.observables.predict import predict_stacked
from n3fit_gpu.physics.pdf_model import StackedPDF, evaluate
from n3fit_gpu.physics.postfit import INTEGRABILITY_X, integrability_numbers
from n3fit_gpu.physics.preprocessing import FlavourPreprocessing
from n3fit_gpu.physics.theory import EvolutionOperator, Theory, summary_line
from n3fit_gpu.physics.theory_source import load_card_theory

ARC_LENGTH_FLAVOURS = ("sigma", "g", "v", "v3", "v8")  # as NNPDF reports them
FILTER_FILE = "filter.yml"
CHI2EXPS_FILE = "chi2exps.log"  # n3fit's per-replica training log, which NNPDF's postfit needs
PDF_Q0_FILE = "pdf_q0.npz"  # ours: x·f on the theory x grid, for evolution after a resume


def replica_seeds(base: int, replicas: Sequence[int]) -> list[int]:
    """Per-replica seeds derived from ``(base, replica)``: independent of the ensemble size."""
    return [int(np.random.SeedSequence([base, r]).generate_state(1)[0]) for r in replicas]


# Runcard keys that may differ between the slots of one stacked model (stacked trials)
SLOT_KEYS = (
    "parameters.nodes_per_layer",
    "parameters.activation_per_layer",
    "parameters.initializer",
    "parameters.epochs",
    "parameters.stopping_patience",
    "parameters.optimizer.optimizer_name",
    "parameters.optimizer.learning_rate",
    "parameters.optimizer.clipnorm",
    "parameters.positivity.initial",
    "parameters.positivity.multiplier",
    "parameters.integrability.initial",
    "parameters.integrability.multiplier",
)


def check_slot_cards(card, slot_cards: Sequence, replicas: int) -> None:
    """Raise ``ValueError`` unless ``slot_cards`` has one card per replica, each equal to
    ``card`` outside :data:`SLOT_KEYS` (same data, theory, seeds, optimizer, activations...)."""
    if len(slot_cards) != replicas:
        raise ValueError(f"{len(slot_cards)} slot cards for {replicas} replicas (one per slot)")
    reference = card.model_dump()
    for i, slot_card in enumerate(slot_cards):
        for key, ours, theirs in differences(reference, slot_card.model_dump()):
            if key not in SLOT_KEYS:
                raise ValueError(
                    f"slot {i} has {key} = {theirs!r} where the fit has {ours!r}; stacked slots "
                    f"may differ only in {', '.join(k.split('.', 1)[1] for k in SLOT_KEYS)}"
                )


def build_model(
    card, theory: Theory, replicas: Sequence[int], slot_cards: Sequence | None = None, **options
) -> StackedPDF:
    """The stacked PDF model for the given replicas, built (weights initialised).

    ``slot_cards`` (one per replica, see :func:`make_trainer`) give each replica its own
    ``nodes_per_layer`` and ``initializer``. ``options`` go to :class:`StackedPDF` (e.g.
    ``layer_class``).
    """
    cards = [card] * len(replicas) if slot_cards is None else list(slot_cards)
    nodes, activations = stack_architectures(
        [c.parameters.nodes_per_layer for c in cards],
        [c.parameters.activation_per_layer for c in cards],
    )
    basis = [
        FlavourPreprocessing(f.fl, tuple(f.smallx), tuple(f.largex), f.trainable)
        for f in card.fitting.basis
    ]
    model = StackedPDF(
        seeds=replica_seeds(card.nnseed, replicas),
        nodes=nodes,
        activations=activations,
        initializer=one_or_all(c.parameters.initializer for c in cards),
        basis=basis,
        fk_basis=theory.basis,
        sum_rules=card.fitting.sum_rules,
        dtype=keras.config.floatx(),
        **options,
    )
    model.build((len(theory.xgrid),))
    return model


def _schedule(cards: Sequence, kind: str) -> PenaltySchedule:
    settings = [getattr(c.parameters, kind) for c in cards]
    return PenaltySchedule(
        one_or_all(s.initial for s in settings),
        one_or_all(s.multiplier for s in settings),
        one_or_all(c.parameters.epochs for c in cards),
    )


def _optimizer(cards: Sequence, dtype: str):
    """The per-replica optimizer; a slot without clipnorm among clipped ones clips at inf."""
    opt = [c.parameters.optimizer for c in cards]
    lr = ops.convert_to_tensor(np.array([o.learning_rate for o in opt]), dtype=dtype)
    clip = None
    if any(o.clipnorm is not None for o in opt):
        norms = [np.inf if o.clipnorm is None else o.clipnorm for o in opt]
        clip = ops.convert_to_tensor(np.array(norms), dtype=dtype)
    return make_optimizer(one_or_all(o.optimizer_name for o in opt), lr, clip)


def make_trainer(
    card, theory: Theory, data: FitData, slot_cards: Sequence | None = None, **model_options
) -> tuple[StackedPDF, EnsembleTrainer]:
    """The stacked model and its trainer for the replicas of ``data`` (nothing trained yet).

    Parameters
    ----------
    card:
        The runcard: data, theory, seeds and every setting the slots share.
    theory, data:
        As loaded for ``card``; ``data.replicas`` names each slot's replica (it may repeat:
        ``[1, 2, 1, 2]`` for two trials of replicas 1 and 2).
    slot_cards:
        Stacked trials: one runcard per slot (e.g. ``[card_a, card_a, card_b, card_b]``), each
        equal to ``card`` except in :data:`SLOT_KEYS` (checked, ``ValueError`` otherwise).
        Slot ``i`` trains with ``slot_cards[i]``'s hyperparameters and the seeds of replica
        ``data.replicas[i]``: exactly as that replica of that card fitted alone. ``None``: every
        replica uses ``card``.
    model_options:
        Passed to :class:`StackedPDF` (e.g. ``layer_class``).
    """
    cards = [card] * len(data.replicas) if slot_cards is None else list(slot_cards)
    if slot_cards is not None:
        check_slot_cards(card, cards, len(data.replicas))
    p = card.parameters
    floatx = keras.config.floatx()
    model = build_model(card, theory, data.replicas, cards, **model_options)
    loss = PDFLoss(
        fit_tensors(card, theory, data),
        positivity=_schedule(cards, "positivity"),
        integrability=_schedule(cards, "integrability"),
        pos_threshold=p.positivity.threshold,
        threshold_chi2=p.threshold_chi2,
        dtype=floatx,
    )
    epochs = one_or_all(c.parameters.epochs for c in cards)
    settings = TrainingSettings(
        epochs=epochs,
        patience=one_or_all(
            max(1, int(c.parameters.stopping_patience * c.parameters.epochs)) for c in cards
        ),
        optimizer=_optimizer(cards, floatx),
        epochs_per_call=min(100, int(np.max(epochs))),
    )
    xgrid = ops.convert_to_tensor(theory.xgrid, dtype=floatx)
    trainer = EnsembleTrainer(model, xgrid, loss, settings, constants=loss.constants)
    return model, trainer


def train_replicas(
    card,
    theory: Theory,
    data: FitData,
    show_progress: bool = True,
    slot_cards: Sequence | None = None,
    **snapshots,
):
    """Train the replicas of ``data`` stacked (``slot_cards``: see :func:`make_trainer`);
    returns (model, TrainingResult). ``snapshots``: the ``snapshot``, ``snapshot_every`` and
    ``resume_from`` arguments of :meth:`~n3fit_gpu.ensemble.engine.EnsembleTrainer.train`."""
    model, trainer = make_trainer(card, theory, data, slot_cards)
    epochs = max(c.parameters.epochs for c in slot_cards or [card])
    with tqdm(total=epochs, unit="epoch", disable=not show_progress, desc="fit") as bar:

        def report(progress: Progress) -> None:
            bar.update(progress.epoch - bar.n)
            bar.set_postfix_str(
                f"best χ²vl/N {progress.best_validation:.3f} | training {progress.active} "
                f"stopped {progress.stopped} failed {progress.diverged}"
            )

        result = trainer.train(report, keep_on_interrupt=True, **snapshots)
    return model, result


def _replica_status(result: TrainingResult, i: int, pos_pass: bool, threshold: float) -> str:
    status = result.status[i]
    if status != "ok":
        return f"failed:{status}"
    if result.best_validation[i] >= threshold:
        return "failed:chi2_threshold"
    return "ok" if pos_pass else "failed:positivity"


def write_replicas(
    card,
    theory: Theory,
    data: FitData,
    model: StackedPDF,
    result: TrainingResult,
    paths: FitPaths,
    numbers: Sequence[int] | None = None,
    skip: Collection[int] = (),
) -> None:
    """exportgrid, json and x·f at Q0 for every finished replica (each file atomic).

    After an interrupted training only ``result.finished`` replicas are written: the json,
    written last, marks a replica done, so ``--resume`` refits the others. ``numbers`` give
    each slot's replica number in the output (default ``data.replicas``; an ensemble across
    trials numbers its slots 1..M). Replicas in ``skip`` (already written) are left alone.
    """
    xf_export = evaluate(model, EXPORT_XGRID)  # (R, 196, 9)
    xf_theory = evaluate(model, theory.xgrid)  # (R, nx, 9)
    # the operator's input grid; none for a theory without an evolution (said once, at the end)
    evolution = theory.evolution() if theory.no_evolution is None else None
    xf_evolution = evaluate(model, evolution.xgrid_in) if evolution else xf_theory  # (R, nx_ev, 9)
    flavour = evolution_to_flavour(np.swapaxes(xf_export, 1, 2), theory.basis)  # (R, 14, 196)
    alpha = ops.convert_to_numpy(model.preprocessing.alpha)
    beta = ops.convert_to_numpy(model.preprocessing.beta)
    pos_ok = _positivity_pass(
        *positivity_observables(card, theory), xf_theory, card.parameters.positivity.threshold
    )
    integ = integrability_numbers(evaluate(model, INTEGRABILITY_X), theory.basis)
    seeds = replica_seeds(card.nnseed, data.replicas)
    arc_rows = [theory.basis.index(label) for label in ARC_LENGTH_FLAVOURS]
    seconds = result.seconds
    versions = code_versions(keras.backend.backend())
    numbers = list(data.replicas if numbers is None else numbers)
    fresh = np.array([bool(done) and r not in skip for done, r in zip(result.finished, numbers)])
    if evolution is not None:
        _write_evolved_replicas(theory, evolution, paths, xf_evolution, xf_export, numbers, fresh)
    for i, replica in enumerate(numbers):
        if not fresh[i]:
            continue
        folder = paths.replica_dir(replica)
        write_exportgrid(folder / f"{paths.name}.exportgrid", flavour[i].T, theory.q0**2, replica)
        atomic_savez(
            folder / PDF_Q0_FILE,
            xf=xf_theory[i].T,
            xf_evolution=xf_evolution[i].T,
            xf_export=xf_export[i].T,
            history_epochs=result.history.epochs,
            history_training=result.history.training[:, i],
            history_validation=result.history.validation[:, i],
        )
        info = ReplicaFitInfo(
            preprocessing=[
                {
                    "fl": f.fl,
                    "smallx": float(alpha[i, j]),
                    "largex": float(beta[i, j]),
                    "trainable": f.trainable,
                }
                for j, f in enumerate(card.fitting.basis)
            ],
            stop_epoch=int(result.stop_epoch[i]),
            best_epoch=int(result.best_epoch[i]),
            erf_tr=float(result.history.training[-1, i]),
            erf_vl=float(result.best_validation[i]),
            chi2=float(_replica_chi2(data, theory, xf_theory[i], i) / data.central.size),
            pos_state="POS_PASS" if pos_ok[i] else "POS_VETO",
            arc_lengths=arc_length(EXPORT_XGRID, xf_export[i].T[arc_rows]),
            integrability=[float(v) for v in integ[i]],
            timing={"walltime": {"training": seconds, "per_replica": seconds / len(data.replicas)}},
            version=versions,
            status=_replica_status(result, i, bool(pos_ok[i]), card.parameters.threshold_chi2),
            replica=int(replica),
            seed=int(seeds[i]),
        )
        _write_chi2exps(folder / CHI2EXPS_FILE, result.history, i)
        write_replica_json(paths.replica_json(replica), info)


def _write_evolved_replicas(
    theory: Theory,
    evolution: EvolutionOperator,
    paths: FitPaths,
    xf_evolution: np.ndarray,
    xf_export: np.ndarray,
    numbers: list[int],
    finished: np.ndarray,
) -> None:
    """``nnfit/`` as NNPDF's evolven3fit leaves it (``<name>.info``, ``replica_N/<name>.dat``),
    so that NNPDF's own ``postfit`` runs on the fit folder. ``xf_evolution``: ``(R, nx_ev,
    nbasis)`` on ``evolution.xgrid_in``; ``xf_export``: ``(R, 196, nbasis)``, written at Q0."""
    grids = evolution.apply(np.swapaxes(xf_evolution, 1, 2), _at_knots(evolution, xf_export))
    replicas = {r: grids[i] for i, r in enumerate(numbers) if finished[i]}
    if replicas:
        write_evolven3fit_layout(
            paths.root / "nnfit",
            paths.name,
            evolution.xgrid_out,
            evolution.q2_subgrids,
            evolution.pids,
            replicas,
            lhapdf_info(theory, evolution),
        )


def _at_knots(evolution: EvolutionOperator, xf_export: np.ndarray) -> np.ndarray | None:
    """The exportgrid's x·f ``(R, nbasis, 196)`` where it is the LHAPDF x grid, else None."""
    same = np.array_equal(evolution.xgrid_out, EXPORT_XGRID)
    return np.swapaxes(xf_export, 1, 2) if same else None


def _write_chi2exps(path: Path, history, i: int) -> None:
    """n3fit's ``chi2exps.log``: training and validation loss at each logged epoch."""
    log = {
        str(int(epoch)): {
            "training_loss": float(history.training[k, i]),
            "validation_loss": float(history.validation[k, i]),
        }
        for k, epoch in enumerate(history.epochs)
    }
    atomic_write_json(path, log)


def _replica_chi2(data: FitData, theory: Theory, xf: np.ndarray, i: int) -> float:
    """Experimental χ² of replica ``i``'s predictions against the (central) data."""
    from n3fit_gpu.physics.covariance import chi2

    pred = predict_stacked(data.observables, xf[None])[0]  # xf: (nx, nbasis)
    return float(chi2(pred - data.central, data.covariance))


def _positivity_pass(
    observables, maxlambda: np.ndarray, group: np.ndarray, xf: np.ndarray, threshold: float
) -> np.ndarray:
    """Per replica: every positivity observable's Σ elu(−pred) below ``threshold``."""
    if not observables:
        return np.ones(xf.shape[0], bool)
    pred = predict_stacked(observables, xf)
    penalty = np.where(pred < 0, -pred, 1e-7 * (np.exp(-np.maximum(pred, 0)) - 1))
    per_obs = np.stack([penalty[:, group == g].sum(axis=1) for g in range(len(observables))], 1)
    return (per_obs < threshold).all(axis=1)


def prepare_output(
    card,
    runcard_path: Path,
    output: Path,
    replicas: Sequence[int],
    resume: bool,
    theory: str,
    stack: ExitStack,
) -> tuple[FitPaths, list[int]]:
    """Claim ``<output>/<name>/`` for these replicas until ``stack`` closes (see
    :mod:`~n3fit_gpu.outputs.fit_folder`), copy the runcard, return the replicas still to fit."""
    name = runcard_path.stem
    paths = FitPaths(Path(output) / name, name)
    todo = claim_fit_folder(paths, fit_identity(card, theory), replicas, resume, stack)
    atomic_write_text(paths.root / runcard_path.name, runcard_path.read_text())
    atomic_write_text(paths.root / FILTER_FILE, filter_yaml(card))
    return paths, todo


def filter_yaml(card) -> str:
    """NNPDF's ``filter.yml`` (read by validphys and evolven3fit as the fit's runcard): the
    runcard as validated, command-line overrides (``--seed``) and defaults included."""
    settings = card.model_dump(mode="json", exclude={"hyperscan_config", "kfold"})
    header = "# the runcard of this fit as n3fit_gpu ran it (NNPDF's filter.yml)\n"
    return header + yaml.safe_dump(settings, sort_keys=False, width=100)


def run_fit(
    card,
    runcard_path: Path,
    output: Path,
    replicas: Sequence[int] | None = None,
    resume: bool = False,
    show_progress: bool = True,
    theory_path: Path | None = None,
    announce: Callable[[str], None] = print,
    checkpoint_minutes: float = 0.0,
) -> Path:
    """Run a whole fit; returns the fit's output folder.

    ``announce`` receives one line naming the theory (order, scheme, Q0...) as the fit starts.

    On Ctrl-C during training the replicas already finished are written, then
    :class:`~n3fit_gpu.errors.FitInterrupted` (a ``KeyboardInterrupt``) is raised; the
    ensemble files are left to the ``resume`` that completes the fit.

    ``checkpoint_minutes`` > 0: the training state is saved that often
    (:class:`~n3fit_gpu.fit_checkpoint.FitCheckpoint`), and on SIGTERM or SIGUSR1 it is saved,
    the finished replicas written and :class:`~n3fit_gpu.errors.FitCheckpointed` raised.
    ``resume`` goes on from a checkpoint (a fit without ``resume`` refuses a folder holding
    one); it is deleted once its replicas are written.

    ``theory_path`` replaces the runcard's ``theory.theoryid`` by a theory directory built
    with ``scripts/build_theory.py``.
    """
    set_precision(card.double_precision)
    replicas = list(replicas or card.replica_indices)
    with ExitStack() as stack:
        theory_used = str(Path(theory_path).resolve()) if theory_path else card.theory.theoryid
        paths, todo = prepare_output(
            card, Path(runcard_path), Path(output), replicas, resume, str(theory_used), stack
        )
        store = FitCheckpoint.of_block(paths.root, replicas, card, theory_path)
        if store.exists() and not resume:
            raise OutputError(
                f"{store.path} holds the checkpoint of an unfinished training; use --resume to "
                "go on from it, or --output to write elsewhere"
            )
        options = {"show_progress": show_progress, "announce": announce}
        return _fit_claimed(
            card, paths, todo, replicas, theory_path, store, checkpoint_minutes, **options
        )


def _fit_claimed(
    card,
    paths: FitPaths,
    todo: list[int],
    replicas: list[int],
    theory_path: Path | None,
    store: FitCheckpoint,
    checkpoint_minutes: float,
    show_progress: bool,
    announce: Callable[[str], None],
) -> Path:
    """:func:`run_fit` once the output folder is claimed."""
    start = time.perf_counter()
    theory = load_card_theory(card, theory_path)
    announce(summary_line(theory.description))
    if todo:
        options = {"show_progress": show_progress, "announce": announce}
        result = _train_block(card, theory, paths, todo, store, checkpoint_minutes, **options)
        if result.interrupted:
            kept = sum(paths.done(r) for r in replicas)
            new = sum(paths.done(r) for r in todo)
            raise FitInterrupted(kept, len(replicas), new)
        report = {"seconds": time.perf_counter() - start, "replica_epochs": result.replica_epochs}
    else:
        store.delete()  # left by a fit stopped after writing its last replica
        report = {"seconds": 0.0, "replica_epochs": 0}
    complete = set(replicas) >= set(card.replica_indices)  # not one block of a batch array
    write_fit_outputs(card, theory, paths, replicas, report, require_selection=complete)
    if theory.no_evolution is not None:
        announce(f"no LHAPDF set written (exportgrids are): {theory.no_evolution}")
    return paths.root


def _train_block(
    card,
    theory: Theory,
    paths: FitPaths,
    todo: list[int],
    store: FitCheckpoint,
    checkpoint_minutes: float,
    show_progress: bool,
    announce: Callable[[str], None],
) -> TrainingResult:
    """Train the ``todo`` replicas (from ``store``'s checkpoint if there is one: it may train
    replicas written since, which are not written again) and write the finished ones.

    The checkpoint is saved as ``checkpoint_minutes`` asks, deleted once training is complete;
    :class:`~n3fit_gpu.errors.FitCheckpointed` after a stop on a signal."""
    resume_from: TrainingSnapshot | None = None
    block = todo
    if store.exists():
        resume_from, block = store.load(todo)
        announce(f"resuming replicas {block[0]}-{block[-1]} at epoch {resume_from.epoch}")
    data = load_fit_data(card, theory, block)
    snapshots = {"resume_from": resume_from}
    if checkpoint_minutes > 0:
        snapshots.update(
            snapshot=lambda snapshot: store.save(snapshot, block),
            snapshot_every=60 * checkpoint_minutes,
        )
    model, result = train_replicas(card, theory, data, show_progress, **snapshots)
    if all(s == "diverged" for s in result.status):
        store.delete()
        raise TrainingError(
            "every replica diverged (NaN/Inf loss); lower parameters.optimizer.learning_rate "
            "or set a clipnorm"
        )
    written = set(block) - set(todo)
    write_replicas(card, theory, data, model, result, paths, skip=written)
    if result.signal:
        raise FitCheckpointed(result.epochs_run, result.signal)
    if not result.interrupted:
        store.delete()
    return result


def write_fit_outputs(
    card,
    theory: Theory,
    paths: FitPaths,
    replicas: Sequence[int],
    report: dict,
    require_selection: bool = True,
) -> None:
    """The ensemble files of a fit (summary, LHAPDF set of the replicas postfit selects,
    plots). ``require_selection``: :class:`TrainingError` (one line, after writing them) when
    postfit selects none — for a whole fit, not for one block of replicas of a batch array,
    whose collect step judges the whole."""
    summary = write_ensemble_outputs(card, theory, paths, replicas, report)
    if require_selection and not summary["postfit"]["selected"]:
        vetoed = summary["postfit"]["vetoed"]
        reasons = "; ".join(f"{r}: {', '.join(v)}" for r, v in list(vetoed.items())[:5])
        raise TrainingError(
            f"no replica passed postfit ({reasons}{'; …' if len(vetoed) > 5 else ''}); every "
            f"replica is kept in {paths.root / 'nnfit'} and summary.json says why: train longer "
            "(parameters.epochs) or relax parameters.threshold_chi2"
        )
