"""The runcards we ship, NNPDF's own style and the defaults a short runcard gets."""

import pytest
from pydantic import ValidationError

from n3fit_gpu.config import RunCard, load_runcard, parse_runcard
from n3fit_gpu.config.schema import DEFAULT_SEEDS, NNPDF40_BASIS
from tests.config.helpers import QUICKSTART, RUNCARDS, SCAN, edit

NNPDF_STYLE = """
description: NNPDF4.0-like DIS fit
dataset_inputs:
- {dataset: BCDMS_NC_NOTFIXED_P_EM-F2, variant: legacy, frac: 0.75}
datacuts: {t0pdfset: null, q2min: 3.49, w2min: 12.5}
theory: {theoryid: n3fit_gpu_dis_nlo}
trvlseed: 591866982
nnseed: 945709987
mcseed: 519562661
genrep: true
parameters:
  nodes_per_layer: [25, 20, 8]
  activation_per_layer: [tanh, tanh, linear]
  initializer: glorot_normal
  optimizer: {optimizer_name: Nadam, learning_rate: 2.621e-3, clipnorm: 6.073e-6}
  epochs: 17000
  positivity: {initial: 184.8, multiplier: null, threshold: 1e-6}
  integrability: {initial: 10, multiplier: null}
  stopping_patience: 0.1
  layer_type: dense
  dropout: 0.0
  threshold_chi2: 3.5
fitting:
  fitbasis: EVOL
  sum_rules: ALL
positivity:
  posdatasets:
  - {dataset: NNPDF_POS_2P24GEV_XUQ, maxlambda: 1e6}
integrability:
  integdatasets:
  - {dataset: NNPDF_INTEG_3GEV_XT8, maxlambda: 1e2}
closuretest: {filterseed: 0, fakepdf: toy, fakedata: false, fakenoise: false}
debug: false
double_precision: false
same_trvl_per_replica: false
"""

MINIMAL = """
dataset_inputs: [{dataset: HERA_CC_318GEV_EP-SIGMARED}]
theory: {theoryid: n3fit_gpu_dis_nlo}
parameters:
  nodes_per_layer: [25, 20, 8]
  activation_per_layer: [tanh, tanh, linear]
  optimizer: {optimizer_name: sgd}
  epochs: 100
"""

DIS_DATASETS = (
    "BCDMS_NC_NOTFIXED_P_EM-F2",
    "NMC_NC_NOTFIXED_P_EM-SIGMARED",
    "NMC_NC_NOTFIXED_EM-F2",
    "HERA_NC_318GEV_EM-SIGMARED",
    "HERA_NC_318GEV_EP-SIGMARED",
    "HERA_CC_318GEV_EP-SIGMARED",
)
# NNPDF4.0's DIS sets the shipped theory holds (no NuTeV dimuons, no HERA charm/bottom)
NNPDF40_DIS = (
    "NMC_NC_NOTFIXED_EM-F2",
    "NMC_NC_NOTFIXED_P_EM-SIGMARED",
    "SLAC_NC_NOTFIXED_P_EM-F2",
    "SLAC_NC_NOTFIXED_D_EM-F2",
    "BCDMS_NC_NOTFIXED_P_EM-F2",
    "BCDMS_NC_NOTFIXED_D_EM-F2",
    "CHORUS_CC_NOTFIXED_PB_NU-SIGMARED",
    "CHORUS_CC_NOTFIXED_PB_NB-SIGMARED",
    "HERA_NC_318GEV_EM-SIGMARED",
    "HERA_NC_225GEV_EP-SIGMARED",
    "HERA_NC_251GEV_EP-SIGMARED",
    "HERA_NC_300GEV_EP-SIGMARED",
    "HERA_NC_318GEV_EP-SIGMARED",
    "HERA_CC_318GEV_EM-SIGMARED",
    "HERA_CC_318GEV_EP-SIGMARED",
)
DATASETS = {"quickstart": DIS_DATASETS, "nnpdf40_dis": NNPDF40_DIS, "closure": DIS_DATASETS,
            "closure_nnpdf40_dis": NNPDF40_DIS, "hyperscan": DIS_DATASETS}  # fmt: skip


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shipped_runcards_load_with_the_dis_data(name):
    card = load_runcard(RUNCARDS / f"{name}.yml")
    assert tuple(d.dataset for d in card.dataset_inputs) == DATASETS[name]
    assert card.theory.theoryid == "n3fit_gpu_dis_nlo"
    assert len(card.positivity.posdatasets) == 7
    assert len(card.integrability.integdatasets) == 5
    assert [f.fl for f in card.fitting.basis] == [fl for fl, _, _ in NNPDF40_BASIS]


