"""The PDF fit's per-replica losses: FK convolution, χ², positivity and integrability.

Predictions of the data, positivity and integrability observables come from ONE
:class:`~.observables.predict.Predictor` (every DIS row in one fused
:class:`~.convolution.FKConvolution` pass, hadronic tables channel-sparse), the same path the
numpy side (t0, closure, reports) uses.

χ² on each replica's own training subset. Replica ``r`` has its own training mask ``m_r``, so
the inverse of the covariance restricted to its training points differs per replica. With the
covariance in low-rank form ``C = D + A Aᵀ`` (``D`` diagonal, ``A`` the ``k`` correlated
systematics), Woodbury gives it exactly::

    χ²_r = Σ_i m_ri e_ri² / D_i  −  z_rᵀ M_r z_r,   z_r = Aᵀ (m_r e_r / D),
    M_r = (I_k + Aᵀ diag(m_r / D) A)⁻¹   (precomputed, (R, k, k))

which costs ``O(R n k)`` per epoch and ``R k²`` memory, instead of ``R n²`` for dense
per-replica inverses (1,000 replicas × 1,250 points: 6 GB dense vs ~0.2 GB here).

Systematic blocks. Correlated systematics belong to one experiment, so ``A`` is block diagonal:
its columns fall into groups whose rows do not overlap (:func:`systematic_blocks`; quickstart:
3 blocks with 31 columns over BCDMS/NMC's 658 points, one with 169 over HERA's 575). ``M_r`` is
then exactly block diagonal too, and ``z`` and ``zᵀ M z`` are computed block by block: 2.4×
fewer multiplications for ``z`` and 30% less memory for ``M`` than dense (all-zero columns
dropped). ``zᵀ M z`` reads ``M`` once per epoch: its gradient ``2 M z`` reuses the forward ``M z``
(:func:`_quadratic_form`), where autodiff would read the ``(R, k, k)`` inverses again for
``Mᵀ z`` (at R=100 each read of the 16 MB of inverses took ~2 ms of a ~26 ms epoch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from keras import ops

from n3fit_gpu.ensemble.engine import Losses
from n3fit_gpu.physics.observables.predict import Predictor
from n3fit_gpu.physics.observables.protocol import Observable


def woodbury_inverses(
    diag: np.ndarray, sys: np.ndarray, masks: np.ndarray, chunk: int = 32, dtype=np.float64
) -> np.ndarray:
    """``M_r = (I + Aᵀ diag(m_r/D) A)⁻¹`` for every row of ``masks`` ``(R, n)`` → ``(R, k, k)``.

    Computed in float64 once per distinct mask (the slots of stacked trials repeat their
    replicas' masks: K trials cost what one does), ``chunk`` masks at a time so the
    ``(chunk, n, k)`` intermediate stays small; each chunk is made exactly symmetric and stored
    as ``dtype`` (no full float64 copy: 1,000 replicas' HERA block is 230 MB in float64).
    """
    k = sys.shape[1]
    weighted = sys / diag[:, None]
    _, first, index = np.unique(masks, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # distinct masks in order of appearance: chunks as without repeats
    distinct = masks[first[order]]
    index = np.argsort(order)[index.reshape(-1)]
    out = np.empty((distinct.shape[0], k, k), dtype=dtype)
    for start in range(0, distinct.shape[0], chunk):
        m = distinct[start : start + chunk]
        gram = np.einsum("rn,nk,nl->rkl", m, weighted, sys, optimize=True) + np.eye(k)[None]
        inverse = np.linalg.inv(gram)
        out[start : start + chunk] = 0.5 * (inverse + np.swapaxes(inverse, 1, 2))
    return out if np.array_equal(index, np.arange(len(index))) else out[index]


@dataclass(frozen=True)
class SystematicBlock:
    """Data points ``start:stop`` and the columns of ``A`` that are non-zero only there."""

    start: int
    stop: int
    columns: np.ndarray  # (k_b,) int


def systematic_blocks(sys: np.ndarray) -> tuple[SystematicBlock, ...]:
    """Split ``A`` ``(n, k)`` into blocks of contiguous rows sharing no column.

    Each non-zero column spans the rows from its first to its last non-zero entry; overlapping
    spans are merged. All-zero columns belong to no block (they add nothing to χ²).
    """
    nonzero = sys != 0
    used = np.flatnonzero(nonzero.any(axis=0))
    first = nonzero[:, used].argmax(axis=0)
    last = sys.shape[0] - 1 - nonzero[::-1, used].argmax(axis=0)
    blocks: list[list] = []
    for c in np.argsort(first, kind="stable"):
        if blocks and first[c] <= blocks[-1][1]:
            blocks[-1][1] = max(blocks[-1][1], last[c])
            blocks[-1][2].append(used[c])
        else:
            blocks.append([first[c], last[c], [used[c]]])
    return tuple(SystematicBlock(int(a), int(b) + 1, np.sort(cols)) for a, b, cols in blocks)


@dataclass(frozen=True)
class Chi2Terms:
    """Constants of one masked χ² (NumPy; converted to tensors by :class:`PDFLoss`).

    ``inverses[b]`` is ``M_r`` of block ``blocks[b]`` alone: ``M_r`` is block diagonal.
    """

    mask: np.ndarray  # (R, n) float 0/1
    blocks: tuple[SystematicBlock, ...]
    inverses: tuple[np.ndarray, ...]  # (R, k_b, k_b) per block, symmetric

    @classmethod
    def build(
        cls, diag: np.ndarray, sys: np.ndarray, mask: np.ndarray, dtype=np.float64
    ) -> Chi2Terms:
        """The terms of ``mask`` ``(R, n)``; the inverses are stored as ``dtype``."""
        mask = mask.astype(float)
        blocks = systematic_blocks(sys)
        inverses = tuple(
            woodbury_inverses(
                diag[b.start : b.stop], sys[b.start : b.stop][:, b.columns],
                mask[:, b.start : b.stop], dtype=dtype,
            )
            for b in blocks
        )  # fmt: skip
        return cls(mask=mask, blocks=blocks, inverses=inverses)


def rotate(residual, rotations):
    """Residuals ``(R, n)`` into the diagonal basis (:mod:`.diagonal`): block ``b`` of the
    points times its ``(n_b, n_b)`` rotation (tensors, in order along the points)."""
    sizes = [int(d.shape[0]) for d in rotations]
    pieces = (
        ops.split(residual, np.cumsum(sizes)[:-1].tolist(), axis=1)
        if len(sizes) > 1
        else [residual]
    )
    return ops.concatenate(
        [ops.einsum("rn,mn->rm", piece, d) for piece, d in zip(pieces, rotations, strict=True)],
        axis=1,
    )


def _quadratic_form(z, inverses):
    """``zᵀ M z`` per replica for symmetric ``M`` ``(R, k, k)``, reading ``M`` once.

    The value is ``q = z·(M z)`` (``2q - q`` is exactly ``q`` in floating point); the gradient
    is ``2 M z`` from the forward's ``M z``, where autodiff would compute ``Mᵀ z`` anew.
    """
    mz = ops.stop_gradient(ops.einsum("rkl,rl->rk", inverses, z))
    q = ops.sum(z * mz, axis=1)
    return 2.0 * q - ops.stop_gradient(q)


def masked_chi2(residual, mask, inverses, inv_diag, sys):
    """χ² per replica of ``residual`` ``(R, n)`` on the points where ``mask`` is 1.

    ``inverses`` ``(R, k, k)`` must be symmetric (see :func:`_quadratic_form`).
    """
    weighted = mask * residual * inv_diag
    z = ops.einsum("rn,nk->rk", weighted, sys)
    return ops.sum(weighted * residual, axis=1) - _quadratic_form(z, inverses)


class BlockedChi2:
    """:func:`masked_chi2` of one :class:`Chi2Terms` with ``A`` split into its blocks.

    ``weighted`` ``(R, n)`` is split at the blocks' edges (whose gradient is a concatenation,
    cheaper than the padded sum of slices); block ``b`` multiplies its piece by its
    ``(n_b, k_b)`` columns of ``A`` and contracts with its ``(R, k_b, k_b)`` inverses. The
    tensors are ``self.tensors`` (``mask``, ``inv_diag``, ``sys`` and ``inverses`` per block);
    ``call`` may be given another dict of the same shapes.
    """

    def __init__(self, terms: Chi2Terms, cov_diag: np.ndarray, cov_sys: np.ndarray, convert):
        n = cov_diag.shape[0]
        edges = sorted({0, n} | {e for b in terms.blocks for e in (b.start, b.stop)})
        self.split_at = edges[1:-1]
        self.pieces = [edges.index(b.start) for b in terms.blocks]
        self.tensors = {
            "mask": convert(terms.mask),
            "inv_diag": convert(1.0 / cov_diag),
            "sys": [convert(cov_sys[b.start : b.stop][:, b.columns]) for b in terms.blocks],
            "inverses": [convert(m) for m in terms.inverses],
        }

    def __call__(self, residual, tensors: dict | None = None):
        """χ² per replica ``(R,)`` of ``residual`` ``(R, n)``."""
        t = self.tensors if tensors is None else tensors
        weighted = t["mask"] * residual * t["inv_diag"]
        chi2 = ops.sum(weighted * residual, axis=1)
        pieces = ops.split(weighted, self.split_at, axis=1) if self.split_at else [weighted]
        for piece, sys, inverses in zip(self.pieces, t["sys"], t["inverses"], strict=True):
            z = ops.einsum("rn,nk->rk", pieces[piece], sys)
            chi2 = chi2 - _quadratic_form(z, inverses)
        return chi2


@dataclass(frozen=True)
class FitTensors:
    """Everything the loss needs, as NumPy arrays (shapes: R replicas, n data, p constraints).

    With ``rotations`` (n3fit's diagonal basis) the χ² terms, ``cov_diag`` and ``cov_sys`` are
    those of the rotated residuals: eigenvalues and no correlated systematics.

    ``observables`` are the data, positivity and integrability observables (three groups, in
    the order of the data points and constraint rows); ``pos_group``/``integ_group`` name the
    observable of each constraint row.
    """

    observables: tuple[tuple[Observable, ...], ...]  # (data, positivity, integrability)
    pseudodata: np.ndarray  # (R, n)
    cov_diag: np.ndarray  # (n,)
    cov_sys: np.ndarray  # (n, k)
    training: Chi2Terms
    validation: Chi2Terms
    pos_group: np.ndarray  # (p,) int observable index
    pos_maxlambda: np.ndarray  # (n_pos_obs,)
    integ_group: np.ndarray
    integ_maxlambda: np.ndarray
    rotations: tuple[np.ndarray, ...] | None = None  # diagonal basis: χ² of rotated residuals


def _is_seq(value) -> bool:
    return isinstance(value, tuple)


def _entry(value, r: int):
    """Replica ``r``'s entry of a per-replica tuple, or the scalar shared by all replicas."""
    return value[r] if _is_seq(value) else value


@dataclass(frozen=True)
class PenaltySchedule:
    """λ(epoch) = min(initial · multiplier^⌊epoch/100⌋, maxlambda), per constraint observable.

    ``multiplier=None`` chooses, per observable, the factor that reaches ``maxlambda`` at the
    last epoch (NNPDF's default; ``initial`` then defaults to 1); ``initial=None`` with a
    multiplier chooses the start that reaches ``maxlambda`` at the last epoch.

    Any field may instead hold one entry per replica (slots of stacked trials, each with its
    own schedule and epochs): λ is then ``(replica, observable)``, row ``r`` being what the
    schedule of replica ``r``'s entries gives alone. Scalars give ``(observable,)`` as before.
    """

    initial: float | None | Sequence[float | None]
    multiplier: float | None | Sequence[float | None]
    epochs: int | Sequence[int]

    def __post_init__(self):
        for name in ("initial", "multiplier", "epochs"):
            value = getattr(self, name)
            if value is not None and np.ndim(value) == 1:
                object.__setattr__(self, name, tuple(value))
        lengths = {len(v) for v in (self.initial, self.multiplier, self.epochs) if _is_seq(v)}
        if len(lengths) > 1:
            raise ValueError(f"per-replica schedule entries differ in length: {sorted(lengths)}")

    @property
    def replicas(self) -> int | None:
        """The number of per-replica entries; ``None`` when every field is a scalar."""
        for value in (self.initial, self.multiplier, self.epochs):
            if _is_seq(value):
                return len(value)
        return None

    def start_and_growth(self, maxlambda: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """λ at epoch 0 and the factor applied every 100 epochs: ``(obs,)`` or ``(R, obs)``."""
        if self.replicas is not None:
            rows = [
                PenaltySchedule(
                    _entry(self.initial, r), _entry(self.multiplier, r), _entry(self.epochs, r)
                ).start_and_growth(maxlambda)
                for r in range(self.replicas)
            ]
            return np.stack([s for s, _ in rows]), np.stack([g for _, g in rows])
        steps = max(self.epochs // 100, 1)
        if self.multiplier is None:
            start = np.full_like(maxlambda, 1.0 if self.initial is None else self.initial)
            return start, (np.maximum(maxlambda, start) / start) ** (1.0 / steps)
        growth = np.full_like(maxlambda, self.multiplier)
        start = (
            maxlambda / self.multiplier**steps
            if self.initial is None
            else growth * 0 + self.initial
        )
        return start, growth

    def lambdas(self, epoch, maxlambda: np.ndarray, dtype):
        """λ at ``epoch``: ``(obs,)``, or ``(replica, obs)`` for a per-replica schedule."""
        start, growth = self.start_and_growth(maxlambda)
        steps = ops.cast(epoch // 100, dtype)
        value = ops.cast(start, dtype) * ops.power(ops.cast(growth, dtype), steps)
        return ops.minimum(value, ops.cast(maxlambda, dtype))


class PDFLoss:
    """``loss(xf, epoch) -> Losses`` for the stacked PDF model's output ``xf`` ``(R, nx, 9)``.

    objective = χ²_tr + Σ λ_pos·Σ elu(−pos) + Σ λ_int·Σ integ²; validation = χ²_vl / N_vl
    (χ²_tr / N_tr for a replica without validation points); an epoch is acceptable when
    positivity holds (Σ elu(−pos) < ``pos_threshold`` for every observable) and
    ``validation < threshold_chi2``.
    """

    def __init__(
        self,
        t: FitTensors,
        positivity: PenaltySchedule,
        integrability: PenaltySchedule,
        pos_threshold: float,
        threshold_chi2: float,
        dtype: str,
    ):
        c = lambda a, dt=dtype: ops.convert_to_tensor(np.asarray(a), dtype=dt)  # noqa: E731
        self.predictor = Predictor(t.observables, c)
        self.chi2_tr = BlockedChi2(t.training, t.cov_diag, t.cov_sys, c)
        self.chi2_vl = BlockedChi2(t.validation, t.cov_diag, t.cov_sys, c)
        n_vl = t.validation.mask.sum(axis=1)
        self.constants = {
            "fk": self.predictor.tensors,
            "pseudodata": c(t.pseudodata),
            "chi2_tr": self.chi2_tr.tensors,
            "chi2_vl": self.chi2_vl.tensors,
            "n_tr": c(np.maximum(t.training.mask.sum(axis=1), 1)),
            "has_vl": c(n_vl > 0, "bool"),
            "n_vl": c(np.maximum(n_vl, 1)),
            "pos_onehot": c(np.eye(len(t.pos_maxlambda))[t.pos_group].T),  # (obs, p)
            "integ_onehot": c(np.eye(len(t.integ_maxlambda))[t.integ_group].T),
        }
        if t.rotations is not None:
            self.constants["rotations"] = [c(d) for d in t.rotations]
        self.pos_maxlambda, self.integ_maxlambda = t.pos_maxlambda, t.integ_maxlambda
        self.positivity, self.integrability = positivity, integrability
        self.pos_threshold, self.threshold_chi2 = pos_threshold, threshold_chi2
        self.dtype = dtype

    def predictions(self, xf, constants: dict | None = None):
        """Data predictions ``(R, n)``, positivity ``(R, p)`` and integrability ``(R, q)`` rows."""
        pred, pos, integ = self.predictor(xf, (constants or self.constants)["fk"])
        return pred, pos, integ

    def __call__(self, xf, epoch, constants: dict | None = None) -> Losses:
        """The losses of ``xf``; ``constants``: a dict shaped as ``self.constants`` to use
        instead (the training loop passes them as arguments of its compiled call)."""
        c = self.constants if constants is None else constants
        pred, pos_rows, integ_rows = self.predictions(xf, c)
        residual = pred - c["pseudodata"]
        if "rotations" in c:
            residual = rotate(residual, c["rotations"])
        chi2_tr = self.chi2_tr(residual, c["chi2_tr"])
        chi2_vl = self.chi2_vl(residual, c["chi2_vl"])
        tr_norm = chi2_tr / c["n_tr"]
        validation = ops.where(c["has_vl"], chi2_vl / c["n_vl"], tr_norm)

        objective = chi2_tr
        acceptable = validation < self.threshold_chi2
        if self.pos_maxlambda.size:
            pos = ops.elu(-pos_rows, alpha=1e-7)
            per_obs = ops.einsum("rp,op->ro", pos, c["pos_onehot"])
            lam = self.positivity.lambdas(epoch, self.pos_maxlambda, self.dtype)
            objective = objective + ops.sum(per_obs * lam, axis=1)
            acceptable = ops.logical_and(acceptable, ops.all(per_obs < self.pos_threshold, axis=1))
        if self.integ_maxlambda.size:
            integ = ops.square(integ_rows)
            per_obs = ops.einsum("rp,op->ro", integ, c["integ_onehot"])
            lam = self.integrability.lambdas(epoch, self.integ_maxlambda, self.dtype)
            objective = objective + ops.sum(per_obs * lam, axis=1)
        return Losses(
            objective=objective, validation=validation, acceptable=acceptable, training=tr_norm
        )
