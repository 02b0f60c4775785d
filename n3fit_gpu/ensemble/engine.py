"""The multi-replica training loop: R independent models trained in one stacked Keras model.

One epoch is one full-batch gradient step (NNPDF's definition). ``epochs_per_call`` epochs
run inside one compiled call (:func:`n3fit_gpu.ensemble.backend.compile_loop`); stopping
bookkeeping is done on device at EVERY epoch, so stop epochs do not depend on the call size.
Python runs once per call, only to read progress.

Replica independence: every quantity that could couple replicas is a per-replica vector:

- the objective is ``sum_r where(active_r, objective_r, 0)``: its gradient w.r.t. replica
  ``r``'s weights is replica ``r``'s own gradient;
- clipping, optimizer state and learning rates are per replica (:mod:`.optimizers`);
- stopping: replica ``r`` keeps the weights of its best *acceptable* epoch (lowest
  validation loss among epochs the problem marks acceptable, e.g. positivity satisfied),
  counts ``stall_r`` acceptable epochs without improvement and stops after ``patience_r``;
  a stopped replica is frozen (weights and optimizer state no longer change);
- ``epochs`` and ``patience`` may be per-replica vectors, so one stacked model can hold
  several *trials* (slots with different hyperparameters): the loop runs until the largest
  ``epochs``, and replica ``r`` is active only while ``epoch < epochs_r``. Scalars keep the
  scalar comparisons (no per-replica tensor is built);
- a replica whose objective or gradient is NaN/Inf is flagged ``diverged`` and frozen at
  once; because nothing reduces over the replica axis, the others go on unchanged
  (bit-identically under XLA; PyTorch's eager CPU kernels round alike only to within
  MKL's run-to-run reproducibility).

Pruning (early termination of a scan trial): an optional ``checkpoint`` hook sees a
:class:`Checkpoint` after every compiled call and may return a ``(replica,)`` mask of active
replicas to stop now. They are frozen like a replica stopped by patience (``stop_epoch`` = the
epochs done, best weights restored) and flagged ``pruned``; the others are untouched, so they
train bit-identically to a run without the hook. Decisions happen only at call boundaries: a
decision epoch (a rung) should be a multiple of ``epochs_per_call``, otherwise it is in effect
rounded up to the next one.

The validation loss of epoch ``t`` is computed in the same forward pass as the gradient of
epoch ``t``, i.e. with the weights *before* update ``t``; those are the weights kept as best.

Interruption: with ``keep_on_interrupt=True``, a ``KeyboardInterrupt`` (Ctrl-C) between or
during compiled calls ends :meth:`EnsembleTrainer.train` early; it returns the state after the
last *completed* call with ``interrupted=True``. Replicas that had already stopped or diverged
are final (``finished``) and their best weights restored as usual; the others are not, and
the caller decides what to do with them (the fit writes only finished replicas, then
re-raises). By default the interrupt propagates, so no caller mistakes a cut-short training
for a complete one.

Snapshots (surviving preemption): with a ``snapshot`` hook, :meth:`EnsembleTrainer.train`
hands it a :class:`~n3fit_gpu.ensemble.snapshot.TrainingSnapshot` at the first call boundary
``snapshot_every`` seconds after the last one, and installs handlers for SIGTERM and SIGUSR1
that only set a flag: at the next boundary it saves a snapshot and stops, returning with
``interrupted=True`` and ``signal`` naming the signal. Both signals stop (SIGUSR1 is SLURM's
warning before the time limit: a job that saves and exits can be requeued). ``resume_from``
restores a snapshot; training then goes on exactly as if it had never stopped (bit-identical
weights, stop epochs and history on the same backend and machine).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import keras
import numpy as np
from keras import ops

from n3fit_gpu.ensemble import backend
from n3fit_gpu.ensemble.optimizers import ReplicaOptimizer
from n3fit_gpu.ensemble.snapshot import TrainingSnapshot, stop_signals, tree_leaves, tree_rebuild


class Losses(NamedTuple):
    """Per-replica losses returned by a problem's loss function, each of shape ``(replica,)``."""

    objective: Any  # what is minimised (training loss + penalties)
    validation: Any  # stopping metric
    acceptable: Any  # bool: may this epoch's weights become the replica's best?
    training: Any  # training loss without penalties, for reports


