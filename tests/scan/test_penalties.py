"""NNPDF's k-fold penalties against hand computations."""

import numpy as np

from n3fit_gpu.ensemble.engine import TrainingHistory, TrainingResult
from n3fit_gpu.physics.fit_data import predict
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution
from n3fit_gpu.scan import penalties

BASIS = ("sigma", "g", "v", "v3", "v8", "v15", "t3", "t8", "t15")
INTEG = ["NNPDF_INTEG_3GEV_XT3", "NNPDF_INTEG_3GEV_XV"]


def _result(best_epoch, best_validation):
    r = len(best_epoch)
    return TrainingResult(
        weights=[],
        best_epoch=np.asarray(best_epoch),
        stop_epoch=np.full(r, 10),
        best_validation=np.asarray(best_validation, float),
        diverged=np.zeros(r, bool),
        history=TrainingHistory(np.zeros(0), np.zeros((0, r)), np.zeros((0, r))),
        seconds=0.0,
    )


def test_patience_is_zero_distance_when_best_epoch_is_one_patience_before_the_end():
    result = _result([1000, 4500], [2.42, 1.5])
    value = penalties.patience(result, epochs=5000, patience_epochs=500)
    # NNPDF's documented example: 2.42 * exp(1e-4 * |5000 - 500 - 1000|) = 3.4341...
    np.testing.assert_allclose(value, [3.434143467595683, 1.5])


def test_saturation_of_a_pdf_linear_in_log_x():
    logx = np.log10(penalties.SATURATION_X)
    xf = np.zeros((2, logx.size, len(BASIS)))
    xf[0, :, 0] = 2.0 - 0.5 * logx  # sigma: slope -0.5 everywhere
    xf[0, :, 1] = 1.0 + 0.25 * logx  # g: slope +0.25
    xf[1, :, :2] = 3.0  # a replica saturated (flat) at small x
    value = penalties.saturation(xf, BASIS)
    np.testing.assert_allclose(value[0], 1 / (1e-7 + 0.5) + 1 / (1e-7 + 0.25), rtol=1e-6)
    np.testing.assert_allclose(value[1], 2 / 1e-7)


def test_integrability_counts_only_numbers_above_the_threshold():
    theory = load_theory("n3fit_gpu_dis_nlo")
    truth = toy_xf_evolution(theory.xgrid, theory.basis)  # (9, nx)
    numbers = [np.abs(predict(theory.integrability[n], truth)).sum() for n in INTEG]
    xf = np.stack([truth.T, np.zeros_like(truth.T), 100 * truth.T])
    value = penalties.integrability(theory, INTEG, xf)
    above = sum(v for v in numbers if v > 0.5)
    scaled = sum(100 * v for v in numbers if 100 * v > 0.5)
    assert scaled > 0.5  # the scaled PDF is penalised, the truth is not
    np.testing.assert_allclose(value, [np.expm1(above), 0.0, np.expm1(min(scaled, 50.0))])
    assert np.all(penalties.integrability(theory, [], xf) == 0)