def test_shipped_runcards_differ_where_they_should():
    quick = load_runcard(RUNCARDS / "quickstart.yml")
    nnpdf = load_runcard(RUNCARDS / "nnpdf40_dis.yml")
    closure = load_runcard(RUNCARDS / "closure.yml")
    assert (quick.parameters.epochs, quick.replica_indices) == (2000, tuple(range(1, 11)))
    assert quick.parameters.optimizer.optimizer_name == "Adam"
    assert nnpdf.parameters.optimizer.optimizer_name == "Nadam"
    assert (nnpdf.parameters.epochs, len(nnpdf.replica_indices)) == (17000, 100)
    assert nnpdf.parameters.threshold_chi2 == 3.5
    assert closure.closuretest.fakedata and closure.closuretest.fakenoise
    assert closure.closuretest.filterseed == 42
    assert closure.genrep  # level 2


def test_dis_dy_is_the_quickstart_plus_e866_on_the_shipped_nnpdf_folder():
    quick = load_runcard(RUNCARDS / "quickstart.yml")
    card = load_runcard(RUNCARDS / "dis_dy.yml")
    names = tuple(d.dataset for d in card.dataset_inputs)
    assert names == (*DIS_DATASETS, "DYE866_Z0_800GEV_DW_RATIO_PDXSECRATIO")
    assert (card.theory.theoryid, card.datacuts.t0pdfset) == (90000001, "n3fit_gpu_dis_nlo")
    same = ("parameters", "fitting", "positivity", "integrability", "replicas", "nnseed")
    assert all(getattr(card, key) == getattr(quick, key) for key in same)


def test_closure_dis_dy_is_nnpdf40_dis_and_e866_less_its_test_data_with_nnpdf40_training():
    """NNPDF4.0's DIS data and E866, less HERA NC e-p: the closure report's test data (README,
    Closure tests)."""
    dis_dy = load_runcard(RUNCARDS / "dis_dy.yml")
    nnpdf = load_runcard(RUNCARDS / "nnpdf40_dis.yml")
    card = load_runcard(RUNCARDS / "closure_dis_dy.yml")
    kept = [d for d in nnpdf.dataset_inputs if d.dataset != "HERA_NC_318GEV_EM-SIGMARED"]
    assert list(card.dataset_inputs[:-1]) == kept
    assert card.dataset_inputs[-1] == dis_dy.dataset_inputs[-1]  # E866
    training = ("optimizer", "epochs", "threshold_chi2", "stopping_patience")
    assert all(getattr(card.parameters, k) == getattr(nnpdf.parameters, k) for k in training)
    assert card.closuretest.fakedata and card.closuretest.fakenoise and card.genrep  # level 2
    assert card.closuretest.fakepdf == "steep_sea" and card.same_trvl_per_replica
    same = ("fitting", "positivity", "integrability", "theory", "datacuts")
    assert all(getattr(card, key) == getattr(dis_dy, key) for key in same)


@pytest.mark.theory
def test_dis_dy_passes_preflight(tmp_path):
    pytest.importorskip("pineappl", reason="needs the [theory] extra (pineappl)")
    from n3fit_gpu.preflight import preflight

    assert preflight(RUNCARDS / "dis_dy.yml", tmp_path / "out").problems == ()


