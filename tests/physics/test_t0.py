"""The t0 prescription: ``datacuts.t0pdfset`` (``toy`` or an LHAPDF set) → MULT uncertainties."""

from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.config import load_runcard, parse_runcard
from n3fit_gpu.errors import PDFSetError
from n3fit_gpu.outputs.lhapdf import write_lhapdf_set
from n3fit_gpu.physics.commondata import DatasetSpec, load_commondata
from n3fit_gpu.physics.covariance import build_covariance
from n3fit_gpu.physics.fit_data import load_fit_data, predict
from n3fit_gpu.physics.pdf_sets import pdf_at_q0
from n3fit_gpu.physics.theory import Q0_PIDS, load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution, toy_xf_flavour

QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"


@pytest.fixture(scope="module")
def theory():
    return load_theory("n3fit_gpu_dis_nlo")


def one_dataset_card(name: str, t0: str | None):
    card = load_runcard(QUICKSTART)
    entry = next(e for e in card.dataset_inputs if e.dataset == name)
    cuts = card.datacuts.model_copy(update={"t0pdfset": t0})
    return card.model_copy(update={"dataset_inputs": (entry,), "datacuts": cuts, "genrep": False})


def hand_t0_covariance(name: str, indices: np.ndarray, t0: np.ndarray) -> np.ndarray:
    """C_ab point pair by point pair, from the uncut dataset: MULT columns scaled by t0/data."""
    cd = load_commondata(DatasetSpec(name, "legacy"))
    n = len(indices)
    cov = np.zeros((n, n))
    for a, i in enumerate(indices):
        for b, j in enumerate(indices):
            cov[a, b] = cd.stat[i] ** 2 if a == b else 0.0
            for k, (treatment, source) in enumerate(zip(cd.sys_treatment, cd.sys_names)):
                si, sj = cd.sys[i, k], cd.sys[j, k]
                if treatment == "MULT":
                    si, sj = si * t0[a] / cd.central[i], sj * t0[b] / cd.central[j]
                if source == "UNCORR":
                    cov[a, b] += si * sj if a == b else 0.0
                elif source != "SKIP":
                    cov[a, b] += si * sj
    return cov


# BCDMS: ADD and MULT named sources and MULT CORR; HERA CC: MULT named and MULT UNCORR
@pytest.mark.parametrize("name", ["BCDMS_NC_NOTFIXED_P_EM-F2", "HERA_CC_318GEV_EP-SIGMARED"])
def test_t0_covariance_matches_a_hand_computation(theory, name):
    data = load_fit_data(one_dataset_card(name, "toy"), theory, [1])
    (cd,), (obs,) = data.datasets, data.observables
    t0 = predict(obs, toy_xf_evolution(theory.xgrid, theory.basis))
    expected = hand_t0_covariance(name, cd.indices, t0)
    np.testing.assert_allclose(data.covariance.dense(), expected, rtol=1e-10, atol=0)
    experimental = build_covariance([cd]).dense()
    assert np.abs(expected - experimental).max() > 1e-3 * np.abs(experimental).max()


def test_runcard_with_t0_toy_loads(theory):
    text = QUICKSTART.read_text().replace("{t0pdfset: null", "{t0pdfset: toy", 1)
    card = parse_runcard(text, "t0.yml")
    assert card.datacuts.t0pdfset == "toy"
    data = load_fit_data(card, theory, [1, 2])
    cov = data.covariance
    assert cov.diag.shape == data.central.shape and np.all(cov.diag > 0)
    assert np.all(np.isfinite(cov.sys))
    np.linalg.cholesky(cov.dense())  # positive definite


def toy_set(tmp_path, theory, xgrid, q_knots, name="toyset"):
    """An LHAPDF set whose every member and Q knot holds the toy PDF at Q0."""
    flavours = toy_xf_flavour(xgrid)
    pids = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 21)
    xf = np.stack([flavours[p] for p in pids])  # (npid, nx)
    grids = np.broadcast_to(xf, (2, len(q_knots), len(pids), len(xgrid)))
    return write_lhapdf_set(tmp_path, name, xgrid, [np.square(q_knots)], pids, grids, {})


def test_set_on_the_theory_grid_reproduces_its_pdf(tmp_path, theory):
    folder = toy_set(tmp_path, theory, theory.xgrid, np.array([theory.q0, 3.0, 10.0]))
    xf = pdf_at_q0(str(folder), theory)
    expected = toy_xf_evolution(theory.xgrid, theory.basis)
    np.testing.assert_allclose(xf, expected, rtol=1e-8, atol=1e-8)  # 9-digit values, q − q̄ cancels


