"""Postfit: which replicas of a fit enter the final PDF set, and why the others do not.

NNPDF's postfit (validphys ``fitveto``, nnpdf 4.1.5) applies, in this order:

1. **Convergence**: the replica's positivity flag (``pos_state == "POS_PASS"``); NNPDF uses it
   as its proxy for convergence. Ours also requires ``status == "ok"`` (not diverged, a best
   validation χ² below ``threshold_chi2``, training finished).
2. **Integrability**: every integrability number (Σ |x f| at x = 1e-9, 1e-8, 1e-7 of V, T3, V3,
   T8, V8 at Q0, :data:`INTEGRABILITY_FLAVOURS`) at most ``integrability_threshold`` (0.5).
3. **Outliers**, iterated until the selection stops changing: a replica is dropped when its χ²
   (to the central data) or any of its arc lengths exceeds the mean of the replicas still
   selected by more than ``nsigma`` (4) standard deviations of those replicas (one-sided, as
   NNPDF: a replica far *below* the mean passes). With one or no replica left nothing is
   dropped.

The function here works on plain arrays, so the same rule serves fits on disk and tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

NSIGMA_CHI2 = 4.0
NSIGMA_ARC_LENGTH = 4.0
INTEGRABILITY_THRESHOLD = 0.5
INTEGRABILITY_X = (1e-9, 1e-8, 1e-7)
INTEGRABILITY_FLAVOURS = ("v", "t3", "v3", "t8", "v8")  # NNPDF's order: V, T3, V3, T8, V8


@dataclass(frozen=True)
class PostfitSettings:
    """NNPDF's postfit thresholds (its command-line defaults)."""

    nsigma_chi2: float = NSIGMA_CHI2
    nsigma_arc_length: float = NSIGMA_ARC_LENGTH
    integrability_threshold: float = INTEGRABILITY_THRESHOLD


@dataclass(frozen=True)
class PostfitResult:
    """Per replica (in the order given): selected or not, and every veto it failed."""

    replicas: tuple[int, ...]
    selected: tuple[bool, ...]
    reasons: dict[int, list[str]] = field(default_factory=dict)  # replica -> veto names

    @property
    def chosen(self) -> list[int]:
        return [r for r, ok in zip(self.replicas, self.selected) if ok]

    def as_json(self, settings: PostfitSettings) -> dict:
        """What ``summary.json`` records under ``postfit``."""
        return {
            "thresholds": {
                "chi2_nsigma": settings.nsigma_chi2,
                "arc_length_nsigma": settings.nsigma_arc_length,
                "integrability": settings.integrability_threshold,
            },
            "selected": self.chosen,
            "vetoed": {str(r): reasons for r, reasons in self.reasons.items()},
        }


def integrability_numbers(xf: np.ndarray, basis: Sequence[str]) -> np.ndarray:
    """NNPDF's integrability numbers ``(R, 5)``: Σ over :data:`INTEGRABILITY_X` of |x f| for
    each of :data:`INTEGRABILITY_FLAVOURS`, from x·f ``(R, len(INTEGRABILITY_X), nbasis)``."""
    rows = [list(basis).index(label) for label in INTEGRABILITY_FLAVOURS]
    return np.abs(np.asarray(xf)[:, :, rows]).sum(axis=1)


def _outliers(values: np.ndarray, selected: np.ndarray, nsigma: float) -> np.ndarray:
    """Mask of ``values`` within mean + nsigma·std of the ``selected`` ones (one-sided)."""
    if selected.sum() <= 1:
        return np.ones(values.shape, bool)
    kept = values[selected]
    return values - kept.mean() <= nsigma * kept.std()


def select_replicas(
    replicas: Sequence[int],
    converged: Sequence[bool],
    chi2: Sequence[float],
    arc_lengths: np.ndarray,
    integrability: np.ndarray,
    settings: PostfitSettings = PostfitSettings(),
) -> PostfitResult:
    """Apply NNPDF's vetoes (module notes) to one fit's replicas.

    Parameters
    ----------
    replicas : Sequence[int]
        replica numbers, R of them.
    converged : Sequence[bool]
        (R,) passed the convergence check (status ok and positivity).
    chi2 : Sequence[float]
        (R,) χ²/N to the central data; non-finite values fail the χ² veto.
    arc_lengths : np.ndarray
        (R, nfl) arc length of each flavour.
    integrability : np.ndarray
        (R, nint) integrability numbers (empty second axis: no integrability veto).
    """
    n = len(replicas)
    if n == 0:
        return PostfitResult((), ())
    chi2 = np.asarray(chi2, dtype=float)
    arcs = np.asarray(arc_lengths, dtype=float).reshape(n, -1)
    integ = np.asarray(integrability, dtype=float).reshape(n, -1)
    finite = np.isfinite(chi2) & np.isfinite(arcs).all(axis=1)
    fixed = {
        "convergence": np.asarray(converged, bool),
        "non_finite": finite,
        **{
            f"integrability_{label}": integ[:, j] <= settings.integrability_threshold
            for j, label in enumerate(INTEGRABILITY_FLAVOURS[: integ.shape[1]])
        },
    }
    selected = np.all(list(fixed.values()), axis=0)
    while True:
        distribution = {
            "chi2": _outliers(np.where(finite, chi2, np.inf), selected, settings.nsigma_chi2)
        }
        for j in range(arcs.shape[1]):
            distribution[f"arc_length_{j}"] = _outliers(
                arcs[:, j], selected, settings.nsigma_arc_length
            )
        updated = np.all([*fixed.values(), *distribution.values()], axis=0)
        if np.array_equal(updated, selected):
            break
        selected = updated
    vetoes = {**fixed, **distribution}
    reasons = {
        int(r): [name for name, mask in vetoes.items() if not mask[i]]
        for i, r in enumerate(replicas)
        if not selected[i]
    }
    return PostfitResult(tuple(int(r) for r in replicas), tuple(bool(s) for s in selected), reasons)