def test_nnpdf_runcard_block_loads_with_yaml_1_1_exponents():
    card = parse_runcard(NNPDF_STYLE, "nnpdf.yml")
    # YAML 1.1 reads 1e6 as text: the schema still takes it as a number
    assert card.positivity.posdatasets[0].maxlambda == 1e6
    assert card.parameters.positivity.threshold == 1e-6
    assert card.parameters.optimizer.clipnorm == pytest.approx(6.073e-6)


def test_short_runcard_gets_nnpdf_defaults():
    card = parse_runcard(MINIMAL, "minimal.yml")
    assert card.dataset_inputs[0].frac == 1.0  # validphys: dataset.get("frac", 1)
    assert (card.diagonal_basis, card.diagonal_frac) == (True, 0.75)  # n3fit 4.1.5's split
    assert card.dataset_inputs[0].variant is None
    assert card.parameters.optimizer.optimizer_name == "SGD"
    assert card.parameters.optimizer.learning_rate == 0.01
    assert card.parameters.optimizer.clipnorm is None
    assert card.parameters.stopping_patience == 0.1
    assert card.parameters.threshold_chi2 == 10.0
    assert card.parameters.initializer == "glorot_normal"
    assert card.parameters.positivity.threshold == 1e-6
    assert card.fitting.sum_rules == "ALL"
    assert [(f.fl, f.smallx, f.largex) for f in card.fitting.basis] == list(NNPDF40_BASIS)
    assert (card.trvlseed, card.nnseed, card.mcseed) == tuple(DEFAULT_SEEDS.values())
    assert card.replica_indices == (1,)
    assert card.backend is None
    assert card.hyperscan_config is None and card.kfold is None


@pytest.mark.parametrize(
    ("written", "indices"),
    [
        ("3", (1, 2, 3)),
        ("[4, 7]", (4, 5, 6, 7)),
        ("[5, 5]", (5,)),
        ("[9, 2, 5]", (2, 5, 9)),
        ("[6]", (6,)),
    ],
)
def test_replicas_forms(written, indices):
    card = parse_runcard(edit(QUICKSTART, "replicas: 10", f"replicas: {written}"), "r.yml")
    assert card.replica_indices == indices


def test_names_are_normalised_to_nnpdf_spelling():
    text = edit(QUICKSTART, "optimizer_name: Adam", "optimizer_name: aMsGrAd")
    text = edit(text, "[tanh, tanh, linear]", "[TANH, Sigmoid, linear]")
    text = edit(text, "sum_rules: ALL", "sum_rules: false")
    text = edit(text, "backend: null", "backend: JAX")
    card = parse_runcard(text, "r.yml")
    assert card.parameters.optimizer.optimizer_name == "Amsgrad"
    assert card.parameters.activation_per_layer == ("tanh", "sigmoid", "linear")
    assert card.fitting.sum_rules == "NONE"
    assert card.backend == "jax"


def test_scan_blocks_load():
    card = parse_runcard(SCAN, "scan.yml")
    assert card.hyperscan_config.optimizer[1].optimizer_name == "Nadam"
    assert card.hyperscan_config.stopping.max_epochs == 1000
    assert card.hyperscan_config.architecture.n_layers == (2, 3)
    assert card.kfold.partitions[1].datasets == ("HERA_NC_318GEV_EP-SIGMARED",)
    assert card.kfold.penalties == ("saturation", "patience", "integrability")
    assert card.kfold.replica_statistic == "average_best"


def test_runcard_is_frozen_and_round_trips():
    card = load_runcard(RUNCARDS / "quickstart.yml")
    with pytest.raises(ValidationError):
        card.parameters.epochs = 5
    assert RunCard.model_validate(card.model_dump()) == card
    assert hash(card) == hash(RunCard.model_validate(card.model_dump()))


def _models(model, seen):
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        for inner in _inner_models(field.annotation):
            _models(inner, seen)


def _inner_models(annotation):
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _inner_models(arg)


def test_every_key_is_documented_and_every_block_refuses_unknown_keys():
    models: set = set()
    _models(RunCard, models)
    assert len(models) > 15
    for model in models:
        assert model.model_config["extra"] == "forbid", model
        assert model.model_config["frozen"], model
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"
