"""Analytic PDFs at Q0 that closure tests can take as their truth (``closuretest.fakepdf``).

Each flavour's x·f is a sum of terms ``c x^a (1-x)^b``, so its integrals are Euler Beta
functions: the valence normalisations fix ∫u_v = 2 and ∫d_v = 1, the gluon's fixes the
momentum sum rule ∫x(Σ + g) = 1, exactly. Quarks are q = q_v + q̄ for u and d, s = s̄, c = c̄,
no bottom.

Every truth here satisfies what the shipped runcards impose on a fit: positive x f at Q0, and
x f → 0 as x → 0 for the integrable combinations (T3, T8, V, V3, V8) — so the strange sea
equals the light sea's mean at small x (else x T8 ~ x·sea does not vanish) and may only be
suppressed at larger x, by a factor 1 - k x^p with p large enough that x T8 ~ x^(p+a_sea) is
negligible at the integrability points (x ≥ 2e-7).

Truths (:data:`TRUTHS`):

* ``toy``: the Les Houches benchmark shapes (hep-ph/0204316, sec. 4.4), with a strange sea
  (1-x)² (ū + d̄)/2 and charm 0.1 ū (see :mod:`.toy_pdf`);
* ``steep_sea``: a sea falling steeply at large x ((1-x)^9), d̄ > ū (asymmetry x^0.85), a flat
  small-x gluon (x g → const), strangeness suppressed at large x (1 - 0.6 x^0.6);
* ``regge_valence``: ``steep_sea`` with valence quarks rising as Regge theory and global fits
  have them at small x, x q_v ~ x^0.5 (the other truths' x^0.65-0.8 lie outside the small-x
  range NNPDF4.0 samples for V and V8, where DIS data say nothing);
* ``hard_sea``: the toy's valence and gluon with a sea (and charm, 0.3 ū) falling only as
  (1-x)^4: at large x the sea stays well above zero, away from the positivity bound;
* ``soft_gluon``: a hard valence d quark, a gluon rising at small x and soft at large x
  (x^-0.2 (1-x)^4), a sea with ū/d̄ = 1 - 0.6 x^0.7, strangeness suppressed as 1 - 0.8 x^0.8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import beta

from n3fit_gpu.physics.theory import Q0_PIDS, evolution_rotation


@dataclass(frozen=True)
class Term:
    """``c x^a (1-x)^b``, a term of x·f."""

    c: float
    a: float
    b: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.c * x**self.a * (1.0 - x) ** self.b

    def momentum(self) -> float:
        """∫ x f dx = ∫ (x f) dx."""
        return self.c * beta(self.a + 1.0, self.b + 1.0)

    def number(self) -> float:
        """∫ f dx = ∫ (x f) / x dx."""
        return self.c * beta(self.a, self.b + 1.0)

    def times(self, c: float, a: float = 0.0, b: float = 0.0) -> Term:
        """This term multiplied by ``c x^a (1-x)^b``."""
        return Term(self.c * c, self.a + a, self.b + b)


def _sum(terms: Sequence[Term], x: np.ndarray) -> np.ndarray:
    return sum((t(x) for t in terms), np.zeros_like(x))


@dataclass(frozen=True)
class AnalyticPDF:
    """A truth: valence and gluon shapes ``(a, b)`` (normalised by the sum rules) and sea
    terms."""

    name: str
    uv: tuple[float, float]
    dv: tuple[float, float]
    g: tuple[float, float]
    ubar: tuple[Term, ...]
    dbar: tuple[Term, ...]
    s: tuple[Term, ...]
    c: tuple[Term, ...]

    def normalised(self) -> dict[str, tuple[Term, ...]]:
        """Every flavour's terms (``uv``, ``dv``, ``g``, ``ubar``, ``dbar``, ``s``, ``c``)."""
        uv = Term(1.0, *self.uv)
        dv = Term(1.0, *self.dv)
        uv, dv = uv.times(2.0 / uv.number()), dv.times(1.0 / dv.number())
        sea = sum(t.momentum() for t in (*self.ubar, *self.dbar, *self.s, *self.c))
        gluon = Term(1.0, *self.g)
        remaining = 1.0 - uv.momentum() - dv.momentum() - 2.0 * sea
        if remaining <= 0:
            raise ValueError(f"truth {self.name}: the quarks carry all the momentum")
        gluon = gluon.times(remaining / gluon.momentum())
        return {"uv": (uv,), "dv": (dv,), "g": (gluon,), "ubar": self.ubar, "dbar": self.dbar,
                "s": self.s, "c": self.c}  # fmt: skip

    def xf_flavour(self, x: np.ndarray) -> dict[int, np.ndarray]:
        """x f by PDG id (-5..5 without 0, and 21 for the gluon), each of the shape of ``x``."""
        x = np.asarray(x, dtype=float)
        terms = self.normalised()
        xf = {name: _sum(parts, x) for name, parts in terms.items()}
        zero = np.zeros_like(x)
        return {
            -5: zero, -4: xf["c"], -3: xf["s"], -2: xf["ubar"], -1: xf["dbar"],
            1: xf["dv"] + xf["dbar"], 2: xf["uv"] + xf["ubar"], 3: xf["s"], 4: xf["c"],
            5: zero, 21: xf["g"],
        }  # fmt: skip

    def xf_evolution(self, x: np.ndarray, basis: Sequence[str]) -> np.ndarray:
        """x f in the evolution basis, ``(len(basis), nx)`` (labels as ``theory.BASIS``)."""
        flavours = self.xf_flavour(x)
        return evolution_rotation(basis) @ np.stack([flavours[pid] for pid in Q0_PIDS])


