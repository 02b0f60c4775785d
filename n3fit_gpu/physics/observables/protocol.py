"""The observable seam: a :class:`Kernel` per FK table kind, an :class:`Observable` per dataset.

Shapes: ``xf`` is ``(replica, x, flavour)`` — x f at Q0 on the theory's x grid, flavours in
``theory.BASIS`` — and a kernel's prediction is ``(R, n)`` for its ``n`` rows::

    class Kernel(Protocol):
        kind: str                       # "DIS" (one convolution) or "hadronic" (two)
        rows: np.ndarray                # (n,) the data point each row predicts
        def predict(self, xf, xp, tensors=None) -> (R, n)   # xp: numpy (NUMPY) or keras.ops
        def tensors(self, convert) -> list                  # its constants, as xp tensors
        def select(self, keep) -> Kernel                    # rows kept (bool (n,))
        def scaled(self, factor) -> Kernel                  # rows times factor (n,)
        def cut_mask(self, name, kinematics, datacuts) -> (ndata,) bool  # dataset's cuts

Implementations: :mod:`.dis` (one convolution, dense ``(n, 9, nx)``) and :mod:`.hadronic`
(two convolutions, channel-sparse). An :class:`Observable` holds a dataset's operands (each a
tuple of kernels stacked along points) and the operation combining them (:mod:`.operations`).
Predictions go through :mod:`.predict` only, in numpy and in Keras alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np

from n3fit_gpu.errors import TheoryError


@runtime_checkable
class Kernel(Protocol):
    """One FK table's rows (see the module docstring)."""

    kind: str
    rows: np.ndarray

    @property
    def ndata(self) -> int: ...

    def predict(self, xf, xp, tensors=None): ...

    def tensors(self, convert) -> list: ...

    def select(self, keep: np.ndarray) -> Kernel: ...

    def scaled(self, factor: np.ndarray) -> Kernel: ...

    def cut_mask(self, name: str, kinematics: dict, datacuts) -> np.ndarray: ...


@dataclass(frozen=True)
class Observable:
    """A dataset's (or a positivity/integrability observable's) FK operands and operation.

    Attributes
    ----------
    name : str
    operation : str
        a key of :data:`~.operations.OPERATIONS`.
    operands : tuple[tuple[Kernel, ...], ...]
        per operand, its kernels in point order (their rows concatenate).
    data_indices : np.ndarray | None
        ``(ndata,)`` commondata point of each prediction; None for positivity/integrability.
    kinematics : dict[str, np.ndarray]
        as stored with the theory (ours: "x", "Q2", "y"); may be empty.
    """

    name: str
    operation: str
    operands: tuple[tuple[Kernel, ...], ...]
    data_indices: np.ndarray | None = None
    kinematics: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        """Every kernel, operand by operand."""
        return tuple(k for operand in self.operands for k in operand)

    @property
    def kind(self) -> str:
        """ "hadronic" if any table has two convolutions, else "DIS"."""
        return "hadronic" if any(k.kind == "hadronic" for k in self.kernels) else "DIS"

    @property
    def ndata(self) -> int:
        """Number of predictions (the largest operand; a one-row operand broadcasts)."""
        return max(sum(k.ndata for k in operand) for operand in self.operands)

    @property
    def fktables(self) -> tuple[np.ndarray, ...]:
        """DIS only: one dense ``(n, nbasis, nx)`` table per operand (our npz layout)."""
        if self.kind != "DIS":
            raise TheoryError(f"{self.name} is hadronic: it has no dense DIS tables")
        return tuple(np.concatenate([k.fk for k in operand]) for operand in self.operands)

    def cut_mask(self, kinematics: dict, datacuts) -> np.ndarray:
        """Which points pass the runcard's cuts: the cuts of this observable's kind."""
        return self.kernels[0].cut_mask(self.name, kinematics, datacuts)

    def select_points(self, indices: np.ndarray, where: str = "") -> Observable:
        """The rows predicting the commondata points ``indices`` (increasing), in that order.

        A one-row operand (a normalisation) is kept whole and broadcasts.

        Raises
        ------
        TheoryError
            points without an FK row (one line naming the dataset and how many).
        """
        indices = np.asarray(indices, dtype=int)
        operands = []
        for operand in self.operands:
            if sum(k.ndata for k in operand) == 1:
                operands.append(operand)
                continue
            kept = tuple(k.select(np.isin(k.rows, indices)) for k in operand)
            rows = np.concatenate([k.rows for k in kept]) if kept else np.zeros(0, int)
            if not np.array_equal(rows, indices):
                missing = np.setdiff1d(indices, rows)
                raise TheoryError(
                    f"{where or 'the theory'} has no FK rows for {len(missing)} points of "
                    f"{self.name} (e.g. point {int(missing[0]) if missing.size else '?'}); "
                    "loosen the cuts no further than the theory was built with, or rebuild it"
                )
            operands.append(kept)
        return replace(self, operands=tuple(operands), data_indices=indices)

    def scaled(self, factor: np.ndarray) -> Observable:
        """Predictions times ``factor`` ``(ndata,)`` (C-factors): NULL observables only."""
        if self.operation != "NULL":
            raise TheoryError(
                f"C-factors of {self.name} (operation {self.operation}) are not supported; "
                "remove `cfac` from its runcard entry"
            )
        (operand,) = self.operands
        offsets = np.cumsum([0, *(k.ndata for k in operand)])
        kernels = tuple(
            k.scaled(factor[a:b]) for k, a, b in zip(operand, offsets[:-1], offsets[1:])
        )
        return replace(self, operands=(kernels,))
