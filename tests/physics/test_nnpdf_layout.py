"""The NNPDF theory-folder writer (nnpdf_layout.py) and the builder's use of it.

Tables written by :func:`write_fk_table` must read back through our reader
(``pineappl_fk.read_fk_table``) and PineAPPL's own convolution alike; the DIS builder's
``write_layout_tables`` must put each point at its commondata row and split an operand into the
tables nnpdf-data names (BCDMS: one per beam energy).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.theory
pytest.importorskip("pineappl", reason="needs the [theory] extra (pineappl)")

from n3fit_gpu.physics.channel_convolution import ChannelPlan, predict  # noqa: E402
from n3fit_gpu.physics.nnpdf_layout import (  # noqa: E402
    expand_rows,
    fastkernel_path,
    write_fk_table,
)
from n3fit_gpu.physics.pineappl_fk import read_fk_table  # noqa: E402

from .pineappl_tables import (  # noqa: E402
    HADRONIC,
    XGRID,
    pineappl_predictions,
    random_weights,
    stacked_xf,
)

ROOT = Path(__file__).resolve().parents[2]
DIS = [(21,), (100,), (103,), (200,), (22,)]


def test_fastkernel_path():
    assert fastkernel_path("theory_9", "DYE866R_D") == Path(
        "theory_9/fastkernel/DYE866R_D.pineappl.lz4"
    )


def test_expand_rows():
    out = expand_rows(np.ones((2, 3)), np.array([1, 4]), 5)
    np.testing.assert_array_equal(out.sum(axis=1), [0, 3, 0, 0, 3])


@pytest.mark.parametrize("hadronic", [False, True])
def test_written_tables_read_back_through_both_readers(tmp_path, hadronic):
    rng = np.random.default_rng(3)
    channels = HADRONIC if hadronic else DIS
    weights = random_weights(rng, 4, len(channels), hadronic)
    path = write_fk_table(
        tmp_path / "fastkernel" / "T.pineappl.lz4", weights, channels, XGRID, 1.65
    )
    fk = read_fk_table(path)
    assert fk.name == "T" and fk.ndata == 4 and fk.q0 == pytest.approx(1.65)
    ours = predict(ChannelPlan.from_table(fk), stacked_xf(2))
    np.testing.assert_allclose(ours, pineappl_predictions(path, 2), rtol=1e-10)


def test_channel_count_must_match(tmp_path):
    with pytest.raises(ValueError, match="2 channels of 1 ids"):
        write_fk_table(tmp_path / "T.pineappl.lz4", np.ones((1, 3, 8)), DIS[:2], XGRID, 1.65)


def _builder():
    spec = importlib.util.spec_from_file_location("build_theory", ROOT / "scripts/build_theory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builder_writes_bcdms_per_beam_energy(tmp_path):
    """Every point with Q^2 >= Q0^2 at its commondata row, in NNPDF's four BCDMS tables."""
    builder = _builder()
    points = builder.load_points("BCDMS_NC_NOTFIXED_P_EM-F2", 3.49, 12.5, 0.938, None, 1.65**2)
    assert points.ndata == 351 and len(points.indices) == 351 and points.cut.sum() == 337
    assert points.splits == (0, 97, 196, 275)
    unique, inverse = builder.distinct_points(points, builder.TABLES[points.name][0])
    rng = np.random.default_rng(0)
    pineko_like = write_fk_table(
        tmp_path / "pineko.fk.lz4", rng.normal(size=(len(unique.x), 4, 8)), DIS[:4], XGRID, 1.65
    )
    written = builder.write_layout_tables(tmp_path / "theory", pineko_like, points, 0, inverse)
    assert [p.name for p in written] == [
        f"BCDMS_NC_{e}GEV_EM_P_F2.pineappl.lz4" for e in (100, 120, 200, 280)
    ]
    tables = [read_fk_table(p) for p in written]
    assert [t.ndata for t in tables] == [97, 99, 79, 76]
    stacked = np.concatenate([t.dense() for t in tables])
    np.testing.assert_allclose(stacked, read_fk_table(pineko_like).dense()[inverse], rtol=1e-14)


def test_builder_leaves_points_below_q0_as_zero_rows(tmp_path):
    builder = _builder()
    points = builder.load_points("NMC_NC_NOTFIXED_EM-F2", 3.49, 12.5, 0.938, None, 1.65**2)
    assert points.ndata == 260 and len(points.indices) == 260 - 95  # 95 points below Q0^2
    unique, inverse = builder.distinct_points(points, builder.TABLES[points.name][1])
    pineko_like = write_fk_table(
        tmp_path / "pineko.fk.lz4", np.ones((len(unique.x), 1, 8)), [(100,)], XGRID, 1.65
    )
    (path,) = builder.write_layout_tables(tmp_path / "theory", pineko_like, points, 1, inverse)
    assert path.name == "NMC_NC_EM_P_F2.pineappl.lz4"
    rows = np.abs(read_fk_table(path).table).sum(axis=(1, 2))
    np.testing.assert_array_equal(np.flatnonzero(rows), points.indices)
