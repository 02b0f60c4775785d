"""A PDF at the parametrisation scale Q0, named in a runcard: the theory's t0 PDF, ``toy``, or
an LHAPDF6 set.

Used by the t0 prescription (``datacuts.t0pdfset``): its predictions replace the measured
central values in multiplicative uncertainties (:func:`.covariance.absolute_sys`), and as the
truth of closure tests (``closuretest.fakepdf``).

- ``None`` (or the t0 PDF's name): the t0 PDF shipped with the theory (:meth:`Theory.t0_xf`);
- ``toy``, ``steep_sea``, ``soft_gluon``: the built-in analytic truths (:mod:`.truths`);
- a shipped theory's name (e.g. ``n3fit_gpu_dis_nlo`` for a fit on an NNPDF folder): that
  theory's own t0 PDF, if its Q0 is this theory's, interpolated in ln x to this x grid;
- a path: the folder of an LHAPDF6 ``lhagrid1`` set, e.g. ``output/<fit>/lhapdf/<fit>`` as our
  own fits write it; a bare name is looked up in ``$LHAPDF_DATA_PATH`` (then ``$LHAPATH``), as
  LHAPDF does. Member 0 (the central PDF) is read at Q0, which must be a Q knot of the set
  (a set fitted at this theory's Q0: no evolution is done here), then interpolated to the
  theory's x grid with LHAPDF's own scheme (cubic Hermite in ln x, derivatives from the mean of
  the neighbouring finite differences) — exact at knots, so a set written on the theory's grid
  is reproduced exactly — and rotated to the theory's evolution basis.

Shapes: x·f is ``(nbasis, nx)`` on ``theory.xgrid`` in the order of ``theory.basis``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from n3fit_gpu.errors import PDFSetError
from n3fit_gpu.outputs.lhapdf import Subgrid, lhapdf_member_file, read_lhapdf_member
from n3fit_gpu.physics.theory import (
    Q0_PIDS,
    SHIPPED_DIR,
    Theory,
    evolution_rotation,
    load_theory,
    read_metadata,
    shipped_theories,
)
from n3fit_gpu.physics.truths import TRUTHS

TOY = "toy"
_Q_TOLERANCE = 1e-6  # relative: Q knots are written with 17 digits
_X_TOLERANCE = 1e-12  # relative, at the ends of the x range


def pdf_at_q0(spec: str | None, theory: Theory, key: str = "datacuts.t0pdfset") -> np.ndarray:
    """x·f ``(nbasis, nx)`` at Q0 on the theory's x grid, in its basis, of ``spec``.

    Parameters
    ----------
    spec : str | None
        None or the theory's t0 name (its t0 PDF), a built-in truth (``toy``...), or an
        LHAPDF6 set: a folder or a name on ``$LHAPDF_DATA_PATH`` (member 0 is used).
    theory : Theory
        gives Q0, the x grid and the evolution basis.
    key : str
        the runcard key ``spec`` came from, for error messages.

    Raises
    ------
    PDFSetError
        a missing or malformed set, no Q knot at Q0, or an x range not covering the theory's.
    """
    if spec is None or spec == theory.t0_name:
        return theory.t0_xf()
    if spec in TRUTHS:
        return TRUTHS[spec].xf_evolution(theory.xgrid, theory.basis)
    if spec in shipped_theories():
        return _shipped_t0(spec, theory, key)
    try:
        subgrids = read_lhapdf_member(_set_folder(spec), 0)
    except PDFSetError as error:
        raise PDFSetError(f"{key}: {error} (or set it to {TOY})") from None
    subgrid, iq = _q0_knot(subgrids, theory.q0, spec, key)
    flavours = _interpolate_lnx(subgrid.xgrid, subgrid.xf[iq], theory.xgrid, spec, key)
    return evolution_rotation(theory.basis) @ _q0_flavours(subgrid.pids, flavours)


def check_pdf_spec(spec: str | None, t0_name: str | None, key: str) -> None:
    """Raise :class:`PDFSetError` unless ``spec`` names a PDF :func:`pdf_at_q0` can find (the
    theory's t0 ``t0_name``, a built-in truth or an LHAPDF set on disk); reads no grid."""
    if spec is None or spec == t0_name or spec in TRUTHS:
        return
    if spec in shipped_theories():
        if read_metadata(SHIPPED_DIR / spec).get("t0") is None:
            raise PDFSetError(f"{key}: theory {spec} ships no t0 PDF; name another (or {TOY})")
        return
    try:
        lhapdf_member_file(_set_folder(spec), 0)
    except PDFSetError as error:
        raise PDFSetError(f"{key}: {error} (or set it to {TOY})") from None


def _shipped_t0(name: str, theory: Theory, key: str) -> np.ndarray:
    """The t0 PDF of the shipped theory ``name`` at ``theory``'s Q0, interpolated in ln x to
    its x grid if the grids differ; the two Q0 (and bases) must agree (no evolution here)."""
    source = load_theory(name)
    if source.t0_name is None:
        raise PDFSetError(f"{key}: theory {name} ships no t0 PDF; name another (or {TOY})")
    if not np.isclose(source.q0, theory.q0, rtol=_Q_TOLERANCE) or source.basis != theory.basis:
        raise PDFSetError(
            f"{key}: the t0 PDF of theory {name} is at Q0 = {source.q0:g} GeV, this theory's "
            f"Q0 is {theory.q0:g} GeV; name a PDF at this Q0 (an LHAPDF set, or {TOY})"
        )
    xf = source.t0_xf()
    if source.xgrid.shape == theory.xgrid.shape and np.allclose(source.xgrid, theory.xgrid):
        return xf
    return _interpolate_lnx(source.xgrid, xf, theory.xgrid, name, key)


def _set_folder(spec: str) -> Path:
    """The folder of set ``spec``: itself if it exists, else ``<dir>/<spec>`` for the first dir
    of ``$LHAPDF_DATA_PATH`` (or ``$LHAPATH``) holding it; else ``spec`` (the reader says why)."""
    path = Path(spec)
    if path.exists() or path.name != spec:
        return path
    search = os.environ.get("LHAPDF_DATA_PATH") or os.environ.get("LHAPATH") or ""
    for directory in filter(None, search.split(os.pathsep)):
        if (Path(directory) / spec).is_dir():
            return Path(directory) / spec
    return path


def _q0_knot(subgrids: list[Subgrid], q0: float, spec: str, key: str) -> tuple[Subgrid, int]:
    """The subgrid and knot index at ``q0``; above a threshold at Q0, the upper subgrid."""
    for subgrid in reversed(subgrids):
        hits = np.flatnonzero(np.isclose(subgrid.q, q0, rtol=_Q_TOLERANCE, atol=0))
        if hits.size:
            return subgrid, int(hits[0])
    ranges = ", ".join(f"{g.q[0]:g}–{g.q[-1]:g}" for g in subgrids)
    raise PDFSetError(
        f"{key}: set '{spec}' has no Q knot at the theory's Q0 = {q0:g} GeV (its subgrids: "
        f"{ranges} GeV); use a set fitted with this theory (e.g. one of our fits' lhapdf/ sets)"
    )


def _interpolate_lnx(
    knots: np.ndarray, values: np.ndarray, x: np.ndarray, spec: str, key: str
) -> np.ndarray:
    """``values`` ``(npid, nk)`` on x ``knots`` → ``(npid, nx)`` at ``x``, LHAPDF's log-cubic."""
    lo, hi = knots[0] * (1 - _X_TOLERANCE), knots[-1] * (1 + _X_TOLERANCE)
    if x.min() < lo or x.max() > hi:
        raise PDFSetError(
            f"{key}: set '{spec}' covers {knots[0]:g} ≤ x ≤ {knots[-1]:g} but the theory needs "
            f"{x.min():g} ≤ x ≤ {x.max():g}; use a set with a wider x grid"
        )
    ln_knots = np.log(knots)
    slopes = np.diff(values, axis=-1) / np.diff(ln_knots)
    derivatives = np.concatenate(
        [slopes[:, :1], 0.5 * (slopes[:, :-1] + slopes[:, 1:]), slopes[:, -1:]], axis=-1
    )
    spline = CubicHermiteSpline(ln_knots, values, derivatives, axis=-1)
    return spline(np.log(np.clip(x, knots[0], knots[-1])))


def _q0_flavours(pids: tuple[int, ...], xf: np.ndarray) -> np.ndarray:
    """``(len(Q0_PIDS), nx)`` in ``Q0_PIDS`` order; a flavour the set lacks is zero (as LHAPDF)."""
    column = {21 if p == 0 else p: i for i, p in enumerate(pids)}  # LHAPDF: 0 is the gluon too
    zeros = np.zeros(xf.shape[-1])
    return np.stack([xf[column[p]] if p in column else zeros for p in Q0_PIDS])
