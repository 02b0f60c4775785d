"""LHAPDF6 sets we write are read back by an independent reader (the `parton` package)."""

import numpy as np
import pytest
import yaml

from n3fit_gpu.outputs.lhapdf import write_lhapdf_set

parton = pytest.importorskip("parton")

X = np.geomspace(1e-5, 1, 40)
SUBGRIDS = (np.geomspace(2.0, 4.92**2, 6), np.geomspace(4.92**2, 1e4, 8))
Q2 = np.concatenate(SUBGRIDS)
PIDS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)
SCALES = (0.9, 1.0, 1.2)


def analytic(x, q2, pid, scale):
    """A smooth x·f(x, Q²) per flavour, scaled per replica."""
    return scale * (1 + 0.1 * np.log(q2)) * x**0.3 * (1 - x) ** 3 * (1 + 0.01 * pid)


def make_replicas(scales=SCALES) -> np.ndarray:
    """(R, nq, npid, nx) x·f on the knots."""
    x, q2, pid, scale = np.meshgrid(X, Q2, PIDS, scales, indexing="ij")
    return np.transpose(analytic(x, q2, pid, scale), (3, 1, 2, 0))


def xfxq2(pdf, pid: int, x: float, q2: float) -> float:
    """One value from `parton` (its scalar path calls float() on a 2-d array: numpy 2 refuses)."""
    return float(pdf.xfxQ2(pid, np.array([x, x]), q2)[0, 0])


def write(tmp_path, replicas, **info):
    info = {"MZ": 91.1876, "AlphaS_Qs": np.sqrt(Q2), "AlphaS_Vals": 0.2 / np.log(Q2)} | info
    return write_lhapdf_set(tmp_path, "toyset", X, SUBGRIDS, PIDS, replicas, info)


def test_parton_reads_every_member_at_the_knots(tmp_path):
    replicas = make_replicas()
    write(tmp_path, replicas)
    for member in range(len(SCALES) + 1):
        pdf = parton.mkPDF("toyset", member, pdfdir=str(tmp_path))
        expected = replicas.mean(axis=0) if member == 0 else replicas[member - 1]
        for iq in (0, 3, 5, 6, 9, 13):  # both subgrids, both sides of the threshold
            for pid in (21, 2, -1, 5):
                got = pdf.xfxQ2(pid, X[[0, 10, 25]], Q2[iq]).ravel()
                np.testing.assert_allclose(
                    got, expected[iq, PIDS.index(pid), [0, 10, 25]], rtol=1e-7
                )


def test_central_member_is_the_replica_mean(tmp_path):
    write(tmp_path, make_replicas())
    central = parton.mkPDF("toyset", 0, pdfdir=str(tmp_path))
    replicas = [parton.mkPDF("toyset", m, pdfdir=str(tmp_path)) for m in (1, 2, 3)]
    x, q2 = X[12], Q2[10]
    mean = np.mean([xfxq2(pdf, 21, x, q2) for pdf in replicas])
    assert xfxq2(central, 21, x, q2) == pytest.approx(mean, rel=1e-7)


def test_parton_interpolates_between_knots(tmp_path):
    write(tmp_path, make_replicas())
    pdf = parton.mkPDF("toyset", 1, pdfdir=str(tmp_path))
    for x, q2 in ((0.0123, 50.0), (3e-4, 3.0), (0.4, 5000.0)):
        assert xfxq2(pdf, 21, x, q2) == pytest.approx(analytic(x, q2, 21, SCALES[0]), rel=2e-3)


def test_info_and_member_headers(tmp_path):
    folder = write(tmp_path, make_replicas(), SetDesc="toy: closure", OrderQCD=2)
    info = yaml.safe_load((folder / "toyset.info").read_text())
    assert info["Format"] == "lhagrid1" and info["ErrorType"] == "replicas"
    assert info["NumMembers"] == len(SCALES) + 1 and info["Flavors"] == list(PIDS)
    assert info["NumFlavors"] == 5 and info["Particle"] == 2212
    assert info["QMin"] == pytest.approx(np.sqrt(2.0)) and info["QMax"] == pytest.approx(100.0)
    assert (info["XMin"], info["XMax"]) == (1e-5, 1.0)
    assert info["SetDesc"] == "toy: closure" and info["OrderQCD"] == 2 and info["MZ"] == 91.1876
    assert info["AlphaS_Qs"] == pytest.approx(np.sqrt(Q2).tolist())
    assert "AlphaS_Qs: [" in (folder / "toyset.info").read_text()  # flow style, as LHAPDF's
    headers = [(folder / f"toyset_{m:04d}.dat").read_text().split("---")[0] for m in range(4)]
    assert ["PdfType: central" in headers[0]] + ["PdfType: replica" in h for h in headers[1:]] == [
        True
    ] * 4
    assert sorted(p.name for p in folder.iterdir()) == [
        "toyset.info",
        *(f"toyset_{m:04d}.dat" for m in range(4)),
    ]


def test_q_line_is_in_gev(tmp_path):
    folder = write(tmp_path, make_replicas())
    blocks = (folder / "toyset_0001.dat").read_text().split("---\n")
    q_knots = [float(v) for v in blocks[2].splitlines()[1].split()]
    np.testing.assert_allclose(q_knots, np.sqrt(SUBGRIDS[1]), rtol=1e-15)


def test_rewriting_replaces_the_whole_set(tmp_path):
    write(tmp_path, make_replicas())
    folder = write(tmp_path, make_replicas((2.0,)))
    assert sorted(p.name for p in folder.iterdir()) == [
        "toyset.info",
        "toyset_0000.dat",
        "toyset_0001.dat",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["toyset"]  # no staging folder left
    pdf = parton.mkPDF("toyset", 0, pdfdir=str(tmp_path))
    assert xfxq2(pdf, 21, X[5], Q2[2]) == pytest.approx(analytic(X[5], Q2[2], 21, 2.0), rel=1e-7)


@pytest.mark.parametrize(
    ("replicas", "info", "match"),
    [
        (np.zeros((2, 14, 11, 39)), {}, "shape"),
        (np.zeros((0, 14, 11, 40)), {}, "shape"),
        (np.zeros((2, 14, 11, 40)), {"NumMembers": 7}, "NumMembers"),
    ],
)
def test_rejects_inconsistent_input(tmp_path, replicas, info, match):
    with pytest.raises(ValueError, match=match):
        write_lhapdf_set(tmp_path, "bad", X, SUBGRIDS, PIDS, replicas, info)
    assert list(tmp_path.iterdir()) == []
