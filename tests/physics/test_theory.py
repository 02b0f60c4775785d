"""The shipped theory loads, is consistent, and its loader rejects broken theories."""

import json
import shutil

import numpy as np
import pytest

from n3fit_gpu.errors import TheoryError, TheoryNotFoundError
from n3fit_gpu.physics.theory import (
    BASIS,
    EVOLUTION_FILE,
    FKTABLES_FILE,
    METADATA_FILE,
    T0_FILE,
    load_theory,
    shipped_theories,
    summary_line,
)
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution, toy_xf_flavour

THEORYID = "n3fit_gpu_dis_nlo"


@pytest.fixture(scope="module")
def theory():
    return load_theory(theoryid=THEORYID)


@pytest.fixture(scope="module")
def evolution(theory):
    return theory.evolution()


def _predictions(observable, xf):
    values = [np.einsum("nfx,fx->n", table, xf) for table in observable.fktables]
    return values[0] / values[1] if observable.operation == "RATIO" else values[0]


def test_default_theory_is_shipped():
    assert THEORYID in shipped_theories()


def test_shapes_basis_and_grid_are_consistent(theory):
    nx = len(theory.xgrid)
    assert theory.basis == BASIS
    assert nx <= 50 and np.all(np.diff(theory.xgrid) > 0) and theory.xgrid[0] <= 1e-6
    groups = (theory.datasets, theory.positivity, theory.integrability)
    for observable in (obs for group in groups for obs in group.values()):
        assert len(observable.fktables) == (2 if observable.operation == "RATIO" else 1)
        for table in observable.fktables:
            assert table.shape == (observable.ndata, len(BASIS), nx)
            assert np.all(np.isfinite(table))


def test_datasets_keep_enough_points_with_their_indices(theory):
    assert sum(obs.ndata for obs in theory.datasets.values()) >= 500
    assert theory.datasets["NMC_NC_NOTFIXED_EM-F2"].operation == "RATIO"
    for observable in theory.datasets.values():
        indices = observable.data_indices
        assert len(indices) == observable.ndata and np.all(np.diff(indices) > 0)
        x, q2 = observable.kinematics["x"], observable.kinematics["Q2"]
        assert len(x) == len(q2) == observable.ndata
        w2 = q2 * (1 - x) / x + theory.theory_card["MP"] ** 2
        assert np.all(q2 >= theory.cuts["q2min"]) and np.all(w2 >= theory.cuts["w2min"])


def test_toy_predictions_are_sensible(theory):
    xf = toy_xf_evolution(theory.xgrid, theory.basis)
    for name, observable in theory.datasets.items():
        predictions = _predictions(observable, xf)
        assert np.all(np.isfinite(predictions)) and np.all(predictions > 0), name
        # F2-like: O(0.1-1), falling to ~0.01 only at the largest x; neutrino CC reduced
        # cross sections (F2 and xF3 add up) reach ~2
        assert np.all(predictions < 3.0) and 0.1 < np.median(predictions) < 2.0, name
    ratio = _predictions(theory.datasets["NMC_NC_NOTFIXED_EM-F2"], xf)  # F2d / F2p
    assert np.all((ratio > 0.5) & (ratio < 1.1))


def test_positivity_tables_give_the_evolved_toy_flavours(theory):
    xf = toy_xf_evolution(theory.xgrid, theory.basis)
    quark = _predictions(theory.positivity["NNPDF_POS_2P24GEV_XUQ"], xf)
    antiquark = _predictions(theory.positivity["NNPDF_POS_2P24GEV_XUB"], xf)
    x = theory.positivity["NNPDF_POS_2P24GEV_XUQ"].kinematics["x"]
    assert np.all(quark > antiquark) and np.all(antiquark > 0)
    # DGLAP from Q0^2 = 2.72 to 5 GeV^2 depletes large x and feeds small x
    truth = toy_xf_flavour(x)
    gluon = _predictions(theory.positivity["NNPDF_POS_2P24GEV_XGL"], xf)
    assert np.all(quark[x > 0.3] < truth[2][x > 0.3]) and np.all(quark[x > 0.3] > 0)
    assert np.all(gluon[x < 1e-4] > truth[21][x < 1e-4])
    assert set(theory.integrability) >= {"NNPDF_INTEG_3GEV_XT3", "NNPDF_INTEG_3GEV_XV"}


