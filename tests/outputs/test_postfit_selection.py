"""The fit's postfit reads what each replica's json records: status, positivity, χ², arc
lengths, integrability numbers."""

import pytest

from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.ensemble_report import postfit
from n3fit_gpu.outputs.replica_json import ReplicaFitInfo
from n3fit_gpu.physics.postfit import PostfitSettings


def info(status="ok", pos_state="POS_PASS", chi2=1.1, integrability=(0.01,) * 5):
    return ReplicaFitInfo(
        preprocessing=[], stop_epoch=100, best_epoch=90, erf_tr=1.0, erf_vl=1.2, chi2=chi2,
        pos_state=pos_state, arc_lengths=[1.5] * 5, integrability=list(integrability),
        timing={}, status=status,
    )  # fmt: skip


def test_status_positivity_and_integrability_of_the_records_decide():
    infos = {
        1: info(),
        2: info(status="failed:chi2_threshold"),
        3: info(pos_state="POS_VETO"),
        4: info(integrability=(0.01, 0.01, 0.01, 0.9, 0.01)),
        5: info(chi2=None),  # a diverged replica's χ² is written as null
    }
    result = postfit(infos, PostfitSettings())
    assert result.chosen == [1]
    assert result.reasons == {
        2: ["convergence"],
        3: ["convergence"],
        4: ["integrability_t8"],
        5: ["non_finite"],
    }


def test_replicas_of_an_earlier_version_are_refused_in_one_line():
    infos = {1: info(), 2: info(integrability=[0.1] * 20)}  # FK-table values, as before
    with pytest.raises(OutputError, match=r"replicas \[2\] were written by an earlier version"):
        postfit(infos, PostfitSettings())
