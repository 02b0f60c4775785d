"""Ensembles across trials: the out-of-fold predictions file, loading members, the refit's
stacking groups, and ``hyperscan ensemble`` end to end on a tiny real scan."""

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from n3fit_gpu.cli.hyperscan import main
from n3fit_gpu.config import load_runcard, parse_runcard
from n3fit_gpu.errors import OutputError
from n3fit_gpu.fit import replica_seeds
from n3fit_gpu.outputs.fit_folder import FitPaths
from n3fit_gpu.outputs.lhapdf import read_lhapdf_member
from n3fit_gpu.outputs.replica_json import read_replica_json
from n3fit_gpu.physics.fit_data import load_fit_data
from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.scan.ensemble import (
    check_previous_selection,
    load_members,
    network_weights,
    refit,
    scoring_data,
    stack_groups,
    summary_text,
)
from n3fit_gpu.scan.folds import fold_masks
from n3fit_gpu.scan.layout import LOG_NAME, scan_runcard
from n3fit_gpu.scan.predictions import load_trial_predictions, save_trial_predictions
from n3fit_gpu.scan.space import apply_point
from n3fit_gpu.search.store import TrialLog
from tests.cli.test_hyperscan import tiny_card
from tests.config.helpers import SCAN

# two folds of a 6-point data vector; points 2 and 5 are in no fold (always trained on)
FOLDS = (np.isin(np.arange(6), [0, 1]), np.isin(np.arange(6), [3, 4]))


def test_predictions_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    folds = [
        (np.array([4, 1, 7]), rng.normal(size=(2, 3))),
        (np.array([0]), rng.normal(size=(2, 1))),
    ]
    path = save_trial_predictions(tmp_path, 3, [1, 2], folds)
    assert path == tmp_path / "trials" / "3.npz"
    loaded = load_trial_predictions(tmp_path, 3)
    assert loaded.tid == 3 and loaded.replicas.tolist() == [1, 2]
    assert len(loaded.folds) == 2
    for (points, predictions), (want_points, want_predictions) in zip(
        loaded.folds, folds, strict=True
    ):
        np.testing.assert_array_equal(points, want_points)
        np.testing.assert_array_equal(predictions, want_predictions)
        assert points.dtype == np.int64 and predictions.dtype == np.float64


def test_a_trial_without_predictions_loads_as_none(tmp_path):
    assert load_trial_predictions(tmp_path, 0) is None


def test_predictions_of_the_wrong_shape_are_refused(tmp_path):
    with pytest.raises(ValueError, match="expected \\(2, 3\\)"):
        save_trial_predictions(tmp_path, 0, [1, 2], [(np.arange(3), np.zeros((3, 2)))])
    assert not (tmp_path / "trials" / "0.npz").exists()


@pytest.fixture(scope="module")
def card():
    return parse_runcard(SCAN, "scan.yml")


def doc(tid: int, status: str = "ok", params: dict | None = None) -> dict:
    return {"tid": tid, "params": params or {}, "result": {"status": status, "loss": 1.0}}


def test_members_come_from_complete_successful_trials(tmp_path, card):
    both = [(np.array([1, 0]), np.ones((2, 2))), (np.array([3, 4]), 2 * np.ones((2, 2)))]
    save_trial_predictions(tmp_path, 0, [1, 2], both)
    save_trial_predictions(tmp_path, 1, [1, 2], both[:1])  # stopped after the first fold
    save_trial_predictions(tmp_path, 2, [1, 2], both)  # but the trial failed
    diverged = [(points, np.array([[np.nan] * 2, [5.0] * 2])) for points, _ in both]
    save_trial_predictions(tmp_path, 4, [1, 2], diverged)  # replica 1 diverged
    docs = [doc(0), doc(1), doc(2, "fail"), doc(3), doc(4)]  # 3 saved nothing
    scan = load_members(tmp_path, docs, card, FOLDS)
    np.testing.assert_array_equal(scan.points, [0, 1, 3, 4])
    assert scan.members.pairs(range(3)) == [(0, 1), (0, 2), (4, 2)]
    np.testing.assert_array_equal(scan.members.predictions[0], [1, 1, 2, 2])
    np.testing.assert_array_equal(scan.members.predictions[2], [5, 5, 5, 5])
    assert scan.skipped == {
        1: "folds missing (the trial stopped early)",
        2: "failed",
        3: "no saved predictions",
    }
    assert scan.members.cost[0] == network_weights(card.parameters.nodes_per_layer)
    assert set(scan.cards) == {0, 4}