def test_set_between_knots_is_interpolated_in_ln_x(tmp_path, theory):
    """A set on every other theory x knot gives the toy at the skipped knots to < 2% for x < 0.7.

    Measured: 5e-3 at most for the valence-like and 2e-2 at the lowest skipped knot (next to
    the grid's end); above x ≈ 0.7 the toy falls like (1 − x)^3…6 and the relative error grows.
    """
    coarse = theory.xgrid[::2]
    if coarse[-1] != theory.xgrid[-1]:
        coarse = np.append(coarse, theory.xgrid[-1])
    folder = toy_set(tmp_path, theory, coarse, np.array([1.0, theory.q0, 3.0]))
    xf = pdf_at_q0(str(folder), theory)
    expected = toy_xf_evolution(theory.xgrid, theory.basis)
    skipped = (np.arange(theory.xgrid.size) % 2 == 1) & (theory.xgrid < 0.7)
    rel = np.abs(xf - expected)[:, skipped] / np.abs(expected[:, skipped])
    assert rel.max() < 2e-2 and np.median(rel) < 5e-3


def test_q0_pids_of_a_set_are_used(tmp_path, theory):
    """Flavours a set lacks count as zero; pid 0 is the gluon (as LHAPDF reads them)."""
    flavours = toy_xf_flavour(theory.xgrid)
    pids = (0, 2)
    xf = np.stack([flavours[21], flavours[2]])[None, None].repeat(2, axis=1)
    folder = write_lhapdf_set(
        tmp_path, "two", theory.xgrid, [np.square([theory.q0, 5.0])], pids, xf, {}
    )
    got = pdf_at_q0(str(folder), theory)
    only = {p: (flavours[p] if p in (21, 2) else np.zeros_like(theory.xgrid)) for p in Q0_PIDS}
    from n3fit_gpu.physics.theory import evolution_rotation

    expected = evolution_rotation(theory.basis) @ np.stack([only[p] for p in Q0_PIDS])
    np.testing.assert_allclose(got, expected, rtol=2e-8, atol=1e-12)


def test_missing_set_is_one_line_with_the_fix(tmp_path, theory):
    with pytest.raises(PDFSetError) as caught:
        pdf_at_q0(str(tmp_path / "NNPDF40_nope"), theory)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("datacuts.t0pdfset: no LHAPDF set at")
    assert "NNPDF40_nope" in message and "toy" in message


def test_set_without_a_q0_knot_is_refused(tmp_path, theory):
    folder = toy_set(tmp_path, theory, theory.xgrid, np.array([2.0, 5.0, 100.0]))
    with pytest.raises(PDFSetError, match=r"no Q knot at the theory's Q0 = 1\.65 GeV") as caught:
        pdf_at_q0(str(folder), theory)
    assert "\n" not in str(caught.value) and "2–100 GeV" in str(caught.value)


def test_set_with_a_narrower_x_range_is_refused(tmp_path, theory):
    folder = toy_set(tmp_path, theory, np.geomspace(1e-3, 1.0, 40), np.array([theory.q0, 5.0]))
    with pytest.raises(PDFSetError, match="covers 0.001 ≤ x ≤ 1 but the theory needs"):
        pdf_at_q0(str(folder), theory)


def test_a_shipped_theory_name_gives_its_t0_pdf_interpolated_to_another_x_grid(theory):
    from dataclasses import replace

    own = theory.t0_xf()
    np.testing.assert_array_equal(pdf_at_q0("n3fit_gpu_dis_nlo", theory), own)
    every_other = replace(theory, xgrid=theory.xgrid[::2], metadata={})
    np.testing.assert_allclose(pdf_at_q0("n3fit_gpu_dis_nlo", every_other), own[:, ::2])
    between = np.sqrt(theory.xgrid[10:20] * theory.xgrid[11:21])
    xf = pdf_at_q0("n3fit_gpu_dis_nlo", replace(theory, xgrid=between, metadata={}))
    low, high = np.minimum(own[:, 10:20], own[:, 11:21]), np.maximum(own[:, 10:20], own[:, 11:21])
    assert np.all((xf >= low - 1e-3 * np.abs(low)) & (xf <= high + 1e-3 * np.abs(high)))


def test_a_shipped_theory_t0_at_another_q0_is_refused_in_one_line(theory):
    from dataclasses import replace

    with pytest.raises(PDFSetError, match=r"Q0 = 1.65 GeV, this theory's Q0 is 2") as error:
        pdf_at_q0("n3fit_gpu_dis_nlo", replace(theory, q0=2.0, metadata={}))
    assert "\n" not in str(error.value) and "datacuts.t0pdfset" in str(error.value)
