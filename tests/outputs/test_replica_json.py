"""Per-replica json: round trip, NNPDF's own files, and the arc length."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.exportgrid import EXPORT_XGRID
from n3fit_gpu.outputs.replica_json import (
    ARC_LENGTH_XGRID,
    ReplicaFitInfo,
    arc_length,
    code_versions,
    read_replica_json,
    write_replica_json,
)

FIXTURE = Path(__file__).parent / "fixtures" / "nnpdf_replica_7.json"


def make_info(**changes) -> ReplicaFitInfo:
    info = ReplicaFitInfo(
        preprocessing=[{"fl": "g", "smallx": 1.05, "largex": 3.2, "trainable": False}],
        stop_epoch=1500,
        best_epoch=1400,
        erf_tr=1.21,
        erf_vl=1.34,
        chi2=1.17,
        pos_state="POS_PASS",
        arc_lengths=[1.2, 1.5],
        integrability=[0.001],
        timing={"walltime": {"training": 12.5}},
        status="failed:positivity",
        replica=4,
        seed=1234,
    )
    return replace(info, **changes)


def test_round_trip(tmp_path):
    info = make_info()
    path = write_replica_json(tmp_path / "replica_4" / "fit.json", info)
    assert read_replica_json(path) == info
    assert json.loads(path.read_text())["pos_state"] == "POS_PASS"


def test_reads_an_nnpdf_json_with_defaults_for_our_fields():
    info = read_replica_json(FIXTURE)
    assert (info.stop_epoch, info.best_epoch, info.pos_state) == (17000, 16100, "POS_PASS")
    assert info.preprocessing[1] == {
        "fl": "g",
        "smallx": 0.9987,
        "largex": 5.1023,
        "trainable": True,
    }
    assert len(info.arc_lengths) == 5 and info.timing["walltime"]["Total"] == 2401.27
    assert (info.status, info.replica, info.seed) == ("ok", 0, 0)
    assert info.version == json.loads(FIXTURE.read_text()).get("version", {})


def test_code_versions_name_this_package_keras_and_the_backend():
    versions = code_versions("jax")
    assert set(versions) == {"n3fit_gpu", "keras", "jax", "numpy"}
    assert versions["n3fit_gpu"] != "unknown" and versions["keras"] != "unknown"
    assert code_versions("no_such_backend")["no_such_backend"] == "unknown"


def test_missing_field_is_an_output_error(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"stop_epoch": 3}))
    with pytest.raises(OutputError, match="chi2"):
        read_replica_json(path)


@pytest.mark.parametrize("changes", [{"pos_state": "PASS"}, {"status": "broken"}])
def test_rejects_unknown_states(changes):
    with pytest.raises(ValueError):
        make_info(**changes)


def test_arc_length_of_flat_and_straight_curves():
    x = ARC_LENGTH_XGRID
    flat, line = np.full_like(x, 0.7), 2.0 * x
    lengths = arc_length(x, np.stack([flat, line]))
    assert lengths[0] == pytest.approx(1 - 1e-6, rel=1e-12)
    assert lengths[1] == pytest.approx(np.sqrt(5) * (1 - 1e-6), rel=1e-12)


def test_arc_length_grows_with_wiggles():
    x = ARC_LENGTH_XGRID
    smooth = x**0.5 * (1 - x) ** 3
    wiggly = smooth + 0.05 * np.sin(40 * x)
    lengths = arc_length(x, np.stack([smooth, wiggly]))
    assert lengths[1] > lengths[0] + 0.5


def test_arc_length_from_the_export_grid_is_close_to_the_fine_grid_value():
    def xf(x):
        return np.stack([x**0.3 * (1 - x) ** 3, 3 * x**0.8 * (1 - x) ** 4])

    exact = arc_length(ARC_LENGTH_XGRID, xf(ARC_LENGTH_XGRID))
    interpolated = arc_length(EXPORT_XGRID, xf(EXPORT_XGRID))
    np.testing.assert_allclose(interpolated, exact, rtol=1e-3)


def test_arc_length_needs_a_grid_covering_its_range():
    x = np.linspace(1e-3, 1, 50)
    with pytest.raises(ValueError, match="cover"):
        arc_length(x, np.ones((1, 50)))
