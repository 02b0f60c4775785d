"""exportgrid files: NNPDF's layout read back; evolution ↔ flavour rotation round-trips."""

from pathlib import Path

import numpy as np

from n3fit_gpu.outputs.exportgrid import (
    EXPORT_LABELS,
    EXPORT_XGRID,
    evolution_to_flavour,
    read_exportgrid,
    write_exportgrid,
)
from n3fit_gpu.physics.theory import BASIS, Q0_PIDS, evolution_rotation

FIXTURE = Path(__file__).parent / "fixtures" / "nnpdf_replica_7.exportgrid"


def test_reads_an_nnpdf_exportgrid():
    grid = read_exportgrid(FIXTURE)
    assert grid.replica == 7 and grid.q20 == 2.7225
    assert grid.labels == EXPORT_LABELS
    assert grid.pdfgrid.shape == (4, 14) and grid.pdfgrid[0, 6] == 2.5


def test_write_read_round_trip(tmp_path):
    xf = np.random.default_rng(0).normal(size=(EXPORT_XGRID.size, 14))
    write_exportgrid(tmp_path / "r.exportgrid", xf, 2.7225, 3)
    back = read_exportgrid(tmp_path / "r.exportgrid")
    np.testing.assert_array_equal(back.pdfgrid, xf)
    np.testing.assert_array_equal(back.xgrid, EXPORT_XGRID)
    assert back.replica == 3


def test_grid_is_nnpdf_sized_and_increasing():
    assert EXPORT_XGRID.size == 196 and np.all(np.diff(EXPORT_XGRID) > 0)
    assert EXPORT_XGRID[0] == 1e-9 and EXPORT_XGRID[-1] < 1


def test_evolution_to_flavour_inverts_the_rotation():
    flavours = np.random.default_rng(1).normal(size=(len(Q0_PIDS), 5))
    evol = evolution_rotation(BASIS) @ flavours
    out = evolution_to_flavour(evol, BASIS)
    for p, pid in enumerate(Q0_PIDS):
        label = {
            21: "GLUON",
            1: "D",
            2: "U",
            3: "S",
            4: "C",
            -1: "DBAR",
            -2: "UBAR",
            -3: "SBAR",
            -4: "CBAR",
        }[pid]
        np.testing.assert_allclose(out[EXPORT_LABELS.index(label)], flavours[p], atol=1e-12)
    assert np.all(out[EXPORT_LABELS.index("B")] == 0)
