"""Closure-test estimators: is a fit's uncertainty faithful to a known truth?

Given L closure fits (each fitted to its own level-1 data generated from the same truth), in
data space (NNPDF4.0 closure methodology, arXiv:2111.05787, sec. 6), with ``C`` the fits'
covariance and N points:

* bias_l = (E[f] − f_truth)ᵀ C⁻¹ (E[f] − f_truth) / N for the replica mean E[f] of fit l;
* variance_l = E_r[(f_r − E[f])ᵀ C⁻¹ (f_r − E[f])] / N over the replicas r of fit l;
* R_bv = √(mean_l bias_l / mean_l variance_l): 1 for a faithful ensemble, < 1 conservative;
* ξ_1σ: in the eigenbasis of C, the fraction over eigenvectors and fits of
  |E[f] − f_truth| < σ (σ: the replicas' standard deviation along that eigenvector); 0.68 for
  Gaussian, faithful uncertainties;
* their errors: the standard deviation over bootstrap resamples of the fits and, within each,
  of its replicas (as validphys resamples closure fits) — with a few fits, R_bv is known to
  ±0.05–0.1, so a target band is judged against it.

and in x space (PDFs at Q0, per flavour, on x points of a region):

* coverage: the fraction of (fit, x) where the truth lies inside the replicas' central 68%;
* pull: (E[f] − f_truth) / σ averaged over fits and x — a coherent pull (one sign for every
  fit) is a methodological bias that coverage alone can hide; its standard error, from the
  scatter of the fits' own x-averaged pulls, tells such a bias from the level-1 noise (a
  faithful fit's pull, averaged over a few correlated x points, is itself of order 0.5).

Arrays only; :mod:`n3fit_gpu.outputs.closure_report` reads fits from disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ONE_SIGMA = 0.682689492137086  # Gaussian probability within ±1σ


@dataclass(frozen=True)
class DataSpace:
    """Data-space estimators of L fits."""

    bias: np.ndarray  # (L,)
    variance: np.ndarray  # (L,)
    r_bv: float
    xi_1sigma: float
    r_bv_error: float  # bootstrap standard deviation (NaN for a single fit)
    xi_1sigma_error: float


@dataclass(frozen=True)
class XSpace:
    """x-space estimators per flavour: coverage and mean pull over fits and x."""

    labels: tuple[str, ...]
    coverage: np.ndarray  # (nfl,) fraction of (fit, x) with the truth in the 68% band
    pull: np.ndarray  # (nfl,) mean over fits and x of (mean − truth) / σ
    pull_by_fit: np.ndarray  # (L, nfl) mean over x
    pull_by_x: np.ndarray  # (nfl, nx) mean over fits
    x: np.ndarray  # (nx,)

    @property
    def overall_coverage(self) -> float:
        return float(self.coverage.mean())

    @property
    def pull_error(self) -> np.ndarray:
        """(nfl,) standard error of :attr:`pull` over fits (NaN for a single fit)."""
        fits = len(self.pull_by_fit)
        if fits < 2:
            return np.full(len(self.labels), np.nan)
        return self.pull_by_fit.std(axis=0, ddof=1) / np.sqrt(fits)


def data_space(
    replicas: Sequence[np.ndarray],
    truth: np.ndarray,
    covariance: np.ndarray,
    resamples: int = 200,
    seed: int = 0,
) -> DataSpace:
    """Estimators of L fits from their replica predictions.

    Parameters
    ----------
    replicas : Sequence[np.ndarray]
        per fit, ``(R_l, N)`` predictions of its replicas.
    truth : np.ndarray
        ``(N,)`` predictions of the truth.
    covariance : np.ndarray
        ``(N, N)`` covariance defining the χ² and the eigenbasis.
    resamples, seed : int
        bootstrap resamples for the errors, and their random seed.
    """
    eigenvalues, vectors = np.linalg.eigh(covariance)
    # C⁻¹ = V Λ⁻¹ Vᵀ: work in the eigenbasis, scaled so that χ² is a plain sum of squares
    scale = vectors / np.sqrt(eigenvalues)
    whitened = [(np.asarray(reps, dtype=float) - truth) @ scale for reps in replicas]
    bias, variance, covered = _estimators(whitened)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples if len(whitened) > 1 else 0):
        fits = rng.integers(len(whitened), size=len(whitened))
        sample = [whitened[f][rng.integers(len(whitened[f]), size=len(whitened[f]))] for f in fits]
        b, v, c = _estimators(sample)
        draws.append((np.sqrt(b.mean() / v.mean()), c.mean()))
    errors = np.std(draws, axis=0, ddof=1) if draws else np.full(2, np.nan)
    return DataSpace(
        bias=bias,
        variance=variance,
        r_bv=float(np.sqrt(bias.mean() / variance.mean())),
        xi_1sigma=float(covered.mean()),
        r_bv_error=float(errors[0]),
        xi_1sigma_error=float(errors[1]),
    )


def _estimators(whitened: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per fit, bias and variance per point, and per eigenvector whether the truth is within
    1σ of the mean, from ``(R_l, N)`` whitened residuals (replica − truth) of each fit."""
    bias, variance, covered = [], [], []
    for residuals in whitened:
        shift = residuals.mean(axis=0)  # (N,) in units of each eigenvector's data error
        spread = residuals - shift  # (R, N)
        n = shift.size
        bias.append(float(shift @ shift) / n)
        variance.append(float(np.mean(np.sum(spread**2, axis=1))) / n)
        covered.append(np.abs(shift) < spread.std(axis=0))
    return np.asarray(bias), np.asarray(variance), np.asarray(covered)


def x_space(
    replicas: Sequence[np.ndarray], truth: np.ndarray, labels: Sequence[str], x: np.ndarray
) -> XSpace:
    """Coverage and pulls per flavour.

    Parameters
    ----------
    replicas : Sequence[np.ndarray]
        per fit, ``(R_l, nfl, nx)`` x·f of its replicas.
    truth : np.ndarray
        ``(nfl, nx)`` x·f of the truth.
    labels : Sequence[str]
        ``(nfl,)`` flavour names.
    x : np.ndarray
        ``(nx,)`` the x points.
    """
    inside, pulls = [], []
    for reps in replicas:
        reps = np.asarray(reps, dtype=float)
        low, high = np.percentile(reps, [50 - 100 * ONE_SIGMA / 2, 50 + 100 * ONE_SIGMA / 2], 0)
        inside.append((truth >= low) & (truth <= high))
        sigma = reps.std(axis=0, ddof=1)
        pulls.append((reps.mean(axis=0) - truth) / np.where(sigma > 0, sigma, np.inf))
    inside_arr, pulls_arr = np.asarray(inside), np.asarray(pulls)  # (L, nfl, nx)
    return XSpace(
        labels=tuple(labels),
        coverage=inside_arr.mean(axis=(0, 2)),
        pull=pulls_arr.mean(axis=(0, 2)),
        pull_by_fit=pulls_arr.mean(axis=2),
        pull_by_x=pulls_arr.mean(axis=0),
        x=np.asarray(x),
    )
