"""A fit's mid-training checkpoint: ``OUTPUT/<name>/checkpoint/replicas_<first>-<last>.npz``.

One file per block of replicas a ``fit`` command trains (``--replicas``: the whole fit, or one
task of a batch array), holding an engine snapshot
(:class:`~n3fit_gpu.ensemble.snapshot.TrainingSnapshot`) and what it belongs to: the replicas
trained stacked, a hash of the runcard's settings (``replicas`` aside) and the theory folder,
the Keras backend and float type. ``fit --resume`` goes on from it and refuses one that does
not match; the fit deletes it once the block's replicas are written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras

from n3fit_gpu.ensemble.snapshot import TrainingSnapshot, load_snapshot, save_snapshot
from n3fit_gpu.errors import CheckpointError

CHECKPOINT_DIR = "checkpoint"


def settings_hash(card, theory_path: Path | None = None) -> str:
    """A short hash of everything in ``card`` but ``replicas``, and of ``theory_path``."""
    settings = card.model_dump(mode="json", exclude={"replicas"})
    text = json.dumps([settings, str(theory_path)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FitCheckpoint:
    """The checkpoint file of one block of replicas and the identity it must carry."""

    path: Path
    identity: dict

    @classmethod
    def of_block(
        cls, root: Path, replicas: Sequence[int], card, theory_path: Path | None = None
    ) -> FitCheckpoint:
        """The checkpoint of ``replicas`` (the fit's ``--replicas``) in the fit folder ``root``."""
        identity = {
            "settings": settings_hash(card, theory_path),
            "backend": keras.backend.backend(),
            "floatx": keras.config.floatx(),
        }
        name = f"replicas_{min(replicas)}-{max(replicas)}.npz"
        return cls(Path(root) / CHECKPOINT_DIR / name, identity)

    def exists(self) -> bool:
        return self.path.exists()

    def save(self, snapshot: TrainingSnapshot, replicas: Sequence[int]) -> None:
        """Write ``snapshot`` of the stacked ``replicas`` (atomically)."""
        save_snapshot(self.path, snapshot.with_metadata(replicas=list(replicas), **self.identity))

    def load(self, pending: Sequence[int]) -> tuple[TrainingSnapshot, list[int]]:
        """The snapshot and the replicas it trains; :class:`CheckpointError` unless it was
        written with this identity and holds every ``pending`` replica."""
        try:
            snapshot = load_snapshot(self.path)
        except (ValueError, KeyError, OSError) as error:
            raise self._refusal(f"cannot be read ({error})") from None
        meta = snapshot.metadata
        for key, ours in self.identity.items():
            if meta.get(key) != ours:
                what = "runcard settings" if key == "settings" else key
                raise self._refusal(f"was written with other {what} ({meta.get(key)} ≠ {ours})")
        replicas = [int(r) for r in meta.get("replicas", [])]
        missing = sorted(set(pending) - set(replicas))
        if missing:
            raise self._refusal(f"trains replicas {replicas}, not {missing}")
        return snapshot, replicas

    def delete(self) -> None:
        """Remove the file, and its folder once empty."""
        self.path.unlink(missing_ok=True)
        try:
            self.path.parent.rmdir()
        except OSError:  # absent, or other blocks' checkpoints in it
            pass

    def _refusal(self, reason: str) -> CheckpointError:
        return CheckpointError(
            f"checkpoint {self.path} {reason}; rerun as it was written, or delete it to train "
            "these replicas from the start"
        )
