"""The observable seam: kernels behind one protocol, NNPDF's operations, and ONE prediction
path (:class:`~n3fit_gpu.physics.observables.predict.Predictor`) that gives the same numbers on
numpy and on Keras tensors, for DIS and hadronic kernels mixed in one fit."""

import numpy as np
import pytest
from keras import ops

from n3fit_gpu.errors import TheoryError
from n3fit_gpu.physics.channel_convolution import ChannelPlan
from n3fit_gpu.physics.observables.dis import DISKernel
from n3fit_gpu.physics.observables.hadronic import HadronicKernel
from n3fit_gpu.physics.observables.operations import OPERATIONS
from n3fit_gpu.physics.observables.predict import Predictor, predict, predict_stacked
from n3fit_gpu.physics.observables.protocol import Kernel, Observable

NB, NX, R = 9, 6, 3
rng = np.random.default_rng(7)


def dis(n, first=0):
    return DISKernel(rng.uniform(0.1, 1.0, (n, NB, NX)), np.arange(first, first + n))


def had(n, first=0):
    channels = np.array([[0, 0], [0, 1], [1, 1]])
    plan = ChannelPlan(channels[:, 0], channels[:, 1], 1, NX, rng.uniform(0.1, 1, (3 * 5 * 5, n)))
    return HadronicKernel(plan, np.arange(first, first + n))


def reference(kernel, xf):
    """The contraction written out: DIS Σ fk xf, hadronic Σ FK xf xf over the plan's box."""
    if kernel.kind == "DIS":
        return np.einsum("nbx,rxb->rn", kernel.fk, xf)
    plan, box = kernel.plan, xf[:, kernel.plan.lo : kernel.plan.hi]
    table = plan.matrix.reshape(len(plan.left), box.shape[1], box.shape[1], -1)
    return np.einsum("cijn,ric,rjc->rn", table, box[..., plan.left], box[..., plan.right])


def test_kernels_follow_the_protocol():
    assert isinstance(dis(2), Kernel) and isinstance(had(2), Kernel)


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
