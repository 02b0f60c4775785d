"""PineAPPL FK tables: our reader and sparse predictions against PineAPPL's own convolution.

The tables are tiny genuine FK tables built in ``pineappl_tables.py`` (what is built is
documented there): evolution-basis channels including ids that fold together at Q0 (T24,
V35...), both orders of an off-diagonal pair, the photon, unused small-x nodes, and unequal bin
widths; one in the PDG basis.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.theory
pytest.importorskip("pineappl", reason="needs the [theory] extra (pineappl)")

from keras import ops  # noqa: E402

from n3fit_gpu.errors import TheoryError, TheoryNotFoundError  # noqa: E402
from n3fit_gpu.physics.channel_convolution import (  # noqa: E402
    ChannelConvolution,
    ChannelPlan,
    predict,
)
from n3fit_gpu.physics.pineappl_fk import read_fk_table  # noqa: E402
from n3fit_gpu.physics.theory import BASIS  # noqa: E402

from .pineappl_tables import (  # noqa: E402
    HADRONIC,
    Q0,
    XGRID,
    build_grid,
    pineappl_predictions,
    random_weights,
    stacked_xf,
    write_fk,
)

DIS = [(100,), (21,), (124,), (203,), (22,), (115,)]
PDG = [(2, -2), (1, 21), (21, 4), (-3, 3), (5, 21)]
REPLICAS = 3


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """name -> path of the hadronic, DIS and PDG-basis tables."""
    folder = tmp_path_factory.mktemp("fastkernel")
    rng = np.random.default_rng(17)
    return {
        "had": write_fk(folder / "HAD.pineappl.lz4", HADRONIC, random_weights(rng, 4, 7, True)),
        "dis": write_fk(folder / "DIS.pineappl.lz4", DIS, random_weights(rng, 5, 6, False)),
        "pdg": write_fk(
            folder / "PDG.pineappl.lz4", PDG, random_weights(rng, 3, 5, True, 0), pdg=True
        ),
    }


@pytest.mark.parametrize("name", ["had", "dis", "pdg"])
def test_numpy_prediction_equals_pineappl_convolve(tables, name):
    fk = read_fk_table(tables[name])
    got = predict(ChannelPlan.from_table(fk), stacked_xf(REPLICAS))
    np.testing.assert_allclose(got, pineappl_predictions(tables[name], REPLICAS), rtol=1e-8)


@pytest.mark.parametrize("name", ["had", "dis"])
def test_keras_prediction_equals_numpy(float64, tables, name):
    fk = read_fk_table(tables[name])
    conv = ChannelConvolution(fk, lambda a: ops.convert_to_tensor(a, "float64"))
    xf = stacked_xf(REPLICAS)
    got = ops.convert_to_numpy(conv(ops.convert_to_tensor(xf, "float64")))
    np.testing.assert_allclose(got, pineappl_predictions(tables[name], REPLICAS), rtol=1e-8)
    np.testing.assert_allclose(got, predict(conv.plan, xf), rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", ["had", "dis"])
def test_stacked_replicas_equal_each_alone(float64, tables, name):
    conv = ChannelConvolution(
        read_fk_table(tables[name]), lambda a: ops.convert_to_tensor(a, "float64")
    )
    xf = stacked_xf(5)
    together = ops.convert_to_numpy(conv(ops.convert_to_tensor(xf, "float64")))
    alone = np.concatenate(
        [
            ops.convert_to_numpy(conv(ops.convert_to_tensor(xf[r : r + 1], "float64")))
            for r in range(5)
        ]
    )
    np.testing.assert_allclose(together, alone, rtol=1e-12, atol=0)
    np.testing.assert_allclose(predict(conv.plan, xf), together, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["had", "dis", "pdg"])
def test_sparse_path_equals_the_dense_einsum(tables, name):
    fk = read_fk_table(tables[name])
    xf = stacked_xf(REPLICAS)
    dense = fk.dense()
    if fk.hadronic:
        reference = np.einsum("naibj,ria,rjb->rn", dense, xf, xf)
    else:
        reference = np.einsum("nai,ria->rn", dense, xf)
    np.testing.assert_allclose(predict(ChannelPlan.from_table(fk), xf), reference, rtol=1e-12)


def test_reader_folds_channels_and_keeps_the_conventions(tables):
    had = read_fk_table(tables["had"])
    assert had.hadronic and had.ndata == 4 and had.q0 == pytest.approx(Q0)
    np.testing.assert_allclose(had.xgrid, XGRID)
    labels = {(BASIS[a], BASIS[b]) for a, b in had.channels}
    # (21, 100) joins (100, 21); T24 x T35 is Sigma x Sigma; the photon drops out
    assert labels == {("sigma", "g"), ("g", "g"), ("v", "v3"), ("sigma", "sigma"), ("v15", "t8")}
    assert all(a <= b for a, b in had.channels)
    dis = read_fk_table(tables["dis"])
    assert not dis.hadronic and dis.table.shape == (5, 4, len(XGRID))
    assert {BASIS[a] for (a,) in dis.channels} == {"sigma", "g", "v3", "t15"}


def test_plan_keeps_only_the_x_box_used(tables):
    plan = ChannelPlan.from_table(read_fk_table(tables["had"]))
    assert (plan.lo, plan.hi) == (2, len(XGRID))
    assert plan.matrix.shape == (5 * 6 * 6, 4)


def test_plan_on_a_larger_grid_gives_the_same_predictions(tables):
    fk = read_fk_table(tables["had"])
    wider = np.sort(np.concatenate([XGRID, [3e-6, 2e-3, 0.95]]))
    at = np.searchsorted(wider, XGRID)
    xf_wide = np.zeros((REPLICAS, len(wider), len(BASIS)))
    xf_wide[:, at] = stacked_xf(REPLICAS)
    xf_wide[:, ~np.isin(np.arange(len(wider)), at)] = 7.0  # must not count
    got = predict(ChannelPlan.from_table(fk, wider), xf_wide)
    np.testing.assert_allclose(
        got, predict(ChannelPlan.from_table(fk), stacked_xf(REPLICAS)), rtol=1e-12
    )
    with pytest.raises(ValueError, match="not on the given grid"):
        ChannelPlan.from_table(fk, wider[wider != XGRID[3]])


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(TheoryNotFoundError, match="no such FK table") as error:
        read_fk_table(tmp_path / "NOPE.pineappl.lz4")
    assert "NOPE.pineappl.lz4" in str(error.value) and "\n" not in str(error.value)


def test_not_a_pineappl_file(tmp_path):
    path = tmp_path / "JUNK.pineappl.lz4"
    path.write_bytes(b"not a grid")
    with pytest.raises(TheoryError, match="not a PineAPPL file") as error:
        read_fk_table(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_grid_that_is_not_evolved(tmp_path):
    weights = np.ones((2, 1, 1, 2, len(XGRID), len(XGRID)))
    path = tmp_path / "GRID.pineappl.lz4"
    build_grid([(21, 21)], weights, scales=(10.0, 100.0), orders=2).write_lz4(str(path))
    with pytest.raises(TheoryError, match="not an FK table.*pineko") as error:
        read_fk_table(path)
    assert "\n" not in str(error.value)


def test_polarised_convolution_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    path = write_fk(
        tmp_path / "POL.pineappl.lz4", [(21,)], random_weights(rng, 2, 1, False), polarized=True
    )
    with pytest.raises(TheoryError, match="convolution 0 is the polarised PDF.*only unpolarised"):
        read_fk_table(path)


def test_dis_table_runs_through_the_existing_fk_convolution(float64, tables):
    from n3fit_gpu.physics.convolution import FKConvolution

    fk = read_fk_table(tables["dis"])
    conv = FKConvolution(fk.dense(), lambda a: ops.convert_to_tensor(a, "float64"))
    got = ops.convert_to_numpy(conv(ops.convert_to_tensor(stacked_xf(REPLICAS), "float64")))
    np.testing.assert_allclose(got, pineappl_predictions(tables["dis"], REPLICAS), rtol=1e-8)
