"""Assemble what a PDF fit trains on: data after cuts matched to FK rows, covariance,
per-replica pseudodata and training masks, positivity and integrability rows.

Closure tests (NNPDF's methodology): with ``closuretest.fakedata`` the central values are
replaced by the truth's predictions (level 0); ``fakenoise`` adds ONE draw of experimental
noise seeded by ``filterseed`` (level 1); fitting MC replicas of those (``genrep``) is level 2.
The truth is ``closuretest.fakepdf``: the analytic toy PDF of :mod:`.toy_pdf` (``toy``) or
an LHAPDF6 set (:func:`~n3fit_gpu.physics.pdf_sets.pdf_at_q0`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from n3fit_gpu.errors import TheoryError
from n3fit_gpu.physics.commondata import CommonData, DatasetSpec, load_commondata
from n3fit_gpu.physics.covariance import Covariance, build_covariance
from n3fit_gpu.physics.cuts import apply_cuts
from n3fit_gpu.physics.diagonal import diagonal_basis
from n3fit_gpu.physics.losses import Chi2Terms, FitTensors
from n3fit_gpu.physics.observables.predict import predict, predict_stacked
from n3fit_gpu.physics.observables.protocol import Observable
from n3fit_gpu.physics.pdf_sets import pdf_at_q0
from n3fit_gpu.physics.pseudodata import component_masks, sample_replicas, training_masks
from n3fit_gpu.physics.theory import Theory


@dataclass(frozen=True)
class FitData:
    """The data side of a fit; arrays concatenate datasets in runcard order (n points)."""

    datasets: tuple[CommonData, ...]
    observables: tuple[Observable, ...]  # FK tables, rows matched to ``datasets``
    central: np.ndarray  # (n,) data (or closure fake data) the replicas fluctuate around
    covariance: Covariance
    pseudodata: np.ndarray  # (R, n)
    training_mask: np.ndarray  # (R, n) bool, over points (or diagonal-basis components)
    replicas: tuple[int, ...]
    held_out: np.ndarray | None = None  # (n,) bool: k-fold points out of training AND validation

    @property
    def slices(self) -> dict[str, slice]:
        offsets = np.cumsum([0, *(cd.ndata for cd in self.datasets)])
        return {cd.name: slice(a, b) for cd, a, b in zip(self.datasets, offsets[:-1], offsets[1:])}


def _match_rows(cd: CommonData, obs: Observable, theory: Theory) -> Observable:
    """Keep the FK rows of the points that survived the cuts, in the data's order, with the
    dataset's C-factors (``cfac``) applied to its predictions."""
    where = f"theory {theory.theoryid} (built with cuts {theory.cuts})"
    matched = obs.select_points(cd.indices, where)
    return matched if cd.cfactor is None else matched.scaled(np.asarray(cd.cfactor))


def load_datasets(card, theory: Theory) -> tuple[tuple[CommonData, ...], tuple[Observable, ...]]:
    """Data after the runcard's cuts (those of each observable's kind), and their FK tables
    restricted to the same points."""
    datasets, observables = [], []
    for entry in card.dataset_inputs:
        spec = DatasetSpec(
            name=entry.dataset, variant=entry.variant, frac=entry.frac, cfac=entry.cfac
        )
        if entry.dataset not in theory.datasets:
            raise TheoryError(
                f"dataset {entry.dataset} is not in theory {theory.theoryid} (it has "
                f"{', '.join(sorted(theory.datasets))}); remove it or build a theory with it"
            )
        obs = theory.datasets[entry.dataset]
        cd = load_commondata(spec)
        keep = obs.cut_mask(cd.kinematics, card.datacuts)
        cd = apply_cuts(cd, card.datacuts.q2min, card.datacuts.w2min, keep)
        datasets.append(cd)
        observables.append(_match_rows(cd, obs, theory))
    return tuple(datasets), tuple(observables)


def closure_central(card, theory: Theory, datasets, observables) -> np.ndarray:
    """Level-0 data (predictions of the truth ``fakepdf``), plus level-1 noise (``fakenoise``)."""
    truth = pdf_at_q0(card.closuretest.fakepdf, theory, key="closuretest.fakepdf")
    central = predict_stacked(observables, truth.T[None])[0]
    if card.closuretest.fakenoise:
        faked = [cd.with_central(central[s]) for cd, s in zip(datasets, _slices(datasets))]
        central = sample_replicas(
            faked, card.closuretest.filterseed, [0], card.resample_negative_pseudodata
        )[0]
    return central


def load_fitted_datasets(
    card, theory: Theory
) -> tuple[tuple[CommonData, ...], tuple[Observable, ...]]:
    """:func:`load_datasets`, with the closure test's fake data as central values when
    ``closuretest.fakedata``: the data a fit is fitted to and judged against."""
    datasets, observables = load_datasets(card, theory)
    if card.closuretest.fakedata:
        central = closure_central(card, theory, datasets, observables)
        datasets = tuple(cd.with_central(central[s]) for cd, s in zip(datasets, _slices(datasets)))
    return datasets, observables


