"""Loading DIS datasets from nnpdf-data: values, kinematics, variants, C-factors and errors."""

from pathlib import Path

import nnpdf_data
import numpy as np
import pytest
import yaml

from n3fit_gpu.errors import DataError
from n3fit_gpu.physics.commondata import (
    CommonData,
    DatasetSpec,
    _read_kinematics,
    available_datasets,
    load_commondata,
)

COMMONDATA = Path(nnpdf_data.__file__).parent / "commondata"
FIRST_DATASETS = {
    "BCDMS_NC_NOTFIXED_P_EM-F2": 351,
    "NMC_NC_NOTFIXED_P_EM-SIGMARED": 292,
    "NMC_NC_NOTFIXED_EM-F2": 260,
    "HERA_NC_318GEV_EM-SIGMARED": 159,
    "HERA_NC_318GEV_EP-SIGMARED": 485,
    "HERA_CC_318GEV_EP-SIGMARED": 39,
}


@pytest.fixture(scope="module")
def first_datasets() -> dict[str, CommonData]:
    return {name: load_commondata(DatasetSpec(name, "legacy")) for name in FIRST_DATASETS}


@pytest.mark.parametrize("name", FIRST_DATASETS)
def test_first_datasets_load_with_dis_kinematics(first_datasets, name):
    cd = first_datasets[name]
    assert cd.ndata == FIRST_DATASETS[name]
    assert cd.process_type.startswith("DIS")
    np.testing.assert_array_equal(cd.indices, np.arange(cd.ndata))
    x, q2, y = cd.kinematics["x"], cd.kinematics["Q2"], cd.kinematics["y"]
    assert np.all((x > 0) & (x < 1)) and np.all(q2 > 0) and np.all((y > 0) & (y <= 1))
    assert np.all(cd.central > 0) and np.all(cd.stat > 0)
    assert cd.sys.shape == (cd.ndata, len(cd.sys_names)) == (cd.ndata, len(cd.sys_treatment))
    assert set(cd.sys_treatment) <= {"ADD", "MULT"}


def test_values_are_those_of_the_files(first_datasets):
    cd = first_datasets["BCDMS_NC_NOTFIXED_P_EM-F2"]
    folder = COMMONDATA / "BCDMS_NC_NOTFIXED_P"
    raw = yaml.safe_load((folder / "uncertainties_legacy_EM-F2.yaml").read_text())
    central = yaml.safe_load((folder / "data_legacy_EM-F2.yaml").read_text())["data_central"]
    np.testing.assert_array_equal(cd.central, central)
    np.testing.assert_array_equal(cd.stat, [b["stat"] for b in raw["bins"]])
    systematics = [k for k in raw["definitions"] if k != "stat"]
    np.testing.assert_array_equal(cd.sys[:, 3], [b[systematics[3]] for b in raw["bins"]])
    assert cd.sys_names[:5] == ("BCDMSFB", "BCDMSFS", "BCDMSFR", "BCDMSNORM", "BCDMSRELNORMTARGET")
    assert cd.sys_treatment[:5] == ("ADD", "ADD", "ADD", "MULT", "MULT")


def test_kinematics_use_x_not_other_columns(first_datasets):
    # the NMC σ kinematics file lists xraw, y, Q2, sqrts and x: x must be "x" (0.008, not 0.0078)
    cd = first_datasets["NMC_NC_NOTFIXED_P_EM-SIGMARED"]
    assert cd.kinematics["x"][0] == 0.008
    assert cd.kinematics["y"][0] == 0.635


def test_old_style_kinematic_labels_and_bin_edges(tmp_path):
    path = tmp_path / "kinematics.yaml"
    bins = [
        {"k1": {"mid": 0.1}, "k2": {"mid": 10.0}, "k3": {"mid": 0.5}},
        {"k1": {"min": 0.2, "mid": None, "max": 0.4}, "k2": {"mid": 20.0}, "k3": {"mid": 0.6}},
    ]
    path.write_text(yaml.safe_dump({"bins": bins}))
    kinematics = _read_kinematics(path, 2)
    np.testing.assert_allclose(kinematics["x"], [0.1, 0.3])
    np.testing.assert_allclose(kinematics["Q2"], [10.0, 20.0])
    np.testing.assert_allclose(kinematics["y"], [0.5, 0.6])


