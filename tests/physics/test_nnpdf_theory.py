"""A dataset's FK tables in an NNPDF theory folder (theory_N/fastkernel/*.pineappl.lz4).

The theory folder is built by the test: tiny genuine FK tables (``pineappl_tables.py``) named
as nnpdf-data's real metadata names them, so the dataset -> tables + operation mapping read is
the real one (NULL with a conversion factor, RATIO with per-table normalisations and a one-point
denominator, ASY, and SUBTRACT_ABS, which we refuse).
"""

from types import SimpleNamespace

import numpy as np
import pytest

pytestmark = pytest.mark.theory
pytest.importorskip("pineappl", reason="needs the [theory] extra (pineappl)")

from n3fit_gpu.errors import DataError, TheoryError, TheoryNotFoundError  # noqa: E402
from n3fit_gpu.physics.channel_convolution import ChannelPlan, predict  # noqa: E402
from n3fit_gpu.physics.nnpdf_theory import common_xgrid, load_dataset_fk  # noqa: E402

from .pineappl_tables import (  # noqa: E402
    HADRONIC,
    pineappl_predictions,
    random_weights,
    stacked_xf,
    write_fk,
)

TOP = "ATLAS_SINGLETOP_TCH_DIFF_7TEV_TBAR_RAP_NORM-"
POINTS = {
    "ATLAS_DY_7TEV_CC": 4,
    f"{TOP}aMCfast_obs_0": 2,
    f"{TOP}aMCfast_obs_1": 3,
    f"{TOP}aMCfast_obs_2": 2,
    f"{TOP}ATLAS_SINGLETOP_TCH_R_7TEV_TB": 1,
    "CMSWMASY47FB-CMSWMASY47FB-Wp-eta4": 3,
    "CMSWMASY47FB-CMSWMASY47FB-Wm-eta3": 3,
}
R = 2


@pytest.fixture(scope="module")
def theory(tmp_path_factory):
    folder = tmp_path_factory.mktemp("theory_999")
    (folder / "fastkernel").mkdir()
    rng = np.random.default_rng(5)
    for name, n in POINTS.items():
        weights = np.abs(random_weights(rng, n, len(HADRONIC), True))  # positive: safe ratios
        write_fk(folder / "fastkernel" / f"{name}.pineappl.lz4", HADRONIC, weights)
    return folder


def ours(dataset_fk) -> np.ndarray:
    xgrid = common_xgrid(dataset_fk.tables)
    xf = stacked_xf(R)
    parts = [
        np.concatenate([predict(ChannelPlan.from_table(t, xgrid), xf) for t in op.tables], axis=1)
        for op in dataset_fk.operands
    ]
    return dataset_fk.combine(parts)


def theirs(theory, name: str) -> np.ndarray:
    return pineappl_predictions(theory / "fastkernel" / f"{name}.pineappl.lz4", R)


def test_null_with_a_conversion_factor(theory):
    fk = load_dataset_fk(theory, "ATLAS_Z0_7TEV_46FB_CC-Y")
    assert fk.operation == "NULL" and [t.name for t in fk.tables] == ["ATLAS_DY_7TEV_CC"]
    np.testing.assert_array_equal(fk.operands[0].rows, np.arange(4))
    np.testing.assert_allclose(ours(fk), 1000.0 * theirs(theory, "ATLAS_DY_7TEV_CC"), rtol=1e-8)


def test_ratio_with_normalisations_and_a_one_point_denominator(theory):
    fk = load_dataset_fk(theory, "ATLAS_SINGLETOP_7TEV_TBAR-Y-NORM")
    assert fk.operation == "RATIO" and [len(op.tables) for op in fk.operands] == [3, 1]
    numerator = 2.0 * np.concatenate(
        [theirs(theory, f"{TOP}aMCfast_obs_{k}") for k in range(3)], axis=1
    )
    expected = numerator / theirs(theory, f"{TOP}ATLAS_SINGLETOP_TCH_R_7TEV_TB")
    assert ours(fk).shape == (R, 7)
    np.testing.assert_allclose(ours(fk), expected, rtol=1e-8)


def test_asymmetry(theory):
    fk = load_dataset_fk(theory, "CMS_WPWM_7TEV_MUON_ASY")
    plus = theirs(theory, "CMSWMASY47FB-CMSWMASY47FB-Wp-eta4")
    minus = theirs(theory, "CMSWMASY47FB-CMSWMASY47FB-Wm-eta3")
    np.testing.assert_allclose(ours(fk), (plus - minus) / (plus + minus), rtol=1e-8)


def test_shifts_leave_gaps_in_the_rows(theory):
    meta = SimpleNamespace(
        FK_tables=[[f"{TOP}aMCfast_obs_0", f"{TOP}aMCfast_obs_1"]],
        operation="NULL",
        conversion_factor=1.0,
        shifts={f"{TOP}aMCfast_obs_1": 3},
        normalization=None,
    )
    fk = load_dataset_fk(theory, "SHIFTED", metadata=meta)
    np.testing.assert_array_equal(fk.operands[0].rows, [0, 1, 5, 6, 7])


def test_unsupported_operation_is_one_line(theory):
    with pytest.raises(TheoryError, match="SUBTRACT_ABS is not supported") as error:
        load_dataset_fk(theory, "NNPDF_POS_2P24GEV_XUQ-POLARIZED")
    assert "\n" not in str(error.value)


def test_wrong_number_of_operands(theory):
    meta = SimpleNamespace(FK_tables=[["ATLAS_DY_7TEV_CC"]], operation="RATIO")
    with pytest.raises(TheoryError, match="RATIO takes 2 operands.*lists 1"):
        load_dataset_fk(theory, "BROKEN", metadata=meta)


def test_missing_tables_are_named(tmp_path, theory):
    (tmp_path / "fastkernel").mkdir()
    with pytest.raises(TheoryNotFoundError, match="no FK table CMSWMASY47FB.*Wp-eta4, CMS") as e:
        load_dataset_fk(tmp_path, "CMS_WPWM_7TEV_MUON_ASY")
    assert "\n" not in str(e.value)
    with pytest.raises(TheoryNotFoundError, match="no fastkernel/ folder"):
        load_dataset_fk(tmp_path / "nowhere", "CMS_WPWM_7TEV_MUON_ASY")


def test_unknown_dataset_or_variant(theory):
    with pytest.raises(DataError, match="NOPE_XS"):
        load_dataset_fk(theory, "NOPE_XS")
    with pytest.raises(DataError, match="variant nope"):
        load_dataset_fk(theory, "ATLAS_Z0_7TEV_46FB_CC-Y", variant="nope")
