"""exportgrid files: NNPDF's layout and x grid, read back; evolution → flavour rotation."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.exportgrid import (
    EXPORT_LABELS,
    EXPORT_XGRID,
    FLAVOUR_PIDS,
    evolution_to_flavour,
    read_exportgrid,
    write_exportgrid,
)

FIXTURE = Path(__file__).parent / "fixtures" / "nnpdf_replica_7.exportgrid"
BASIS = ("sigma", "g", "v", "v3", "v8", "v15", "t3", "t8", "t15")


def test_reads_a_committed_nnpdf_exportgrid():
    grid = read_exportgrid(FIXTURE)
    assert grid.replica == 7 and grid.q20 == pytest.approx(1.65**2)
    assert grid.labels == EXPORT_LABELS
    assert grid.xgrid.tolist() == [1e-5, 1e-3, 0.1, 0.5, 1.0]
    assert grid.pdfgrid.shape == (5, 14)
    assert grid.pdfgrid[0, EXPORT_LABELS.index("GLUON")] == 11.81
    assert grid.pdfgrid[2, EXPORT_LABELS.index("U")] == 0.5861
    assert np.all(grid.pdfgrid[-1] == 0)


def test_write_read_round_trip_is_exact(tmp_path):
    xf = np.random.default_rng(0).normal(size=(EXPORT_XGRID.size, 14))
    path = write_exportgrid(tmp_path / "replica_3" / "fit.exportgrid", xf, 2.7225, 3)
    back = read_exportgrid(path)
    np.testing.assert_array_equal(back.pdfgrid, xf)
    np.testing.assert_array_equal(back.xgrid, EXPORT_XGRID)
    assert (back.q20, back.replica, back.labels) == (2.7225, 3, EXPORT_LABELS)


def test_written_file_has_exactly_nnpdf_keys(tmp_path):
    path = write_exportgrid(tmp_path / "a.exportgrid", np.zeros((196, 14)), 2.7225, 1)
    document = yaml.safe_load(path.read_text())
    assert sorted(document) == ["labels", "pdfgrid", "q20", "replica", "xgrid"]
    assert len(document["pdfgrid"]) == 196 and all(len(row) == 14 for row in document["pdfgrid"])


def test_write_rejects_wrong_shape(tmp_path):
    with pytest.raises(ValueError, match="196, 14"):
        write_exportgrid(tmp_path / "a.exportgrid", np.zeros((14, 196)), 2.7225, 1)


def test_read_rejects_a_file_that_is_not_an_exportgrid(tmp_path):
    path = tmp_path / "bad.exportgrid"
    path.write_text("labels: [U]\nxgrid: [0.1]\n")
    with pytest.raises(OutputError, match="missing"):
        read_exportgrid(path)
    path.write_text("labels: [U, D]\nxgrid: [0.1]\npdfgrid: [[1.0]]\nq20: 1.0\nreplica: 1\n")
    with pytest.raises(OutputError, match="shape"):
        read_exportgrid(path)


def test_xgrid_is_nnpdf_grid():
    assert EXPORT_XGRID.size == 196 and np.all(np.diff(EXPORT_XGRID) > 0)
    assert EXPORT_XGRID[0] == 1e-9 and EXPORT_XGRID[-1] == 1.0
    # values tabulated in NNPDF's n3fit
    published = {1: 1.29708482343957e-09, 50: 4.39234443000422e-04, 82: 9.77340879783772e-02}
    for index, value in published.items():
        assert EXPORT_XGRID[index] == pytest.approx(value, rel=1e-12)
    assert EXPORT_XGRID[-2] == pytest.approx(9.91610196150662e-01, rel=1e-12)


def test_labels_and_pdg_ids():
    assert EXPORT_LABELS[6] == "GLUON" and EXPORT_LABELS[-1] == "PHT"
    expected = {"TBAR": -6, "UBAR": -2, "GLUON": 21, "D": 1, "U": 2, "T": 6, "PHT": 22}
    assert {label: FLAVOUR_PIDS[label] for label in expected} == expected
    assert sorted(FLAVOUR_PIDS.values()) == [*range(-6, 0), *range(1, 7), 21, 22]


def _evolution_from_flavours(q: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The evolution basis written out as in the exportgrid module's docstring."""
    plus = {f: q[f] + q[f + "bar"] for f in "udsc"}
    minus = {f: q[f] - q[f + "bar"] for f in "udsc"}
    out = {"g": q["g"]}
    for name, combo in (("sigma", plus), ("v", minus)):
        out[name] = combo["u"] + combo["d"] + combo["s"] + combo["c"]
    for prefix, combo in (("t", plus), ("v", minus)):
        out[prefix + "3"] = combo["u"] - combo["d"]
        out[prefix + "8"] = combo["u"] + combo["d"] - 2 * combo["s"]
        out[prefix + "15"] = combo["u"] + combo["d"] + combo["s"] - 3 * combo["c"]
    return out


@pytest.mark.parametrize("basis", [BASIS, tuple(reversed(BASIS))])
def test_evolution_to_flavour_round_trips_a_random_flavour_vector(basis):
    rng = np.random.default_rng(1)
    names = ("u", "ubar", "d", "dbar", "s", "sbar", "c", "g")
    q = {name: rng.normal(size=(3, 5)) for name in names}  # (replica, x)
    q["cbar"] = q["c"]  # symmetric charm at Q0
    evolution = _evolution_from_flavours(q)
    xf_evol = np.stack([evolution[label] for label in basis], axis=1)  # (3, 9, 5)
    out = evolution_to_flavour(xf_evol, basis)
    assert out.shape == (3, 14, 5)
    labels = {"u": "U", "ubar": "UBAR", "d": "D", "dbar": "DBAR", "s": "S", "sbar": "SBAR"}
    labels |= {"c": "C", "cbar": "CBAR", "g": "GLUON"}
    for name, label in labels.items():
        np.testing.assert_allclose(out[:, EXPORT_LABELS.index(label)], q[name], atol=1e-12)
    for label in ("TBAR", "BBAR", "B", "T", "PHT"):
        assert np.all(out[:, EXPORT_LABELS.index(label)] == 0)


def test_evolution_to_flavour_rejects_an_incomplete_basis():
    with pytest.raises(ValueError):
        evolution_to_flavour(np.zeros((8, 4)), BASIS[:-1])
