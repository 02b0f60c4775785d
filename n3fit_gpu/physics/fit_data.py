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
from dataclasses import dataclass, replace

import numpy as np

from n3fit_gpu.errors import TheoryError
from n3fit_gpu.physics.commondata import CommonData, DatasetSpec, load_commondata
from n3fit_gpu.physics.covariance import Covariance, build_covariance
from n3fit_gpu.physics.cuts import apply_cuts
from n3fit_gpu.physics.diagonal import diagonal_basis
from n3fit_gpu.physics.losses import Chi2Terms, FitTensors
from n3fit_gpu.physics.pdf_sets import pdf_at_q0
from n3fit_gpu.physics.pseudodata import component_masks, sample_replicas, training_masks
from n3fit_gpu.physics.theory import ObservableTheory, Theory


@dataclass(frozen=True)
class FitData:
    """The data side of a fit; arrays concatenate datasets in runcard order (n points)."""

    datasets: tuple[CommonData, ...]
    observables: tuple[ObservableTheory, ...]  # FK tables, rows matched to ``datasets``
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


def predict(observable: ObservableTheory, xf: np.ndarray) -> np.ndarray:
    """Predictions ``(ndata,)`` of one observable for x·f ``(nbasis, nx)`` (NumPy)."""
    values = [np.einsum("nbx,bx->n", fk, xf) for fk in observable.fktables]
    return values[0] / values[1] if observable.operation == "RATIO" else values[0]


def _match_rows(cd: CommonData, obs: ObservableTheory, theory: Theory) -> ObservableTheory:
    """Keep the FK rows of the points that survived the cuts, in the data's order."""
    row_of = {int(i): row for row, i in enumerate(obs.data_indices)}
    missing = [int(i) for i in cd.indices if int(i) not in row_of]
    if missing:
        raise TheoryError(
            f"theory {theory.theoryid} has no FK rows for {len(missing)} points of {cd.name} "
            f"(built with cuts {theory.cuts}); loosen datacuts no further than that, or rebuild "
            "the theory with scripts/build_theory.py"
        )
    rows = np.array([row_of[int(i)] for i in cd.indices])
    return replace(obs, fktables=tuple(fk[rows] for fk in obs.fktables), data_indices=cd.indices)


def load_datasets(
    card, theory: Theory
) -> tuple[tuple[CommonData, ...], tuple[ObservableTheory, ...]]:
    """Data after the runcard's cuts, and their FK tables restricted to the same points."""
    datasets, observables = [], []
    for entry in card.dataset_inputs:
        spec = DatasetSpec(name=entry.dataset, variant=entry.variant, frac=entry.frac)
        cd = apply_cuts(load_commondata(spec), card.datacuts.q2min, card.datacuts.w2min)
        if entry.dataset not in theory.datasets:
            raise TheoryError(
                f"dataset {entry.dataset} is not in theory {theory.theoryid} (it has "
                f"{', '.join(sorted(theory.datasets))}); remove it or build a theory with it"
            )
        datasets.append(cd)
        observables.append(_match_rows(cd, theory.datasets[entry.dataset], theory))
    return tuple(datasets), tuple(observables)


def closure_central(card, theory: Theory, datasets, observables) -> np.ndarray:
    """Level-0 data (predictions of the truth ``fakepdf``), plus level-1 noise (``fakenoise``)."""
    truth = pdf_at_q0(card.closuretest.fakepdf, theory, key="closuretest.fakepdf")
    central = np.concatenate([predict(obs, truth) for obs in observables])
    if card.closuretest.fakenoise:
        faked = [cd.with_central(central[s]) for cd, s in zip(datasets, _slices(datasets))]
        central = sample_replicas(faked, card.closuretest.filterseed, [0])[0]
    return central


