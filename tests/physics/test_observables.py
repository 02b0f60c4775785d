"""The observable seam: kernels behind one protocol, NNPDF's operations, and ONE prediction
path (:class:`~n3fit_gpu.physics.observables.predict.Predictor`) that gives the same numbers on
numpy and on Keras tensors, for DIS and hadronic kernels mixed in one fit."""

import numpy as np
import pytest
from keras import ops

from n3fit_gpu.errors import TheoryError
from n3fit_gpu.physics.channel_convolution import ChannelPlan
from n3fit_gpu.physics.channel_convolution import predict as channel_predict
from n3fit_gpu.physics.observables.dis import DISKernel
from n3fit_gpu.physics.observables.hadronic import HadronicKernel
from n3fit_gpu.physics.observables.operations import OPERATIONS
from n3fit_gpu.physics.observables.predict import NUMPY, Predictor, predict, predict_stacked
from n3fit_gpu.physics.observables.protocol import Kernel, Observable

NB, NX, R = 9, 6, 3
rng = np.random.default_rng(7)


def dis(n, first=0):
    return DISKernel(rng.uniform(0.1, 1.0, (n, NB, NX)), np.arange(first, first + n))


def had_plan(n):
    """A hadronic plan whose odd points weigh x only from node 4 on, as a real table's points
    do above their Born x (enough such points make a block of their own box)."""
    channels = np.array([[0, 0], [0, 1], [1, 1]])
    table = rng.uniform(0.1, 1, (3, 5, 5, n))
    for k in range(1, n, 2):
        table[:, :3, :, k] = table[:, :, :3, k] = 0
    return ChannelPlan(channels[:, 0], channels[:, 1], 1, NX, table.reshape(3 * 5 * 5, n))


def had(n, first=0):
    return HadronicKernel.from_plan(had_plan(n), np.arange(first, first + n))


def reference(kernel, xf):
    """The contraction written out: DIS Σ fk xf, hadronic Σ FK xf xf over the plan's box."""
    if kernel.kind == "DIS":
        return np.einsum("nbx,rxb->rn", kernel.fk, xf)
    plan, box = kernel.plan, xf[:, kernel.plan.lo : kernel.plan.hi]
    table = plan.matrix.reshape(len(plan.left), box.shape[1], box.shape[1], -1)
    return np.einsum("cijn,ric,rjc->rn", table, box[..., plan.left], box[..., plan.right])


def test_kernels_follow_the_protocol():
    assert isinstance(dis(2), Kernel) and isinstance(had(2), Kernel)


def test_points_of_large_x_get_a_smaller_box_and_the_same_predictions(float64):
    assert len(had(4).blocks) == 1  # a small table stays whole
    plan = had_plan(200)
    kernel = HadronicKernel.from_plan(plan, np.arange(200))
    assert [b.lo for b in kernel.blocks] == [1, 4]
    assert [m.tolist() for m in kernel.members] == [list(range(0, 200, 2)), list(range(1, 200, 2))]
    np.testing.assert_array_equal(kernel.plan.matrix, plan.matrix)
    xf = rng.uniform(0.1, 1.0, (R, NX, NB))
    whole = channel_predict(plan, xf)
    np.testing.assert_allclose(kernel.predict(xf, NUMPY), whole, rtol=1e-13)
    tensors = kernel.tensors(lambda a: ops.convert_to_tensor(a, dtype="float64"))
    keras = kernel.predict(ops.convert_to_tensor(xf, dtype="float64"), ops, tensors)
    np.testing.assert_allclose(ops.convert_to_numpy(keras), whole, rtol=1e-13)
    kept = kernel.select(np.arange(200) % 4 == 1)
    assert len(kept.blocks) == 1 and kept.rows.tolist() == list(range(1, 200, 4))
    np.testing.assert_allclose(kept.predict(xf, NUMPY), whole[:, 1::4], rtol=1e-13)
    factor = rng.uniform(0.5, 2.0, 200)
    np.testing.assert_allclose(kernel.scaled(factor).predict(xf, NUMPY), factor * whole, rtol=1e-13)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("kind", ["DIS", "hadronic", "mixed"])
def test_every_operation_numpy_equals_keras_equals_reference(operation, kind, float64):
    makers = {"DIS": [dis], "hadronic": [had], "mixed": [dis, had]}[kind]
    operands = [
        (makers[k % len(makers)](2), makers[k % len(makers)](2, 2))
        for k in range(OPERATIONS[operation][0])
    ]
    obs = Observable("X", operation, tuple(operands))
    null = Observable("N", "NULL", ((dis(3),),))
    xf = rng.uniform(0.1, 1.0, (R, NX, NB))
    parts = [np.concatenate([reference(k, xf) for k in op], axis=1) for op in operands]
    expected = np.concatenate([reference(null.kernels[0], xf), OPERATIONS[operation][1](*parts)], 1)
    ours = predict_stacked([null, obs], xf)
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    convert = lambda a: ops.convert_to_tensor(a, dtype="float64")  # noqa: E731
    tensors = Predictor([[null, obs], [null]], convert)(convert(xf))
    np.testing.assert_allclose(ops.convert_to_numpy(tensors[0]), expected, rtol=1e-12)
    np.testing.assert_allclose(ops.convert_to_numpy(tensors[1]), expected[:, :3], rtol=1e-12)


def test_select_points_keeps_normalisations_and_cfactors_scale():
    num = (dis(3), had(2, 3))
    obs = Observable("X", "RATIO", (num, (dis(1),)))
    kept = obs.select_points(np.array([0, 2, 4]))
    assert kept.ndata == 3 and kept.operands[1][0].ndata == 1
    xf = rng.uniform(0.1, 1.0, (1, NX, NB))
    full = predict(obs, xf[0].T)
    np.testing.assert_allclose(predict(kept, xf[0].T), full[[0, 2, 4]], rtol=1e-14)
    null = Observable("N", "NULL", (num,)).select_points(np.array([1, 3]))
    factor = np.array([2.0, 0.5])
    np.testing.assert_allclose(
        predict(null.scaled(factor), xf[0].T), factor * predict(null, xf[0].T), rtol=1e-14
    )
    with pytest.raises(TheoryError, match="no FK rows for 1 points of X"):
        obs.select_points(np.array([0, 7]))
    with pytest.raises(TheoryError, match="C-factors of X"):
        obs.scaled(np.ones(5))


def test_empty_group_gives_zero_columns():
    xf = rng.uniform(0.1, 1.0, (R, NX, NB))
    data, empty = Predictor([[Observable("N", "NULL", ((dis(2),),))], []])(xf)
    assert data.shape == (R, 2) and empty.shape == (R, 0)


def test_fixed_target_drell_yan_cut_keeps_nnpdf40s_85_points_of_e605():
    from n3fit_gpu.physics.commondata import DatasetSpec, load_commondata

    cd = load_commondata(DatasetSpec("DYE605_Z0_38P8GEV_DW_PXSEC", "legacy"))
    keep = had(cd.ndata).cut_mask(cd.name, cd.kinematics, None)
    assert keep.sum() == 85  # NNPDF4.0's E605 points after cuts
    assert had(2).cut_mask("ANY_OTHER", {"y": np.zeros(2)}, None).all()