class _State(NamedTuple):
    epoch: Any
    params: tuple
    opt_state: tuple
    best_params: tuple
    best_validation: Any
    best_epoch: Any
    stall: Any
    active: Any
    diverged: Any
    stop_epoch: Any
    last: Losses


@dataclass(frozen=True)
class TrainingSettings:
    """How long and how to train.

    Parameters
    ----------
    epochs:
        Maximum number of epochs (gradient steps): one int, or one per replica ``(replica,)``.
    patience:
        Acceptable epochs without improvement of the validation loss before a replica stops:
        one int, or one per replica ``(replica,)``.
    optimizer:
        A per-replica optimizer (carries learning rates and clip norms).
    epochs_per_call:
        Epochs run inside one compiled call; also the spacing of the recorded history.
    jit_compile:
        Compile with XLA (TensorFlow only; JAX always does, torch never).
    """

    epochs: int | Sequence[int]
    patience: int | Sequence[int]
    optimizer: ReplicaOptimizer
    epochs_per_call: int = 100
    jit_compile: bool = True

    def __post_init__(self):
        for name in ("epochs", "patience"):
            value = getattr(self, name)
            if np.ndim(value) > 1:
                raise ValueError(f"{name} must be an int or a (replica,) vector; got {value}")
            if np.ndim(value) == 1:
                object.__setattr__(self, name, tuple(int(v) for v in value))
            if np.any(np.asarray(value) < 1):
                raise ValueError(f"{name} must be >= 1; got {value}")

    @property
    def max_epochs(self) -> int:
        """The epochs the loop runs: the largest of the replicas' ``epochs``."""
        return int(np.max(self.epochs))

    def per_replica_epochs(self, replicas: int) -> np.ndarray:
        """``epochs`` as a ``(replica,)`` int array."""
        return np.broadcast_to(np.asarray(self.epochs, dtype=int), (replicas,)).copy()


@dataclass(frozen=True)
class Progress:
    """A snapshot after each compiled call, for progress bars."""

    epoch: int
    epochs: int
    active: int
    stopped: int
    diverged: int
    best_validation: float


@dataclass(frozen=True)
class Checkpoint:
    """What a ``checkpoint`` hook sees after each compiled call; arrays are ``(replica,)``.

    ``best_validation`` is each replica's lowest validation loss over its acceptable epochs
    (inf if none yet), ``validation`` the loss of the last epoch run; a replica that is no
    longer ``active`` (stopped, diverged, pruned or past its ``epochs``) keeps its values.
    """

    epoch: int
    best_validation: np.ndarray
    validation: np.ndarray
    active: np.ndarray
    diverged: np.ndarray


CheckpointHook = Callable[[Checkpoint], Sequence[bool] | np.ndarray | None]
SnapshotHook = Callable[[TrainingSnapshot], None]


@dataclass(frozen=True)
class TrainingHistory:
    """Losses recorded at the last epoch of every compiled call: ``(T,)`` and ``(T, replica)``."""

    epochs: np.ndarray
    training: np.ndarray
    validation: np.ndarray


@dataclass(frozen=True)
class TrainingResult:
    """Outcome per replica; ``weights`` are the best (restored) weights, each ``(replica, ...)``.

    ``finished`` (``(replica,)`` bool) marks replicas whose training is over (stopped, diverged,
    pruned, reached ``epochs`` or started frozen); it is all true unless ``interrupted``.
    ``pruned`` (``(replica,)`` bool) marks replicas stopped by the ``checkpoint`` hook.
    ``signal`` names the signal (``"SIGTERM"``, ``"SIGUSR1"``) that stopped the training after
    a snapshot, if one did (then ``interrupted`` too).
    """

    weights: list[np.ndarray]
    best_epoch: np.ndarray  # -1 where no epoch was acceptable
    stop_epoch: np.ndarray
    best_validation: np.ndarray
    diverged: np.ndarray
    history: TrainingHistory
    seconds: float
    epochs_run: int = field(default=0)
    finished: np.ndarray | None = None
    interrupted: bool = False
    pruned: np.ndarray | None = None
    signal: str | None = None

    def __post_init__(self):
        if self.finished is None:
            object.__setattr__(self, "finished", np.ones(len(self.stop_epoch), bool))
        if self.pruned is None:
            object.__setattr__(self, "pruned", np.zeros(len(self.stop_epoch), bool))

    @property
    def status(self) -> list[str]:
        """``ok``, ``diverged``, ``pruned`` or ``no_acceptable_epoch`` per replica, first match."""
        return [
            "diverged" if d else "pruned" if p else "no_acceptable_epoch" if b < 0 else "ok"
            for d, p, b in zip(self.diverged, self.pruned, self.best_epoch, strict=True)
        ]

    @property
    def replica_epochs(self) -> int:
        """Epochs actually trained, summed over replicas."""
        return int(np.sum(self.stop_epoch))