def load_fitted_datasets(
    card, theory: Theory
) -> tuple[tuple[CommonData, ...], tuple[ObservableTheory, ...]]:
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
    covariance = build_covariance(datasets, t0_predictions(card, theory, observables))
    central = np.concatenate([cd.central for cd in datasets])
    if card.genrep:
        pseudodata = sample_replicas(datasets, card.mcseed, replicas)
    else:
        pseudodata = np.repeat(central[None, :], len(replicas), axis=0)
    if card.diagonal_basis:
        masks = component_masks(
            central.size, card.diagonal_frac, card.trvlseed, replicas, card.same_trvl_per_replica
        )
    else:
        masks = training_masks(
            [cd.ndata for cd in datasets],
            [e.frac for e in card.dataset_inputs],
            card.trvlseed,
            replicas,
            card.same_trvl_per_replica,
        )
    return FitData(
        datasets=datasets,
        observables=observables,
        central=central,
        covariance=covariance,
        pseudodata=pseudodata,
        training_mask=masks,
        replicas=tuple(replicas),
    )


def _constraint_rows(
    entries, available, kind: str, theory: Theory, start: int
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    tables, rows, groups, maxlambda = [], [], [], []
    for g, entry in enumerate(entries):
        if entry.dataset not in available:
            raise TheoryError(
                f"{kind} observable {entry.dataset} is not in theory {theory.theoryid}; "
                f"available: {', '.join(sorted(available))}"
            )
        fk = available[entry.dataset].fktables[0]
        tables.append(fk)
        rows.append(np.arange(start, start + fk.shape[0]))
        groups.append(np.full(fk.shape[0], g))
        maxlambda.append(entry.maxlambda)
        start += fk.shape[0]
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, int)  # noqa: E731
    return tables, cat(rows), cat(groups), np.asarray(maxlambda, dtype=float)


def positivity_tables(card, theory: Theory) -> tuple[np.ndarray, np.ndarray, int]:
    """The FK rows ``(p, nbasis, nx)`` of the runcard's positivity observables, the index of
    each row's observable ``(p,)``, and the number of observables."""
    tables, _, groups, maxlambda = _constraint_rows(
        card.positivity.posdatasets, theory.positivity, "positivity", theory, 0
    )
    shape = (0, len(theory.basis), theory.xgrid.size)
    return (np.concatenate(tables) if tables else np.zeros(shape)), groups, len(maxlambda)


def fit_tensors(card, theory: Theory, data: FitData) -> FitTensors:
    """Stack every FK row of the fit and precompute the per-replica χ² terms (the Woodbury
    inverses in the precision the card trains in)."""
    tables, numerator, denominator, is_ratio = [], [], [], []
    start = 0
    for obs in data.observables:
        n = obs.fktables[0].shape[0]
        tables.extend(obs.fktables)
        numerator.append(np.arange(start, start + n))
        ratio = obs.operation == "RATIO"
        denominator.append(
            np.arange(start + n, start + 2 * n) if ratio else np.arange(start, start + n)
        )
        is_ratio.append(np.full(n, ratio))
        start += n * len(obs.fktables)
    pos_tables, pos_rows, pos_group, pos_max = _constraint_rows(
        card.positivity.posdatasets, theory.positivity, "positivity", theory, start
    )
    start += sum(t.shape[0] for t in pos_tables)
    int_tables, int_rows, int_group, int_max = _constraint_rows(
        card.integrability.integdatasets, theory.integrability, "integrability", theory, start
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
        fk=np.concatenate(tables + pos_tables + int_tables),
        numerator=np.concatenate(numerator),
        denominator=np.concatenate(denominator),
        is_ratio=np.concatenate(is_ratio),
        pseudodata=data.pseudodata,
        cov_diag=cov.diag,
        cov_sys=cov.sys,
        training=Chi2Terms.build(cov.diag, cov.sys, mask, floatx),
        validation=Chi2Terms.build(cov.diag, cov.sys, ~data.training_mask & kept, floatx),
        pos_rows=pos_rows,
        pos_group=pos_group,
        pos_maxlambda=pos_max,
        integ_rows=int_rows,
        integ_group=int_group,
        integ_maxlambda=int_max,
        rotations=rotations,
    )