def test_evolution_at_q0_reproduces_the_input(theory, evolution):
    assert evolution.q2[0] == pytest.approx(theory.q0**2) == evolution.q2_input
    xf = toy_xf_evolution(evolution.xgrid_in, theory.basis)
    # the operator's own output grid, before the interpolation to the LHAPDF knots
    at_q0 = np.einsum("cyfx,fx->cy", evolution.operator[0].astype(float), xf)
    evolved = evolution.output_rotation @ at_q0
    truth = toy_xf_flavour(evolution.xgrid_in)
    inside = evolution.xgrid_in < 1.0  # x f(1) = 0
    # atol: the operator is stored in float32, so flavours rotated from O(1) evolution-basis
    # values carry ~1e-8 absolute noise (the strange sea at x ~ 0.9 is ~1e-5)
    for row, pid in enumerate(evolution.pids):
        np.testing.assert_allclose(evolved[row, inside], truth[pid][inside], rtol=1e-5, atol=1e-8)


def test_the_q0_knot_holds_the_pdf_given_at_the_lhapdf_knots(theory, evolution):
    xf_in = toy_xf_evolution(evolution.xgrid_in, theory.basis)
    xf_out = toy_xf_evolution(evolution.xgrid_out, theory.basis)
    grids = evolution.apply(np.stack([xf_in, 2 * xf_in]), np.stack([xf_out, 2 * xf_out]))
    truth = toy_xf_flavour(evolution.xgrid_out)
    for row, pid in enumerate(evolution.pids):
        np.testing.assert_allclose(grids[1, 0, row], 2 * truth[pid], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grids[1, 1:], 2 * grids[0, 1:], rtol=1e-12)


def test_lhapdf_knots_are_nnpdf40s(evolution):
    from n3fit_gpu.outputs.exportgrid import EXPORT_XGRID

    np.testing.assert_array_equal(evolution.xgrid_out, EXPORT_XGRID)  # XMin 1e-9, as NNPDF
    assert evolution.xgrid_in[0] == pytest.approx(1e-9) and evolution.xgrid_in[-1] == 1.0
    below, above = evolution.q2_subgrids
    assert len(below) == 12 and len(above) == 38  # 49 knots, m_b in both blocks
    np.testing.assert_allclose(np.sqrt([below[0], below[-1], above[-1]]), [1.65, 4.92, 1e5])


def test_sum_rules_hold_on_the_written_grid_at_every_knot(theory, evolution):
    from n3fit_gpu.outputs.exportgrid import EXPORT_XGRID
    from tests.outputs.grid_integrals import SUM_RULES, grid_sum_rules

    xf_in = toy_xf_evolution(evolution.xgrid_in, theory.basis)
    grids = evolution.apply(xf_in, toy_xf_evolution(EXPORT_XGRID, theory.basis))
    integrals = grid_sum_rules(EXPORT_XGRID, evolution.pids, grids)
    for name, expected in SUM_RULES.items():
        np.testing.assert_allclose(integrals[name], expected, atol=1e-3, err_msg=name)