def t0_predictions(card, theory: Theory, observables) -> list[np.ndarray]:
    """Per dataset, ``(ndata,)`` predictions of ``datacuts.t0pdfset`` (null: the theory's own
    t0 PDF). Every fit uses the t0 covariance, as n3fit does."""
    xf = pdf_at_q0(card.datacuts.t0pdfset, theory, key="datacuts.t0pdfset")
    return [predict(obs, xf) for obs in observables]


def _slices(datasets: Sequence[CommonData]) -> list[slice]:
    offsets = np.cumsum([0, *(cd.ndata for cd in datasets)])
    return [slice(a, b) for a, b in zip(offsets[:-1], offsets[1:])]


def load_fit_data(card, theory: Theory, replicas: Sequence[int]) -> FitData:
    """Everything data-side for the given replica indices (1-based, as in NNPDF)."""
    datasets, observables = load_fitted_datasets(card, theory)
    fracs = [e.frac for e in card.dataset_inputs]
    t0 = t0_predictions(card, theory, observables)
    return assemble_fit_data(card, datasets, observables, fracs, t0, replicas)


def assemble_fit_data(
    card,
    datasets: Sequence[CommonData],
    observables: Sequence[Observable],
    fracs: Sequence[float],
    t0: Sequence[np.ndarray],
    replicas: Sequence[int],
) -> FitData:
    """:class:`FitData` of given datasets and their observables (``fracs``: each dataset's
    training fraction; ``t0``: its t0 predictions), with the card's seeds and split."""
    covariance = build_covariance(datasets, t0)
    central = np.concatenate([cd.central for cd in datasets])
    if card.genrep:
        pseudodata = sample_replicas(
            datasets, card.mcseed, replicas, card.resample_negative_pseudodata
        )
    else:
        pseudodata = np.repeat(central[None, :], len(replicas), axis=0)
    if card.diagonal_basis:
        masks = component_masks(
            central.size, card.diagonal_frac, card.trvlseed, replicas, card.same_trvl_per_replica
        )
    else:
        masks = training_masks(
            [cd.ndata for cd in datasets],
            fracs,
            card.trvlseed,
            replicas,
            card.same_trvl_per_replica,
        )
    return FitData(
        datasets=tuple(datasets),
        observables=tuple(observables),
        central=central,
        covariance=covariance,
        pseudodata=pseudodata,
        training_mask=masks,
        replicas=tuple(replicas),
    )


def constraint_observables(entries, available, kind: str, theory: Theory) -> tuple:
    """The runcard's positivity or integrability observables, their λ bounds ``(obs,)`` and
    the index of each prediction's observable ``(p,)``."""
    observables = []
    for entry in entries:
        if entry.dataset not in available:
            raise TheoryError(
                f"{kind} observable {entry.dataset} is not in theory {theory.theoryid}; "
                f"available: {', '.join(sorted(available))}"
            )
        observables.append(available[entry.dataset])
    maxlambda = np.asarray([entry.maxlambda for entry in entries], dtype=float)
    group = np.concatenate([np.full(o.ndata, g) for g, o in enumerate(observables)] or [[]])
    return tuple(observables), maxlambda, group.astype(int)


def positivity_observables(card, theory: Theory) -> tuple:
    """:func:`constraint_observables` of ``positivity.posdatasets``."""
    return constraint_observables(
        card.positivity.posdatasets, theory.positivity, "positivity", theory
    )


def fit_tensors(card, theory: Theory, data: FitData) -> FitTensors:
    """Every observable of the fit and the per-replica χ² terms (the Woodbury inverses in the
    precision the card trains in)."""
    pos, pos_max, pos_group = positivity_observables(card, theory)
    integ, int_max, int_group = constraint_observables(
        card.integrability.integdatasets, theory.integrability, "integrability", theory
    )
    floatx = np.float64 if card.double_precision else np.float32
    kept = np.ones(data.central.size, bool) if data.held_out is None else ~data.held_out
    rotations = None
    if card.diagonal_basis:  # χ² of rotated residuals: eigenvalues, no systematics
        basis = diagonal_basis(data.covariance, kept)
        cov = Covariance(basis.eigenvalues, np.zeros((kept.size, 0)), ())
        kept, rotations = basis.valid, basis.rotations
    else:
        cov = data.covariance
    mask = data.training_mask & kept
    return FitTensors(
        observables=(data.observables, pos, integ),
        pseudodata=data.pseudodata,
        cov_diag=cov.diag,
        cov_sys=cov.sys,
        training=Chi2Terms.build(cov.diag, cov.sys, mask, floatx),
        validation=Chi2Terms.build(cov.diag, cov.sys, ~data.training_mask & kept, floatx),
        pos_group=pos_group,
        pos_maxlambda=pos_max,
        integ_group=int_group,
        integ_maxlambda=int_max,
        rotations=rotations,
    )
