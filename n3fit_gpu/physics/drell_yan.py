"""Leading-order Drell–Yan, q qbar -> gamma* -> l+ l-, at a point in (M^2, y): formula and grid.

The double-differential cross section of a proton beam on a target T at LO in QCD (photon
exchange only, the Z is negligible at fixed-target masses M < 20 GeV)::

    d^2 sigma / dM^2 dy = sigma0 sum_q e_q^2 [q(x1) qbar_T(x2) + qbar(x1) q_T(x2)]
    sigma0 = 4 pi alpha^2 / (9 M^2 s) (hbar c)^2,   x1,2 = sqrt(tau) e^(+-y),  tau = M^2 / s

with f the PDFs (number densities) at the factorisation scale mu_F = M, y the rapidity of the
pair in the hadronic centre-of-mass frame (positive along the beam), x_F = x1 - x2, in pb/GeV^2
(``HBARC2``). Both partons' delta functions fix x1 and x2, so at LO a point needs no integral:
the grid of one point is one product of interpolation weights. alpha is fixed at 1/137.036 and
lies in the weights (the grid's order is alpha_s^0 alpha^0): it cancels in ratios.

Targets (:data:`TARGETS`): ``proton``, and ``deuteron`` per nucleon, (pp + pn) / 2 with the
neutron from isospin (u_n = d_p, d_n = u_p, antiquarks alike): no nuclear corrections.

:func:`luminosity_entries` lists the PDG pairs (beam, target-as-proton) with their factors, the
one channel of the grid; :func:`direct_cross_section` evaluates the formula itself (flavour by
flavour, not through that list) for the checks; :func:`point_grid` writes the PineAPPL grid
(weights on f on the given x nodes: local Lagrange interpolation of x f in ln x).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

ALPHA = 1.0 / 137.036
HBARC2 = 0.3893793721e9  # (hbar c)^2 in pb GeV^2
CHARGES = {1: -1.0 / 3.0, 2: 2.0 / 3.0, 3: -1.0 / 3.0, 4: 2.0 / 3.0, 5: -1.0 / 3.0}
ISOSPIN = {1: 2, 2: 1, -1: -2, -2: -1}  # proton <-> neutron; other flavours stay
TARGETS = ("proton", "deuteron")
INTERPOLATION_DEGREE = 4


def momentum_fractions(y, m2, sqrts) -> tuple[np.ndarray, np.ndarray]:
    """``(x1, x2)`` of the beam and target partons: ``sqrt(M^2/s) e^(+-y)``."""
    root_tau = np.sqrt(np.asarray(m2, dtype=float)) / np.asarray(sqrts, dtype=float)
    y = np.asarray(y, dtype=float)
    return root_tau * np.exp(y), root_tau * np.exp(-y)


def sigma0(m2, sqrts) -> np.ndarray:
    """``4 pi alpha^2 / (9 M^2 s)`` in pb/GeV^2."""
    s = np.asarray(sqrts, dtype=float) ** 2
    return 4.0 * np.pi * ALPHA**2 / (9.0 * np.asarray(m2, dtype=float) * s) * HBARC2


def target_as_proton(pid: int, target: str) -> list[tuple[int, float]]:
    """Parton ``pid`` of the target as proton partons with weights (isospin for deuterons)."""
    if target == "proton":
        return [(pid, 1.0)]
    if target == "deuteron":
        return [(pid, 0.5), (ISOSPIN.get(pid, pid), 0.5)]
    raise ValueError(f"target {target!r}; known: {', '.join(TARGETS)}")


def luminosity_entries(target: str) -> list[tuple[tuple[int, int], float]]:
    """``[((beam pid, target pid as a proton's), factor), ...]``: the LO q qbar luminosity."""
    entries: dict[tuple[int, int], float] = {}
    for q, charge in CHARGES.items():
        for beam in (q, -q):
            for pid, weight in target_as_proton(-beam, target):
                key = (beam, pid)
                entries[key] = entries.get(key, 0.0) + charge**2 * weight
    return sorted(entries.items())


def direct_cross_section(
    xfx: Callable[[int, np.ndarray], np.ndarray], y, m2, sqrts, target: str
) -> np.ndarray:
    """The formula of the module docstring with the proton's ``xfx(pid, x) -> x f``.

    The target's partons are built here flavour by flavour (its own isospin rule), not from
    :func:`luminosity_entries`, so the two can check each other.
    """
    x1, x2 = momentum_fractions(y, m2, sqrts)

    def target_f(pid: int) -> np.ndarray:
        proton = xfx(pid, x2) / x2
        if target == "proton":
            return proton
        neutron = xfx({1: 2, 2: 1, -1: -2, -2: -1}.get(pid, pid), x2) / x2
        return 0.5 * (proton + neutron)

    total = 0.0
    for q, charge in CHARGES.items():
        beam_q, beam_qbar = xfx(q, x1) / x1, xfx(-q, x1) / x1
        total = total + charge**2 * (beam_q * target_f(-q) + beam_qbar * target_f(q))
    return sigma0(m2, sqrts) * total


def interpolation_weights(x: float, nodes: np.ndarray, degree: int = INTERPOLATION_DEGREE):
    """``(len(nodes),)`` weights w with ``f(x) ~ sum_i w_i f(x_i)``.

    Lagrange interpolation of x f in ln x on the ``degree + 1`` nodes around ``x`` (x f is
    smoother than f at small x): ``w_i = L_i(ln x) x_i / x``.
    """
    logs = np.log(nodes)
    start = int(np.clip(np.searchsorted(logs, np.log(x)) - (degree + 1) // 2, 0, len(nodes)))
    start = min(start, len(nodes) - degree - 1)
    stencil = np.arange(start, start + degree + 1)
    weights = np.zeros(len(nodes))
    for i in stencil:
        others = logs[stencil[stencil != i]]
        weights[i] = np.prod((np.log(x) - others) / (logs[i] - others)) * nodes[i] / x
    return weights


def point_grid(y: Sequence[float], m2: Sequence[float], sqrts: float, target: str, xgrid):
    """A PineAPPL grid of LO d^2 sigma / dM^2 dy at each point (bins ``[k, k + 1)``).

    One channel (:func:`luminosity_entries`), order (0, 0, 0, 0, 0), scale mu_F^2 = mu_R^2 = M^2
    (one scale node per bin), both convolutions the proton's (the target's isospin is in the
    channel).
    """
    from pineappl.subgrid import ImportSubgridV1

    from n3fit_gpu.physics.nnpdf_layout import empty_grid

    xgrid = np.asarray(xgrid, dtype=float)
    entries = [([a, b], factor) for (a, b), factor in luminosity_entries(target)]
    grid = empty_grid([entries], len(y), 2, False, float(min(m2)), float(xgrid[0]))
    x1, x2 = momentum_fractions(y, m2, sqrts)
    for k, (a, b, q2) in enumerate(zip(x1, x2, m2)):
        weights = sigma0(q2, sqrts) * np.multiply.outer(
            interpolation_weights(a, xgrid), interpolation_weights(b, xgrid)
        )
        subgrid = ImportSubgridV1(array=weights[None], node_values=[np.array([q2]), xgrid, xgrid])
        grid.set_subgrid(0, k, 0, subgrid.into())
    return grid