def test_evolution_blocks_meet_at_the_threshold(evolution):
    first, second = evolution.q2_subgrids
    assert first[-1] == second[0] and evolution.q2[-1] >= 1e10
    assert np.all(np.diff(evolution.q2) >= 0)
    # NLO matching at mu = m_b is trivial: both sides give the same PDFs, to eko's numerical
    # accuracy: 1e-4 on the FK tables' x range, 2.8e-4 below 1e-8 (measured; Mellin inversion
    # at x ~ 1e-9)
    xf = toy_xf_evolution(np.asarray(evolution.xgrid_in), BASIS)
    both = evolution.apply(xf)[len(first) - 1 : len(first) + 1]
    fk_range = evolution.xgrid_out >= 2e-7
    np.testing.assert_allclose(*both[..., fk_range], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(*both[..., ~fk_range], rtol=5e-4, atol=1e-6)


def test_alphas_runs_to_its_reference_value(theory, evolution):
    assert np.all(np.diff(evolution.alphas[1:]) <= 0)
    at_mz = np.interp(np.log(91.2**2), np.log(evolution.q2), evolution.alphas)
    assert at_mz == pytest.approx(theory.theory_card["alphas"], rel=2e-3)


def test_unknown_id_lists_shipped_theories():
    with pytest.raises(TheoryNotFoundError, match=f"{THEORYID}.*build_theory.py"):
        load_theory(theoryid=123)


def test_an_nnpdf_number_is_not_silently_our_theory():
    """NNPDF's 40000000 is NNLO FONLL-C: naming it must not load our NLO ZM-VFNS tables."""
    with pytest.raises(TheoryNotFoundError) as error:
        load_theory(theoryid=40000000)
    message = str(error.value)
    assert "40000000 is an NNPDF theory number" in message
    assert f"{THEORYID} (NLO DIS, ZM-VFNS)" in message


def test_description_says_what_the_theory_is(theory):
    described = theory.description
    assert described["theoryid"] == THEORYID
    assert (described["order"], described["scheme"], described["q0"]) == ("NLO", "ZM-VFNS", 1.65)
    assert described["alphas_mz"] == 0.118
    assert "NNPDF theory card 40000000 with" in described["built_from"]  # and the overrides
    line = summary_line(described)
    assert line.startswith(f"theory {THEORYID}: NLO DIS, ZM-VFNS, Q0 = 1.65 GeV")


def test_missing_directory(tmp_path):
    with pytest.raises(TheoryNotFoundError, match="no theory at"):
        load_theory(path=tmp_path / "nowhere")


@pytest.fixture
def copied(theory, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(theory.path, target)
    return target


def _flip_byte(path, offset=1000):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupted_fktables_are_rejected(copied):
    _flip_byte(copied / FKTABLES_FILE)
    with pytest.raises(TheoryError, match="corrupted.*checksum.*remake it with"):
        load_theory(path=copied)


def test_corrupted_evolution_is_rejected_when_loaded(copied):
    _flip_byte(copied / EVOLUTION_FILE)
    theory = load_theory(path=copied)  # the evolution operator is read lazily
    with pytest.raises(TheoryError, match="checksum"):
        theory.evolution()


def test_missing_file_is_reported_with_the_commands_that_remake_it_here(copied):
    """The theory's own build and extension commands, pointed at where the theory is now."""
    (copied / FKTABLES_FILE).unlink()
    with pytest.raises(TheoryNotFoundError, match="fktables.npz is missing") as error:
        load_theory(path=copied)
    message = str(error.value)
    assert f"--output {copied} " in message and f"--extend {copied} " in message
    assert "theories/40000000" not in message


def test_missing_evolution_and_t0_name_their_own_commands(copied):
    theory = load_theory(path=copied)
    (copied / EVOLUTION_FILE).unlink()
    with pytest.raises(TheoryNotFoundError, match=f"--evolution-only --output {copied}`"):
        theory.evolution()
    (copied / T0_FILE).unlink()
    with pytest.raises(TheoryNotFoundError, match=f"make_t0.py --theory {copied}`"):
        theory.t0_xf()


def test_unsupported_format_version(copied):
    metadata = json.loads((copied / METADATA_FILE).read_text())
    metadata["format_version"] = 99
    (copied / METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.raises(TheoryError, match="version 99.*rebuild"):
        load_theory(path=copied)