def test_a_scan_without_predictions_says_how_to_get_them(tmp_path, card):
    with pytest.raises(OutputError, match="run the scan with this version to save out-of-fold"):
        load_members(tmp_path, [doc(0), doc(1)], card, FOLDS)


def _selection(replicas, phi2=0.0):
    step = {"step": 1, "added": [[3, 1]], "replicas": replicas, "chi2_mean": 1.23456, "phi2": phi2}
    return {
        "criterion": "chi2_mean",
        "replica_level": True,
        "path": [step],
        "chosen": {"replicas": replicas, "trials": [3]},
        "skipped": {},
    }


def test_a_different_earlier_selection_is_refused_without_force(tmp_path):
    path = tmp_path / "selection.json"
    check_previous_selection(path, _selection(1), force=False)  # nothing there yet
    path.write_text(json.dumps(_selection(1)))
    check_previous_selection(path, _selection(1), force=False)  # the same: rewritten
    with pytest.raises(OutputError, match=r"another selection \(chi2_mean, 1 replicas"):
        check_previous_selection(path, _selection(2), force=False)
    check_previous_selection(path, _selection(2), force=True)
    path.write_text("{not json")
    with pytest.raises(OutputError, match="unreadable selection.*--force"):
        check_previous_selection(path, _selection(2), force=False)


def test_summary_prints_no_negative_zero_and_four_significant_digits():
    line = summary_text(_selection(1, phi2=-1.1e-17)).splitlines()[1]
    assert line.split() == ["1", "3/1", "1", "1.235", "0"]
    line = summary_text(_selection(1, phi2=0.0123456)).splitlines()[1]
    assert line.split()[-1] == "0.01235"


def test_network_weights_count_inputs_x_and_log_x():
    assert network_weights([25, 20, 8]) == 3 * 25 + 26 * 20 + 21 * 8


def test_fold_blocks_drop_correlations_across_folds():
    full = np.arange(36.0).reshape(6, 6)
    data = SimpleNamespace(central=np.arange(6.0), covariance=SimpleNamespace(dense=lambda: full))
    points = np.array([0, 1, 3, 4])
    central, matrix = scoring_data(data, FOLDS, points, "full")
    np.testing.assert_array_equal(central, [0, 1, 3, 4])
    np.testing.assert_array_equal(matrix, full[np.ix_(points, points)])
    _, blocks = scoring_data(data, FOLDS, points, "folds")
    same_fold = np.kron(np.eye(2), np.ones((2, 2))).astype(bool)
    np.testing.assert_array_equal(blocks, np.where(same_fold, matrix, 0.0))


def test_trials_stack_when_they_differ_only_in_slot_keys(card):
    point = {"layers": {"n_layers": 3, "units_1": 10, "units_2": 12}}
    adam = {"optimizer_name": "Adam", "learning_rate": 0.01, "clipnorm": 1.0}
    a = apply_point(card, {**point, "optimizer": adam, "epochs": 100})
    b = apply_point(card, {**point, "layers": {**point["layers"], "units_1": 30},
                           "optimizer": {**adam, "learning_rate": 0.003}})  # fmt: skip
    nadam = apply_point(card, {**point, "optimizer": {**adam, "optimizer_name": "Nadam"}})
    sigmoid = apply_point(card, {**point, "optimizer": adam, "activation": "sigmoid"})
    shallow = apply_point(card, {"layers": {"n_layers": 2, "units_1": 7}, "optimizer": adam})
    other_data = a.model_copy(update={"mcseed": a.mcseed + 1})  # not a slot key
    slots = [(1, a, 1), (2, nadam, 1), (3, b, 2), (4, sigmoid, 1), (5, a, 2), (6, other_data, 1),
             (7, shallow, 2)]  # fmt: skip
    groups = stack_groups(slots)
    assert [[number for number, _, _ in group] for group in groups] == [[1, 2, 3, 4, 5, 7], [6]]