_LH_DBAR = Term(0.1939875, -0.1, 6.0)  # the Les Houches benchmark's x d̄
_LH_UBAR = _LH_DBAR.times(1.0, b=1.0)  # x ū = (1-x) x d̄

_HARD_DBAR = Term(0.12, -0.1, 4.0)
_HARD_UBAR = _HARD_DBAR.times(1.0, b=0.5)
_STEEP_DBAR = Term(0.15, -0.15, 9.0)
_STEEP_UBAR = _STEEP_DBAR.times(1.0, b=1.0)
_SOFT_DBAR = Term(0.2, -0.2, 7.0)
_SOFT_UBAR = (_SOFT_DBAR, _SOFT_DBAR.times(-0.6, a=0.7))  # ū = d̄ (1 - 0.6 x^0.7)


def _suppressed_strange(light: Sequence[Term], strength: float, power: float) -> tuple[Term, ...]:
    """s = (ū + d̄)/2 · (1 - strength x^power): the light sea at small x, less at large x."""
    half = [t.times(0.5) for t in light]
    return (*half, *(t.times(-strength, a=power) for t in half))


TRUTHS: dict[str, AnalyticPDF] = {
    truth.name: truth
    for truth in (
        AnalyticPDF(
            name="toy",
            uv=(0.8, 3.0),
            dv=(0.8, 4.0),
            g=(-0.1, 5.0),
            ubar=(_LH_UBAR,),
            dbar=(_LH_DBAR,),
            s=tuple(t.times(0.5, b=2.0) for t in (_LH_UBAR, _LH_DBAR)),
            c=(_LH_UBAR.times(0.1),),
        ),
        AnalyticPDF(
            name="steep_sea",
            uv=(0.7, 3.2),
            dv=(0.75, 4.5),
            g=(0.0, 6.0),
            ubar=(_STEEP_UBAR,),
            dbar=(_STEEP_DBAR,),
            s=_suppressed_strange((_STEEP_UBAR, _STEEP_DBAR), 0.6, 0.6),
            c=(_STEEP_UBAR.times(0.05),),
        ),
        AnalyticPDF(
            name="regge_valence",
            uv=(0.5, 3.2),
            dv=(0.5, 4.5),
            g=(0.0, 6.0),
            ubar=(_STEEP_UBAR,),
            dbar=(_STEEP_DBAR,),
            s=_suppressed_strange((_STEEP_UBAR, _STEEP_DBAR), 0.6, 0.6),
            c=(_STEEP_UBAR.times(0.05),),
        ),
        AnalyticPDF(
            name="hard_sea",
            uv=(0.8, 3.0),
            dv=(0.8, 4.0),
            g=(-0.1, 5.0),
            ubar=(_HARD_UBAR,),
            dbar=(_HARD_DBAR,),
            s=_suppressed_strange((_HARD_UBAR, _HARD_DBAR), 0.5, 0.7),
            c=(_HARD_UBAR.times(0.3),),
        ),
        AnalyticPDF(
            name="soft_gluon",
            uv=(0.65, 2.9),
            dv=(0.7, 3.2),
            g=(-0.2, 4.0),
            ubar=_SOFT_UBAR,
            dbar=(_SOFT_DBAR,),
            s=_suppressed_strange((*_SOFT_UBAR, _SOFT_DBAR), 0.8, 0.8),
            c=(_SOFT_DBAR.times(0.05),),
        ),
    )
}
