"""Mid-training snapshots of :class:`~n3fit_gpu.ensemble.engine.EnsembleTrainer`, their
``.npz`` files, and the signals that ask for one.

A :class:`TrainingSnapshot` is everything :meth:`EnsembleTrainer.train` needs to go on from a
call boundary as if it had never stopped: the leaves of the engine's on-device state (epoch,
weights, optimizer slots and globals, best weights and validation, stall counters, masks, last
losses) copied to numpy, plus the Python-side bookkeeping (epochs done, history, pruned mask,
seconds trained). Restored bit for bit, a resumed training gives the same weights, stop epochs
and history as an uninterrupted one on the same backend and machine.

The file format (:func:`save_snapshot`, :func:`load_snapshot`) is one ``.npz`` written
atomically (:mod:`n3fit_gpu.atomic`): the arrays ``state_000``, ``state_001``... in the
state's order, the history and the mask, and a JSON string ``meta`` holding the scalars and
whatever metadata the caller adds (the fit adds its replicas, settings hash and backend).

Signals: :func:`stop_signals` records SIGTERM (a scheduler's preemption, ``scancel``) and SIGUSR1
(SLURM's ``--signal=B:USR1@120`` warning before the time limit) while training runs; the
engine answers either by saving a snapshot at the next call boundary and stopping.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from n3fit_gpu.atomic import atomic_savez

FORMAT_VERSION = 1
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGUSR1") if hasattr(signal, name)
)


@dataclass(frozen=True)
class TrainingSnapshot:
    """The training after ``epoch`` epochs (a call boundary); arrays as numpy.

    ``state`` holds the leaves of the engine's state in order; ``history_*`` the losses
    recorded so far, ``(T,)`` and ``(T, replica)``; ``pruned`` is ``(replica,)``;
    ``epochs_per_call`` and ``max_epochs`` the settings the training ran with (a resume with
    others is refused).
    """

    epoch: int
    state: tuple[np.ndarray, ...]
    history_epochs: np.ndarray
    history_training: np.ndarray
    history_validation: np.ndarray
    pruned: np.ndarray
    seconds: float
    epochs_per_call: int
    max_epochs: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def with_metadata(self, **metadata: Any) -> TrainingSnapshot:
        """A copy with ``metadata`` added (JSON-able values)."""
        return replace(self, metadata={**self.metadata, **metadata})


_SCALARS = ("epoch", "seconds", "epochs_per_call", "max_epochs")
_ARRAYS = ("history_epochs", "history_training", "history_validation", "pruned")


def save_snapshot(path: str | Path, snapshot: TrainingSnapshot) -> Path:
    """Write ``snapshot`` to ``path`` (``.npz``) atomically: the old file or the new, never half."""
    meta = {name: getattr(snapshot, name) for name in _SCALARS}
    meta.update(format=FORMAT_VERSION, metadata=snapshot.metadata)
    arrays = {name: getattr(snapshot, name) for name in _ARRAYS}
    arrays.update({f"state_{i:03d}": leaf for i, leaf in enumerate(snapshot.state)})
    return atomic_savez(path, meta=np.array(json.dumps(meta)), **arrays)


def load_snapshot(path: str | Path) -> TrainingSnapshot:
    """Read a snapshot written by :func:`save_snapshot` (``ValueError`` for another format)."""
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: snapshot format {meta.get('format')}, not {FORMAT_VERSION}")
        leaves = sorted(name for name in npz.files if name.startswith("state_"))
        return TrainingSnapshot(
            state=tuple(npz[name] for name in leaves),
            metadata=meta["metadata"],
            **{name: meta[name] for name in _SCALARS},
            **{name: npz[name] for name in _ARRAYS},
        )


def tree_leaves(tree: Any) -> list[Any]:
    """The leaves of nested tuples/lists (named tuples included), depth first."""
    if isinstance(tree, tuple | list):
        return [leaf for item in tree for leaf in tree_leaves(item)]
    return [tree]


def tree_rebuild(template: Any, leaves: Iterator[Any]) -> Any:
    """``template``'s nesting filled with the next ``leaves`` (inverse of :func:`tree_leaves`)."""
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return type(template)(*(tree_rebuild(item, leaves) for item in template))
    if isinstance(template, tuple | list):
        return type(template)(tree_rebuild(item, leaves) for item in template)
    return next(leaves)


class SignalFlag:
    """The last stop signal received (its name), or None."""

    def __init__(self) -> None:
        self.received: str | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        self.received = signal.Signals(signum).name


@contextmanager
def stop_signals(enabled: bool = True) -> Iterator[SignalFlag]:
    """Within the block, SIGTERM and SIGUSR1 only set the flag yielded; the previous handlers
    come back afterwards. Outside the main thread (where Python cannot handle signals) or when
    not ``enabled``, nothing is installed and the flag stays None."""
    flag = SignalFlag()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    try:
        for signum in STOP_SIGNALS:
            signal.signal(signum, flag)
        yield flag
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
