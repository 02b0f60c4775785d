"""n3fit's diagonal basis: the rotation diagonalises the covariance, keeps χ² unchanged, leaves
held-out points out, and the training/validation split is over its components."""

from pathlib import Path

import numpy as np
import pytest
from keras import ops

from n3fit_gpu.config import load_runcard
from n3fit_gpu.physics.diagonal import diagonal_basis
from n3fit_gpu.physics.fit_data import fit_tensors, load_fit_data, predict
from n3fit_gpu.physics.losses import PDFLoss, PenaltySchedule
from n3fit_gpu.physics.pseudodata import component_masks
from n3fit_gpu.physics.theory import load_theory

QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"


@pytest.fixture(scope="module")
def setup():
    card = load_runcard(QUICKSTART)
    theory = load_theory(card.theory.theoryid)
    return card, theory, load_fit_data(card, theory, [1, 2, 3])


def test_defaults_are_n3fits():
    card = load_runcard(QUICKSTART)
    assert card.diagonal_basis is True and card.diagonal_frac == 0.75
    fields = type(card.dataset_inputs[0]).model_fields
    assert fields["frac"].default == 1.0


def test_rotation_diagonalises_each_block_and_keeps_chi2(setup):
    _, _, data = setup
    dense = data.covariance.dense()
    basis = diagonal_basis(data.covariance)
    assert len(basis.segments) > 1 and basis.valid.all()  # one block per correlated experiment
    for (a, b), rotation in zip(basis.segments, basis.rotations, strict=True):
        rotated = rotation @ dense[a:b, a:b] @ rotation.T
        np.testing.assert_allclose(rotated, np.diag(basis.eigenvalues[a:b]), atol=1e-10)
    residual = np.random.default_rng(1).standard_normal(dense.shape[0]) * np.sqrt(np.diag(dense))
    chi2 = np.sum(basis.rotate(residual) ** 2 / basis.eigenvalues)
    assert chi2 == pytest.approx(residual @ np.linalg.solve(dense, residual), rel=1e-10)


def test_held_out_points_are_left_out_of_the_decomposition(setup):
    _, _, data = setup
    dense = data.covariance.dense()
    kept = np.ones(dense.shape[0], bool)
    kept[40:380] = False  # across two experiments' blocks
    basis = diagonal_basis(data.covariance, kept)
    assert basis.valid.sum() == kept.sum()
    residual = np.random.default_rng(2).standard_normal(kept.size) * np.sqrt(np.diag(dense))
    wild = np.where(kept, residual, 1e9)  # whatever the held-out points do...
    rotated = basis.rotate(wild)
    chi2 = np.sum(rotated[basis.valid] ** 2 / basis.eigenvalues[basis.valid])
    sub = np.ix_(kept, kept)
    assert chi2 == pytest.approx(residual[kept] @ np.linalg.solve(dense[sub], residual[kept]))
    assert np.all(rotated[~basis.valid] == 0)  # ...the empty components see nothing


def test_component_masks_split_exactly_and_per_replica():
    masks = component_masks(1000, 0.75, trvlseed=5, replicas=[1, 2, 3])
    assert masks.sum(axis=1).tolist() == [750, 750, 750]
    assert not np.array_equal(masks[0], masks[1])
    np.testing.assert_array_equal(masks[1:], component_masks(1000, 0.75, 5, [2, 3]))
    same = component_masks(1000, 0.75, 5, [1, 2], same_trvl_per_replica=True)
    np.testing.assert_array_equal(same[0], same[1])


def test_training_plus_validation_is_the_full_chi2(setup, float64):
    """In the diagonal basis the training and validation χ² split the full χ² exactly."""
    card, theory, data = setup
    card = card.model_copy(update={"double_precision": True})
    tensors = fit_tensors(card, theory, data)
    loss = PDFLoss(tensors, PenaltySchedule(1.0, None, 10), PenaltySchedule(1.0, None, 10),
                   pos_threshold=1e-6, threshold_chi2=10.0, dtype="float64")  # fmt: skip
    xf = np.stack([theory.t0_xf()] * 3)  # (R, nbasis, nx) → the model's (R, nx, nbasis)
    result = loss(ops.convert_to_tensor(np.swapaxes(xf, 1, 2)), 0)
    n_tr = tensors.training.mask.sum(axis=1)
    n_vl = tensors.validation.mask.sum(axis=1)
    total = (
        ops.convert_to_numpy(result.training) * n_tr
        + ops.convert_to_numpy(result.validation) * n_vl
    )
    residual = np.concatenate([predict(o, xf[0]) for o in data.observables]) - data.pseudodata
    dense = data.covariance.dense()
    expected = [r @ np.linalg.solve(dense, r) for r in residual]
    np.testing.assert_allclose(total, expected, rtol=1e-8)
