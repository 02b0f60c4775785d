"""scripts/nnpdf40_problem.py: the benchmarks' NNPDF4.0-size problem has NNPDF4.0's size, a
real table's sparsity and data a fit can start from."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from nnpdf40_problem import FAMILIES, nnpdf40_problem  # noqa: E402

from n3fit_gpu.physics.observables.predict import predict_stacked  # noqa: E402


@pytest.fixture(scope="module")
def problem():
    return nnpdf40_problem(2)


@pytest.mark.slow
def test_size_and_share_of_hadronic_points_are_nnpdf40s(problem):
    _, _, data = problem
    hadronic = sum(o.ndata for o in data.observables if o.kind == "hadronic")
    assert 4500 <= data.central.size <= 4800
    assert hadronic == sum(f.points for f in FAMILIES)
    assert 0.4 <= hadronic / data.central.size <= 0.6
    assert data.pseudodata.shape == data.training_mask.shape == (2, data.central.size)


@pytest.mark.slow
def test_each_point_fills_an_upper_set_of_x_nodes_as_evolution_does(problem):
    """Weight at (x_i, x_j) implies weight at every larger x_i' >= x_i, x_j' >= x_j (evolution
    moves partons to smaller x only); and, as in a real table, much of the box is zero."""
    _, _, data = problem
    for obs in (o for o in data.observables if o.kind == "hadronic"):
        (kernel,) = obs.kernels
        plan = kernel.plan
        size = plan.hi - plan.lo
        support = (plan.matrix.reshape(len(plan.left), size, size, -1) != 0).any(axis=0)
        upper = np.cumsum(np.cumsum(support, 0), 1) > 0  # every node above a supported one
        assert np.array_equal(support, upper), obs.name
        assert 0.3 < support.mean() < 0.8, obs.name


@pytest.mark.slow
def test_data_scatter_about_the_t0_predictions_as_their_covariance_says(problem):
    _, theory, data = problem
    residual = data.central - predict_stacked(data.observables, theory.t0_xf().T[None])[0]
    chi2 = residual @ np.linalg.solve(data.covariance.dense(), residual) / residual.size
    assert 0.8 < chi2 < 1.5


@pytest.mark.slow
def test_stacked_loss_and_gradient_equal_alone_with_blocked_hadronic_tables(problem, float64):
    """Two replicas stacked give, replica by replica, the loss and gradient each gives alone,
    with hadronic tables split into blocks of their own x boxes."""
    import tensorflow as tf
    from keras import ops

    from n3fit_gpu.physics.fit_data import fit_tensors
    from n3fit_gpu.physics.losses import PDFLoss, PenaltySchedule

    card, theory, _ = problem
    assert any(len(o.kernels[0].blocks) > 1 for o in problem[2].observables if o.kind != "DIS")
    rng = np.random.default_rng(3)
    xf = theory.t0_xf().T[None] * rng.uniform(0.9, 1.1, (2, *theory.t0_xf().T.shape))

    def loss_and_gradient(data, rows):
        schedule = PenaltySchedule(1.0, None, 100)
        loss = PDFLoss(fit_tensors(card, theory, data), schedule, schedule, 1e-6, 10.0, "float64")
        x = tf.Variable(xf[rows])
        with tf.GradientTape() as tape:
            objective = loss(x, 0).objective
        return ops.convert_to_numpy(objective), tape.gradient(objective, x).numpy()

    stacked, grad = loss_and_gradient(problem[2], [0, 1])
    alone, grad_alone = loss_and_gradient(nnpdf40_problem(1)[2], [0])
    np.testing.assert_allclose(stacked[0], alone[0], rtol=1e-12)
    np.testing.assert_allclose(grad[0], grad_alone[0], rtol=1e-10, atol=1e-12)