def hyperscan(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args] + ["--quiet"])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> Path:
    """2 trials x 2 replicas x 2 folds, <= 60 epochs; every epoch acceptable, so that the
    refitted replicas pass and the LHAPDF set is written."""
    tmp = tmp_path_factory.mktemp("scan")
    card = tiny_card(tmp, **{
        "replicas:": "replicas: 2",
        "  positivity:": "  positivity: {initial: 184.8, multiplier: null, threshold: 1.0e+9}",
        "  threshold_chi2:": "  threshold_chi2: 1.0e+9",
    })  # fmt: skip
    code, out = hyperscan(card, "--trials", 2, "-o", tmp / "out")
    assert code == 0, out
    return tmp / "out" / "tiny"


@pytest.mark.slow
def test_ensemble_of_a_real_scan_is_written_as_a_fit(scan):
    assert sorted(p.name for p in (scan / "trials").iterdir()) == ["0.npz", "1.npz"]
    code, out = hyperscan("ensemble", scan, "--replica-level", "--max-replicas", 3)
    assert code == 0 and "chosen:" in out, out
    report = json.loads((scan / "ensemble" / "selection.json").read_text())
    chosen = report["chosen"]["members"]
    assert 1 <= len(chosen) <= 3 and report["skipped"] == {}
    assert [s["replicas"] for s in report["path"]] == list(range(1, len(chosen) + 1))
    values = [s["chi2_mean"] for s in report["path"]]
    assert values == sorted(values, reverse=True)  # each step lowered the criterion
    numbering = report["set"]["members"]
    assert [[m["tid"], m["trial_replica"]] for m in numbering] == chosen
    assert (scan / "ensemble" / "pareto.png").stat().st_size > 0
    fit = scan / "ensemble" / "tiny_ensemble"
    summary = json.loads((fit / "summary.json").read_text())
    assert summary["replicas"] == dict.fromkeys(
        ("requested", "written", "ok", "selected"), len(chosen)
    )
    for i in range(1, len(chosen) + 1):
        assert (fit / "nnfit" / f"replica_{i}" / "tiny_ensemble.exportgrid").is_file()
    lhapdf = fit / "lhapdf" / "tiny_ensemble"
    for member in range(len(chosen) + 1):
        assert np.isfinite(read_lhapdf_member(lhapdf, member)[0].xf).all()
    info = yaml.safe_load((lhapdf / "tiny_ensemble.info").read_text())
    assert info["NumMembers"] == len(chosen) + 1


@pytest.mark.slow
def test_a_scan_without_predictions_is_refused_in_one_line(scan, tmp_path):
    old = tmp_path / "tiny"
    shutil.copytree(scan, old, ignore=shutil.ignore_patterns("trials", "ensemble"))
    code, out = hyperscan("ensemble", old, "--no-refit")
    assert code == 2 and out.count("\n") == 1, out
    assert "run the scan with this version to save out-of-fold predictions" in out


@pytest.mark.slow
def test_refit_fits_each_pair_with_its_trial_and_replica_seeds(scan, tmp_path):
    card = load_runcard(scan_runcard(scan))
    theory = load_theory(card.theory.theoryid)
    data = load_fit_data(card, theory, card.replica_indices)
    docs = TrialLog(scan / LOG_NAME).read()
    members = load_members(scan, docs, card, fold_masks(card, data))
    pairs = [(1, 2), (0, 1), (1, 1), (0, 2)]
    paths = FitPaths(tmp_path / "set", "set")
    refit(paths, card, theory, members, pairs, resume=False, show_progress=False)
    for number, (tid, replica) in enumerate(pairs, 1):
        info = read_replica_json(paths.replica_json(number))
        assert info.replica == number
        assert info.seed == replica_seeds(card.nnseed, [replica])[0]
        assert info.stop_epoch <= members.cards[tid].parameters.epochs
    lhapdf = yaml.safe_load((paths.root / "lhapdf" / "set" / "set.info").read_text())
    assert lhapdf["NumMembers"] == 5
    with pytest.raises(OutputError, match="other members"):
        refit(paths, card, theory, members, pairs[::-1], resume=True, show_progress=False)