def test_missing_y_is_nan():
    cd = load_commondata(DatasetSpec("NMC_NC_NOTFIXED_P_EM-F2-HEPDATA"))
    assert np.all(np.isnan(cd.kinematics["y"])) and np.all(cd.kinematics["x"] > 0)


def test_select_keeps_everything_aligned(first_datasets):
    cd = first_datasets["HERA_CC_318GEV_EP-SIGMARED"]
    mask = np.zeros(cd.ndata, dtype=bool)
    mask[[3, 7, 20]] = True
    for keep in (mask, np.array([3, 7, 20])):
        part = cd.select(keep)
        np.testing.assert_array_equal(part.indices, [3, 7, 20])
        np.testing.assert_array_equal(part.sys, cd.sys[[3, 7, 20]])
        np.testing.assert_array_equal(part.kinematics["Q2"], cd.kinematics["Q2"][[3, 7, 20]])
        assert part.sys_names == cd.sys_names
    with pytest.raises(ValueError):
        cd.central[0] = 1.0  # records are read-only


def test_available_datasets_lists_dis_only():
    names = available_datasets()
    assert set(FIRST_DATASETS) <= set(names)
    assert "ATLAS_Z0J_8TEV_PT-Y" not in names and all("NNPDF_" not in n for n in names)


def _one_line_error(spec: DatasetSpec) -> str:
    with pytest.raises(DataError) as error:
        load_commondata(spec)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_unknown_dataset_lists_close_matches():
    message = _one_line_error(DatasetSpec("BCDMS_NC_NOTFIXED_P_EM-F3", "legacy"))
    assert "BCDMS_NC_NOTFIXED_P_EM-F2" in message and "available_datasets" in message
    assert "HERA_NC_318GEV_EM-SIGMARED" in _one_line_error(DatasetSpec("HERA_NC_318GEV_EMSIGMARED"))


def test_old_nnpdf_name_gets_the_new_one():
    message = _one_line_error(DatasetSpec("BCDMSP"))
    assert "BCDMS_NC_NOTFIXED_P_EM-F2" in message and "legacy" in message


def test_unknown_variant_lists_variants():
    message = _one_line_error(DatasetSpec("BCDMS_NC_NOTFIXED_P_EM-F2", "lgacy"))
    assert "'legacy'" in message and "'legacy_dw'" in message


def test_dataset_without_default_uncertainties_needs_a_variant():
    assert "legacy_dw" in _one_line_error(DatasetSpec("BCDMS_NC_NOTFIXED_P_EM-F2"))


def test_hadronic_dataset_reads_its_own_kinematic_variables():
    cd = load_commondata(DatasetSpec("DYE605_Z0_38P8GEV_DW_PXSEC", "legacy"))
    assert cd.ndata == 119 and cd.process_type == "DYP_FT"
    assert set(cd.kinematics) == {"y", "M2", "sqrts"}
    np.testing.assert_allclose(cd.kinematics["sqrts"], 38.8)


def test_cfactors_from_nnpdf_data():
    spec = DatasetSpec("NUTEV_CC_NOTFIXED_FE_NB-SIGMARED", "legacy", cfac=("MAS",))
    cd = load_commondata(spec)
    lines = (Path(nnpdf_data.CFACTOR_PATH) / "CF_MAS_NUTEV_CC_NB_FE_SIGMARED.dat").read_text()
    expected = [float(line.split()[0]) for line in lines.splitlines()[9:] if line.strip()]
    np.testing.assert_array_equal(cd.cfactor, expected)
    assert cd.select([2, 3]).cfactor.tolist() == expected[2:4]
    assert load_commondata(DatasetSpec(spec.name, "legacy")).cfactor is None


def test_unknown_or_unsupported_cfactors_are_refused():
    missing = DatasetSpec("NUTEV_CC_NOTFIXED_FE_NB-SIGMARED", "legacy", cfac=("QED",))
    assert "nnpdf_data/cfactors" in _one_line_error(missing)
    ratio = DatasetSpec("NMC_NC_NOTFIXED_EM-F2", "legacy", cfac=("MAS",))
    assert "not supported yet" in _one_line_error(ratio)
