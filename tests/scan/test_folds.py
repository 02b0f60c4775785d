"""One k-fold of a PDF scan on the shipped theory and real data (tiny: few replicas, epochs)."""

from dataclasses import replace

import numpy as np
import pytest

from n3fit_gpu.config import parse_runcard
from n3fit_gpu.physics.fit_data import fit_tensors, load_fit_data
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.scan.folds import ScanProblem, fold_masks, train_fold
from n3fit_gpu.scan.space import apply_point
from tests.config.helpers import SCAN, edit

FOLD_DATASETS = (
    {"BCDMS_NC_NOTFIXED_P_EM-F2", "NMC_NC_NOTFIXED_EM-F2"},
    {"HERA_NC_318GEV_EP-SIGMARED"},
)


@pytest.fixture(scope="module")
def card():
    text = edit(SCAN, "replicas: 10", "replicas: 2")
    text = edit(text, "epochs: 2000", "epochs: 40")
    return parse_runcard(text, "scan.yml")


@pytest.fixture(scope="module")
def problem(card):
    theory = load_theory(card.theory.theoryid)
    data = load_fit_data(card, theory, card.replica_indices)
    return ScanProblem(theory, data, fold_masks(card, data), ("patience", "integrability"))


def test_fold_masks_are_the_partition_datasets(problem):
    slices = problem.data.slices
    for mask, names in zip(problem.folds, FOLD_DATASETS, strict=True):
        expected = np.zeros(mask.size, bool)
        for name in names:
            expected[slices[name]] = True
        np.testing.assert_array_equal(mask, expected)


def test_held_out_points_leave_training_and_validation(card, problem):
    held = problem.folds[0]
    tensors = fit_tensors(card, problem.theory, replace(problem.data, held_out=held))
    assert not tensors.training.mask[:, held].any()
    assert not tensors.validation.mask[:, held].any()
    both = tensors.training.mask[:, ~held] + tensors.validation.mask[:, ~held]
    np.testing.assert_array_equal(both, 1.0)  # every other point is in exactly one set


def test_a_fold_never_sees_its_held_out_data(card, problem):
    trial = apply_point(card, {})
    result = train_fold(trial, problem, 1)
    held = problem.folds[1]
    garbage = problem.data.pseudodata.copy()
    garbage[:, held] = 1e6  # if training looked at these points, everything would change
    blind = replace(problem, data=replace(problem.data, pseudodata=garbage))
    again = train_fold(trial, blind, 1)
    np.testing.assert_array_equal(result.chi2, again.chi2)
    assert result.chi2.shape == (2,) and np.all(np.isfinite(result.chi2))
    assert result.phi2 >= 0 and result.extra["ndata"] == int(held.sum())
    assert set(result.penalties) == {"patience", "integrability"}
    assert result.replica_epochs == sum(result.extra["stop_epoch"])


def test_ctrl_c_during_a_fold_is_not_a_finished_trial(card, problem, monkeypatch):
    """Ctrl-C (the KeyboardInterrupt Python raises for it) when the fold's training reports
    its first call (an event, not a timer: the machine's speed does not matter) propagates
    out of the fold: an interrupted fold is never scored."""
    from n3fit_gpu.ensemble.engine import EnsembleTrainer

    train, reports = EnsembleTrainer.train, []

    def interrupted_train(self, progress=None, **options):
        def report(p):
            reports.append(p.epoch)
            raise KeyboardInterrupt

        return train(self, report, **options)

    monkeypatch.setattr(EnsembleTrainer, "train", interrupted_train)
    trial = apply_point(card, {"epochs": 10**6})  # far from finished at the first report
    with pytest.raises(KeyboardInterrupt):
        train_fold(trial, problem, 0)
    assert reports and reports[0] < 10**6
