"""A fit's output folder ``<output>/<name>/`` belongs to one fit.

- Its settings (the runcard as validated, with the seeds and theory used) are recorded in
  :data:`IDENTITY_FILE`; a fit of other settings is refused, naming the keys that differ, while
  the folder holds any replica or a fit is running in it. Keys that do not change a replica
  (:data:`FREE_KEYS`: the replica count, the backend...) may differ, so a fit can be extended
  with more replicas or finished on another machine.
- Each replica is locked (:class:`~n3fit_gpu.locks.SlotLocks`, one byte per replica) while a
  process fits it: a second ``fit`` of the same replicas into the folder is refused at once,
  while the blocks of a batch array (disjoint replicas, same settings) run side by side.
- Temporary files left by a process killed while writing are removed when the folder is
  claimed again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n3fit_gpu.atomic import atomic_write_json
from n3fit_gpu.errors import OutputError
from n3fit_gpu.locks import SlotLocks, exclusive

IDENTITY_FILE = "fit_identity.json"
FREE_KEYS = ("description", "replicas", "backend", "debug", "hyperscan_config", "kfold")
_TEMPORARY = ".*.tmp"  # n3fit_gpu.atomic's temporary files


@dataclass(frozen=True)
class FitPaths:
    """Where a fit writes: ``<output>/<name>/``."""

    root: Path
    name: str

    def replica_dir(self, replica: int) -> Path:
        return self.root / "nnfit" / f"replica_{replica}"

    def replica_json(self, replica: int) -> Path:
        return self.replica_dir(replica) / f"{self.name}.json"

    def done(self, replica: int) -> bool:
        return self.replica_json(replica).exists()

    def any_done(self) -> bool:
        return any(self.root.glob(f"nnfit/replica_*/{self.name}.json"))


def selected_pdfs(folder: Path, key: str) -> tuple[list[int], np.ndarray]:
    """The replicas postfit selected in the finished fit ``folder`` (its ``summary.json``) and
    the array ``key`` of each one's ``pdf_q0.npz``, stacked (one-line :class:`OutputError` when
    fewer than 2 were selected)."""
    selected = json.loads((folder / "summary.json").read_text())["postfit"]["selected"]
    if len(selected) < 2:
        raise OutputError(f"{folder}: postfit selected {len(selected)} replicas; need at least 2")
    arrays = [np.load(folder / "nnfit" / f"replica_{r}" / "pdf_q0.npz")[key] for r in selected]
    return selected, np.stack(arrays)


def differences(a, b, prefix: str = "") -> list[tuple[str, object, object]]:
    """``(key, value in a, value in b)`` for every leaf where two nested dicts differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            diff
            for key in sorted(set(a) | set(b), key=str)
            for diff in differences(a.get(key), b.get(key), f"{prefix}{key}.")
        ]
    return [] if a == b else [(prefix.rstrip("."), a, b)]


def fit_identity(card, theory: str) -> dict:
    """The settings that make a fit's replicas what they are (JSON-ready)."""
    settings = card.model_dump(mode="json", exclude=set(FREE_KEYS))
    return {"settings": settings, "theory": theory}


def pending_replicas(
    paths: FitPaths, replicas: Sequence[int], resume: bool, elsewhere: str = "--output"
) -> list[int]:
    """The replicas not on disk yet; refuses a folder that holds some unless ``resume``
    (the message suggests the option ``elsewhere`` to write elsewhere)."""
    done = [r for r in replicas if paths.done(r)]
    if done and not resume:
        raise OutputError(
            f"{paths.root} already holds replicas {done[:5]}{'…' if len(done) > 5 else ''}; "
            f"use --resume to finish that fit, or {elsewhere} to write elsewhere"
        )
    return [r for r in replicas if r not in done]


def claim_fit_folder(
    paths: FitPaths, identity: dict, replicas: Sequence[int], resume: bool, stack: ExitStack
) -> list[int]:
    """Claim ``replicas`` of the fit folder for this process until ``stack`` closes; return
    those still to fit.

    Raises
    ------
    OutputError
        another process fits one of them; the folder holds a fit of other settings; or it
        holds some of them already and ``resume`` is false.
    """
    paths.root.mkdir(parents=True, exist_ok=True)
    with exclusive(paths.root / ".setup.lock"):
        locks = stack.enter_context(SlotLocks(paths.root / ".replicas.lock"))
        others_running = locks.others_hold_any()
        busy = locks.take(replicas)
        if busy is not None:
            raise OutputError(
                f"replica {busy} of {paths.root} is being fitted by another running fit; wait "
                "for it to end, or fit other replicas (--replicas) or write elsewhere (--output)"
            )
        _check_identity(paths, identity, resume, others_running)
        atomic_write_json(paths.root / IDENTITY_FILE, identity)
        todo = pending_replicas(paths, replicas, resume)
        for replica in replicas:
            _remove_temporaries(paths.replica_dir(replica))
        if not others_running:
            _remove_temporaries(paths.root, recursive=True)
    return todo


def _check_identity(paths: FitPaths, identity: dict, resume: bool, others_running: bool) -> None:
    path = paths.root / IDENTITY_FILE
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return  # a new folder, or a fit from before identities were recorded
    changes = differences(recorded, identity)
    if not changes or not (others_running or paths.any_done()):
        return
    shown = "; ".join(
        f"{key.removeprefix('settings.')}: {old!r} there, {new!r} here"
        for key, old, new in changes[:3]
    )
    more = f" (+{len(changes) - 3} more)" if len(changes) > 3 else ""
    fix = "resume with the runcard and --seed it was started with, or " if resume else ""
    raise OutputError(
        f"{paths.root} holds a fit with other settings ({shown}{more}); "
        f"{fix}write elsewhere (--output)"
    )


def _remove_temporaries(folder: Path, recursive: bool = False) -> None:
    """Remove the temporary files of writers killed mid-write (no live writer owns them)."""
    if folder.is_dir():
        for orphan in folder.rglob(_TEMPORARY) if recursive else folder.glob(_TEMPORARY):
            orphan.unlink(missing_ok=True)
