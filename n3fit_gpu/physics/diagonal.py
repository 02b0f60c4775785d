"""n3fit's diagonal basis: residuals rotated into the eigenbasis of the correlation matrix.

n3fit 4.1.5 (``diagonal_basis: true``, its default) writes the (t0) covariance as
``C = S V Λ Vᵀ S`` with ``S`` the diagonal of standard deviations and ``V Λ Vᵀ`` the
eigendecomposition of the correlation matrix, rotates residuals by ``D = Vᵀ S⁻¹`` and trains on
a random fraction of the rotated components (``diagonal_frac``), validating on the others:
``χ² = Σ_k m_k (D r)_k² / λ_k``, the same χ² as ``rᵀ C⁻¹ r`` when every component counts.

Here ``C`` is block diagonal (systematics belong to one experiment,
:func:`~n3fit_gpu.physics.losses.systematic_blocks`), so ``D`` is computed and applied block by
block: the rotated components of a block are the eigenvectors of that block's correlation matrix
(the same set as of the whole matrix). Points left out of a fit (k-fold ``held_out``) are left
out of the decomposition: a block of ``n_b`` points of which ``n_k`` are kept has ``n_k`` valid
components and ``n_b − n_k`` empty ones (zero rows, never in a mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from n3fit_gpu.physics.covariance import Covariance
from n3fit_gpu.physics.losses import systematic_blocks


@dataclass(frozen=True)
class DiagonalBasis:
    """The block rotations ``D_b`` ``(n_b, n_b)`` on points ``start:stop``, the eigenvalue of
    each rotated component ``(n,)`` and whether it is a real component ``(n,)``."""

    segments: tuple[tuple[int, int], ...]
    rotations: tuple[np.ndarray, ...]
    eigenvalues: np.ndarray
    valid: np.ndarray

    def rotate(self, residual: np.ndarray) -> np.ndarray:
        """NumPy: rotated residuals ``(..., n)``."""
        return np.concatenate(
            [residual[..., a:b] @ d.T for (a, b), d in zip(self.segments, self.rotations)], axis=-1
        )


def diagonal_basis(covariance: Covariance, kept: np.ndarray | None = None) -> DiagonalBasis:
    """The diagonal basis of ``covariance`` restricted to the ``kept`` points (default all)."""
    n = covariance.diag.size
    kept = np.ones(n, bool) if kept is None else np.asarray(kept, bool)
    edges = sorted(
        {0, n} | {e for b in systematic_blocks(covariance.sys) for e in (b.start, b.stop)}
    )
    segments, rotations = [], []
    eigenvalues, valid = np.ones(n), np.zeros(n, bool)
    for a, b in zip(edges[:-1], edges[1:]):
        rows = a + np.flatnonzero(kept[a:b])
        block = covariance.sys[rows]
        dense = np.diag(covariance.diag[rows]) + block @ block.T
        sigma = np.sqrt(np.diag(dense))
        lam, vectors = np.linalg.eigh(dense / np.outer(sigma, sigma))
        rotation = np.zeros((b - a, b - a))
        rotation[: rows.size, rows - a] = vectors.T / sigma[None, :]
        eigenvalues[a : a + rows.size] = lam
        valid[a : a + rows.size] = True
        segments.append((a, b))
        rotations.append(rotation)
    return DiagonalBasis(tuple(segments), tuple(rotations), eigenvalues, valid)
