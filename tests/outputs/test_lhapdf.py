"""LHAPDF6 sets we write are read back by an independent reader (the `parton` package)."""

import numpy as np
import pytest

from n3fit_gpu.outputs.lhapdf import write_lhapdf_set

parton = pytest.importorskip("parton")

X = np.geomspace(1e-5, 1, 40)
SUBGRIDS = (np.geomspace(2.0, 4.92**2, 6), np.geomspace(4.92**2, 1e4, 8))
PIDS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)


def analytic(x, q2, pid, scale):
    return scale * (1 + 0.1 * np.log(q2)) * x**0.3 * (1 - x) ** 3 * (1 + 0.01 * pid)


def xfxq2(pdf, pid, x, q2):
    """One value; parton calls float() on size-1 arrays, which numpy 2 refuses, so ask for two."""
    return float(pdf.xfxQ2(pid, np.array([x, x]), np.array([q2, q2]), grid=False)[0])


def make_set(tmp_path):
    q2 = np.concatenate(SUBGRIDS)
    replicas = np.stack(
        [
            np.array([[[analytic(x, q, p, s) for x in X] for p in PIDS] for q in q2])
            for s in (0.9, 1.0, 1.2)
        ]
    )  # (R, nq, npid, nx)
    write_lhapdf_set(tmp_path, "toyset", X, SUBGRIDS, PIDS, replicas, {"MZ": 91.1876})
    return replicas


def test_parton_reads_nodes_and_mean(tmp_path):
    replicas = make_set(tmp_path)
    for member in (0, 2):
        pdf = parton.mkPDF("toyset", member, pdfdir=str(tmp_path))
        expected = replicas.mean(axis=0) if member == 0 else replicas[member - 1]
        for iq, q2 in enumerate(np.concatenate(SUBGRIDS)[[0, 3, 9, 13]]):
            iq = list(np.concatenate(SUBGRIDS)).index(q2)
            for pid in (21, 2, -1):
                col = PIDS.index(pid)
                got = xfxq2(pdf, pid, X[10], q2)
                assert got == pytest.approx(expected[iq, col, 10], rel=1e-6)


def test_parton_interpolates_between_nodes(tmp_path):
    make_set(tmp_path)
    pdf = parton.mkPDF("toyset", 1, pdfdir=str(tmp_path))
    x, q2 = 0.0123, 50.0
    assert xfxq2(pdf, 21, x, q2) == pytest.approx(analytic(x, q2, 21, 0.9), rel=2e-3)