def _replica_mask(vector, like):
    return ops.reshape(vector, (-1,) + (1,) * (len(like.shape) - 1))


def _select(mask, new, old):
    return ops.where(_replica_mask(mask, new), new, old)


def _all_finite(tensor):
    axes = tuple(range(1, len(tensor.shape)))
    finite = ops.isfinite(tensor)
    return ops.all(finite, axis=axes) if axes else finite


class EnsembleTrainer:
    """Train the stacked ``model`` on ``loss_fn(outputs, epoch) -> Losses``.

    Parameters
    ----------
    model:
        A built Keras layer/model whose trainable variables all have a leading replica axis.
    inputs:
        The (constant) model input.
    loss_fn:
        Maps the model output and the epoch (a scalar tensor) to per-replica :class:`Losses`.
    settings:
        :class:`TrainingSettings`.
    constants:
        Optional nested dicts/lists of the tensors ``loss_fn`` reads (data, masks...); it is
        then called as ``loss_fn(outputs, epoch, constants)``. They are arguments of the
        compiled call instead of being copied into the compiled program (no second copy of
        large arrays), and those with a leading replica axis are split across devices with
        the replicas (:func:`~n3fit_gpu.ensemble.backend.replica_placement`).
    """

    def __init__(
        self,
        model: keras.layers.Layer,
        inputs: Any,
        loss_fn: Callable[..., Losses],
        settings: TrainingSettings,
        constants: Any = None,
    ):
        self.model = model
        self.inputs = inputs
        self.loss_fn = loss_fn
        self.settings = settings
        self.replicas = int(model.trainable_variables[0].shape[0])
        self._place = backend.replica_placement(self.replicas)
        self.constants = None if constants is None else self._place(constants)
        for var in model.trainable_variables:
            if int(var.shape[0]) != self.replicas:
                raise ValueError(
                    f"variable {var.path} has no leading replica axis of {self.replicas}"
                )
        self._epochs = self._replica_limit("epochs", settings.epochs)
        self._patience = self._replica_limit("patience", settings.patience)
        self._non_trainable = [v.value for v in model.non_trainable_variables]
        self._constraints = [v.constraint for v in model.trainable_variables]
        self._value_and_grad = backend.value_and_grad(self._objective)
        self._compiled: Callable | None = None

    def _replica_limit(self, name: str, value: int | tuple[int, ...]):
        """A scalar limit as is; a per-replica one as an int32 ``(replica,)`` tensor."""
        if isinstance(value, tuple):
            if len(value) != self.replicas:
                raise ValueError(
                    f"settings.{name} has {len(value)} entries for {self.replicas} replicas"
                )
            return ops.convert_to_tensor(np.asarray(value), dtype="int32")
        return value

    # -- one epoch ---------------------------------------------------------------------------
    def _objective(self, params, epoch, active, constants):
        outputs, _ = self.model.stateless_call(list(params), self._non_trainable, self.inputs)
        if constants is None:
            losses = self.loss_fn(outputs, epoch)
        else:
            losses = self.loss_fn(outputs, epoch, constants)
        masked = ops.where(active, losses.objective, ops.zeros_like(losses.objective))
        return ops.sum(masked), losses

    def _step(self, s: _State, constants) -> _State:
        (_, losses), grads = self._value_and_grad(list(s.params), s.epoch, s.active, constants)
        finite = ops.isfinite(losses.objective)
        for g in grads:
            finite = ops.logical_and(finite, _all_finite(g))
        running = ops.logical_and(s.active, s.epoch < self._epochs)
        newly_diverged = ops.logical_and(running, ops.logical_not(finite))
        diverged = ops.logical_or(s.diverged, newly_diverged)
        active = ops.logical_and(running, ops.logical_not(diverged))

        improved = ops.logical_and(
            ops.logical_and(active, ops.cast(losses.acceptable, "bool")),
            losses.validation < s.best_validation,
        )
        best_params = tuple(_select(improved, p, b) for p, b in zip(s.params, s.best_params))
        best_validation = ops.where(improved, losses.validation, s.best_validation)
        best_epoch = ops.where(improved, s.epoch, s.best_epoch)
        counted = ops.logical_and(active, ops.cast(losses.acceptable, "bool"))
        stall = ops.where(improved, 0, ops.where(counted, s.stall + 1, s.stall))

        safe_grads = [_select(active, g, ops.zeros_like(g)) for g in grads]
        new_params, new_opt = self.settings.optimizer.apply(
            safe_grads, s.params, s.opt_state, s.epoch
        )
        params = []
        for p_new, p_old, constraint in zip(new_params, s.params, self._constraints):
            if constraint is not None:
                p_new = constraint(p_new)
            params.append(_select(active, p_new, p_old))
        slots = tuple(
            tuple(_select(active, n, o) for n, o in zip(new_v, old_v))
            for new_v, old_v in zip(new_opt[0], s.opt_state[0])
        )
        stop_now = ops.logical_and(active, stall >= self._patience)
        return _State(
            epoch=s.epoch + 1,
            params=tuple(params),
            opt_state=(slots, new_opt[1]),
            best_params=best_params,
            best_validation=best_validation,
            best_epoch=best_epoch,
            stall=stall,
            active=ops.logical_and(
                ops.logical_and(active, ops.logical_not(stop_now)),
                s.epoch + 1 < self._epochs,
            ),
            diverged=diverged,
            stop_epoch=ops.where(
                ops.logical_or(stop_now, newly_diverged), s.epoch + 1, s.stop_epoch
            ),
            last=Losses(
                objective=ops.convert_to_tensor(losses.objective),
                validation=ops.convert_to_tensor(losses.validation),
                acceptable=ops.cast(losses.acceptable, "bool"),
                training=ops.convert_to_tensor(losses.training),
            ),
        )

    def _run(self) -> Callable:
        if self._compiled is None:
            self._compiled = backend.compile_loop(
                self._step, self.settings.epochs_per_call, self.settings.jit_compile
            )
        return self._compiled

    # -- driver ------------------------------------------------------------------------------
    def _initial_state(self, active: Sequence[bool] | None) -> _State:
        params = tuple(
            ops.copy(v.value) for v in self.model.trainable_variables
        )  # tensors, not variables
        r = self.replicas
        dtype = params[0].dtype
        inf = ops.full((r,), np.inf, dtype=dtype)
        zeros_f = ops.zeros((r,), dtype=dtype)
        start_active = np.ones(r, bool) if active is None else np.asarray(active, bool)
        return _State(
            epoch=ops.convert_to_tensor(0, dtype="int32"),
            params=params,
            opt_state=self.settings.optimizer.init_state(params),
            best_params=params,
            best_validation=inf,
            best_epoch=ops.full((r,), -1, dtype="int32"),
            stall=ops.zeros((r,), dtype="int32"),
            active=ops.convert_to_tensor(start_active),
            diverged=ops.zeros((r,), dtype="bool"),
            stop_epoch=ops.zeros((r,), dtype="int32"),
            last=Losses(zeros_f, zeros_f, ops.zeros((r,), dtype="bool"), zeros_f),
        )

    def _progress(self, state: _State, done: int) -> Progress:
        still = ops.convert_to_numpy(state.active)
        best = ops.convert_to_numpy(state.best_validation)
        diverged = ops.convert_to_numpy(state.diverged)
        return Progress(
            epoch=done,
            epochs=self.settings.max_epochs,
            active=int(still.sum()),
            stopped=int((~still & ~diverged).sum()),
            diverged=int(diverged.sum()),
            best_validation=float(np.min(best)) if np.isfinite(best).any() else np.inf,
        )

    def _checkpoint(
        self, state: _State, done: int, hook: CheckpointHook
    ) -> tuple[_State, np.ndarray]:
        """Ask ``hook`` which active replicas to stop now; return the state with those frozen.

        Returns the new state and the ``(replica,)`` mask of replicas stopped by this call.
        """
        active = ops.convert_to_numpy(state.active)
        view = Checkpoint(
            epoch=done,
            best_validation=ops.convert_to_numpy(state.best_validation),
            validation=ops.convert_to_numpy(state.last.validation),
            active=active.copy(),
            diverged=ops.convert_to_numpy(state.diverged),
        )
        answer = hook(view)
        if answer is None:
            return state, np.zeros(self.replicas, bool)
        answer = np.asarray(answer, dtype=bool)
        if answer.shape != (self.replicas,):
            raise ValueError(
                f"checkpoint must return None or a ({self.replicas},) bool mask; "
                f"got shape {answer.shape}"
            )
        prune = answer & active
        if not prune.any():
            return state, prune
        stop_epoch = np.where(prune, done, ops.convert_to_numpy(state.stop_epoch))
        frozen = state._replace(
            active=ops.convert_to_tensor(active & ~prune),
            stop_epoch=ops.convert_to_tensor(stop_epoch.astype(np.int32), dtype="int32"),
        )
        return frozen, prune

    def train(
        self,
        progress: Callable[[Progress], None] | None = None,
        active: Sequence[bool] | None = None,
        keep_on_interrupt: bool = False,
        checkpoint: CheckpointHook | None = None,
        snapshot: SnapshotHook | None = None,
        snapshot_every: float = math.inf,
        resume_from: TrainingSnapshot | None = None,
    ) -> TrainingResult:
        """Train until every replica stopped or reached its ``epochs``; restore best weights.

        Parameters
        ----------
        progress:
            Called with a :class:`Progress` after every compiled call.
        active:
            Optional ``(replica,)`` bool: replicas to start frozen are false (ignored when
            resuming: the snapshot holds the mask).
        keep_on_interrupt:
            On a ``KeyboardInterrupt`` (also one raised by a hook), return the state
            after the last completed call with ``interrupted=True`` and the replicas finished
            by then in ``finished``, instead of letting the interrupt propagate.
        checkpoint:
            Called with a :class:`Checkpoint` after every compiled call, before ``progress``;
            returns None or a ``(replica,)`` bool mask of replicas to stop now (``pruned``).
            Only active replicas are stopped; the mask is ignored for the others. Decisions
            fall on multiples of ``epochs_per_call`` (and on the last epoch).
        snapshot:
            Receives a :class:`~n3fit_gpu.ensemble.snapshot.TrainingSnapshot` after a call
            (after ``checkpoint`` and ``progress``) once ``snapshot_every`` seconds have passed
            since the start or the last snapshot, and when SIGTERM or SIGUSR1 arrived (then
            training stops: ``interrupted=True``, ``signal`` set). Not called once every
            replica has finished. Signals are caught only with a hook, in the main thread.
        snapshot_every:
            Seconds between snapshots (0: after every call; inf: on signals only).
        resume_from:
            A snapshot of this trainer's training (same model, replicas and settings) to go
            on from; ``ValueError`` if it does not fit.
        """
        if resume_from is None:
            state, done = self._initial_state(active), 0
            history, pruned, trained = ([], [], []), np.zeros(self.replicas, bool), 0.0
        else:
            state, done, history, pruned, trained = self._restore(resume_from)
        start = time.perf_counter() - trained  # seconds count across resumes
        last_saved, interrupted, stopped_by = time.monotonic(), False, None
        max_epochs = self.settings.max_epochs
        with stop_signals(enabled=snapshot is not None) as signals:
            try:
                while done < max_epochs:
                    new_state = self._run()(self._place(state), self.constants)
                    new_done = min(done + self.settings.epochs_per_call, max_epochs)
                    record = (
                        ops.convert_to_numpy(new_state.last.training),
                        ops.convert_to_numpy(new_state.last.validation),
                    )
                    state, done = new_state, new_done  # only a completed call counts
                    for kept, value in zip(history, (done, *record)):
                        kept.append(value)
                    if checkpoint is not None:
                        state, newly = self._checkpoint(state, done, checkpoint)
                        pruned |= newly
                    if progress is not None:
                        progress(self._progress(state, done))
                    if not ops.convert_to_numpy(state.active).any():
                        break
                    due = time.monotonic() - last_saved >= snapshot_every
                    if snapshot is not None and (due or signals.received):
                        seconds = time.perf_counter() - start
                        snapshot(self._snapshot(state, done, history, pruned, seconds))
                        last_saved = time.monotonic()
                        if signals.received:
                            interrupted, stopped_by = True, signals.received
                            break
            except KeyboardInterrupt:
                if not keep_on_interrupt:
                    raise
                interrupted = True
        result = self._result(state, done, history, start, interrupted, pruned)
        return dataclasses.replace(result, signal=stopped_by) if stopped_by else result

    def _snapshot(
        self, state: _State, done: int, history: tuple, pruned: np.ndarray, seconds: float
    ) -> TrainingSnapshot:
        """The training at call boundary ``done``, copied to numpy."""
        epochs, tr_hist, vl_hist = history
        r = self.replicas
        return TrainingSnapshot(
            epoch=done,
            state=tuple(np.array(ops.convert_to_numpy(leaf)) for leaf in tree_leaves(state)),
            history_epochs=np.asarray(epochs, dtype=int),
            history_training=np.asarray(tr_hist).reshape(len(tr_hist), r),
            history_validation=np.asarray(vl_hist).reshape(len(vl_hist), r),
            pruned=pruned.copy(),
            seconds=seconds,
            epochs_per_call=self.settings.epochs_per_call,
            max_epochs=self.settings.max_epochs,
        )

    def _restore(self, snap: TrainingSnapshot) -> tuple[_State, int, tuple, np.ndarray, float]:
        """The state and bookkeeping of ``snap``; ``ValueError`` unless it fits this trainer."""
        ours = (self.settings.epochs_per_call, self.settings.max_epochs)
        if (snap.epochs_per_call, snap.max_epochs) != ours:
            raise ValueError(
                f"snapshot of a training with (epochs_per_call, max epochs) = "
                f"{(snap.epochs_per_call, snap.max_epochs)}; this one has {ours}"
            )
        fresh = self._initial_state(None)
        template = tree_leaves(fresh)
        if len(snap.state) != len(template):
            raise ValueError(
                f"snapshot has {len(snap.state)} state arrays; expected {len(template)}"
            )
        leaves = []
        for i, (saved, like) in enumerate(zip(snap.state, template)):
            dtype = keras.backend.standardize_dtype(like.dtype)
            if saved.shape != tuple(like.shape) or saved.dtype != np.dtype(dtype):
                raise ValueError(
                    f"snapshot state array {i} is {saved.dtype}{list(saved.shape)}; "
                    f"expected {dtype}{list(like.shape)}"
                )
            leaves.append(ops.convert_to_tensor(saved, dtype=dtype))
        state = tree_rebuild(fresh, iter(leaves))
        history = tuple(
            list(rows)
            for rows in (snap.history_epochs, snap.history_training, snap.history_validation)
        )
        return state, snap.epoch, history, np.asarray(snap.pruned, bool).copy(), snap.seconds

    def _result(
        self,
        state: _State,
        done: int,
        history: tuple,
        start: float,
        interrupted: bool,
        pruned: np.ndarray,
    ) -> TrainingResult:
        """Restore every replica's best weights into the model and package the outcome."""
        epochs = self.settings.per_replica_epochs(self.replicas)
        stop_epoch = ops.convert_to_numpy(state.stop_epoch)
        stop_epoch = np.where(stop_epoch == 0, np.minimum(done, epochs), stop_epoch)
        weights = [ops.convert_to_numpy(p) for p in state.best_params]
        for var, value in zip(self.model.trainable_variables, state.best_params):
            var.assign(value)
        steps, tr_hist, vl_hist = history
        r = self.replicas
        return TrainingResult(
            weights=weights,
            best_epoch=ops.convert_to_numpy(state.best_epoch),
            stop_epoch=stop_epoch,
            best_validation=ops.convert_to_numpy(state.best_validation),
            diverged=ops.convert_to_numpy(state.diverged),
            history=TrainingHistory(
                epochs=np.asarray(steps, dtype=int),
                training=np.asarray(tr_hist).reshape(len(tr_hist), r),
                validation=np.asarray(vl_hist).reshape(len(vl_hist), r),
            ),
            seconds=time.perf_counter() - start,
            epochs_run=done,
            finished=~ops.convert_to_numpy(state.active) | (done >= epochs),
            interrupted=interrupted,
            pruned=pruned,
        )
