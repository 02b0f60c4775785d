"""A bad item of a runcard list is reported as itself: its line, its key path, what is wrong.

Pydantic checks a tuple's ``min_length`` on the items that validated, so the only item of a
list, when bad, also gave "must have at least 1 item(s)" on the list, which came first.
"""

import pytest

from n3fit_gpu.config import RunCardValidationError, parse_runcard
from tests.config.helpers import QUICKSTART, SCAN, error_of


def only_item(text: str, key: str, item: str) -> str:
    """``text`` with the block list under the line ``<indent>key:`` replaced by one ``item``."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if line.strip() != f"{key}:":
            continue
        dash = " " * (len(line) - len(line.lstrip())) + "- "
        while i < len(lines) and lines[i].startswith(dash):
            i += 1
        out.append(dash + item)
    assert any(line.endswith(f"- {item}") for line in out), key
    return "\n".join(out) + "\n"


def flow(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


SCAN_OPTIMIZERS = """  optimizer:
  - {optimizer_name: Adam, learning_rate: [1.0e-4, 1.0e-2], clipnorm: [1.0e-7, 1.0]}
  - {optimizer_name: nadam, learning_rate: [1.0e-4, 1.0e-2]}"""

# (runcard text, the text of the item's line, its key path, what the message says)
CASES = {
    "scan optimizer name, flow list": (
        flow(SCAN, SCAN_OPTIMIZERS, "  optimizer: [{optimizer_name: Adamm}]"),
        "Adamm",
        "hyperscan_config.optimizer[0].optimizer_name",
        "unknown optimizer; got 'Adamm' (did you mean 'Adam'?",
    ),
    "scan optimizer name, block list": (
        only_item(SCAN, "optimizer", "{optimizer_name: Adamm, learning_rate: [1.0e-4, 1.0e-2]}"),
        "Adamm",
        "hyperscan_config.optimizer[0].optimizer_name",
        "unknown optimizer; got 'Adamm' (did you mean 'Adam'?",
    ),
    "scan optimizer misspelt key": (
        only_item(SCAN, "optimizer", "{optimizer_name: Adam, learning_rat: [1.0e-4, 1.0e-2]}"),
        "learning_rat:",
        "hyperscan_config.optimizer[0].learning_rat",
        "unknown key 'learning_rat' — did you mean 'learning_rate'?",
    ),
    "scan optimizer not a block": (
        only_item(SCAN, "optimizer", "Adam"),
        "- Adam",
        "hyperscan_config.optimizer[0]",
        "must be a block of keys; got 'Adam'",
    ),
    "scan initializer": (
        flow(SCAN, "initializers: [glorot_normal, glorot_uniform]", "initializers: [glorot]"),
        "initializers:",
        "hyperscan_config.architecture.initializers[0]",
        "unknown initializer; got 'glorot'",
    ),
    "scan layer count": (
        flow(SCAN, "n_layers: [2, 3]", "n_layers: [0]"),
        "n_layers:",
        "hyperscan_config.architecture.n_layers[0]",
        "must be > 0; got 0",
    ),
    "scan activation": (
        flow(SCAN, "activations: [tanh, sigmoid]", "activations: [tanhh]"),
        "activations:",
        "hyperscan_config.architecture.activations[0]",
        "unknown activation; got 'tanhh' (did you mean 'tanh'?",
    ),
    "scan layer type": (
        flow(SCAN, "layer_types: [dense]", "layer_types: [dens]"),
        "layer_types:",
        "hyperscan_config.architecture.layer_types[0]",
        "unknown layer type; got 'dens' (did you mean 'dense'?",
    ),
    "block search section": (
        flow(SCAN, "kfold:", "  block_search: {blocks: {a: [stoping]}}\nkfold:"),
        "block_search",
        "hyperscan_config.block_search.blocks.a[0]",
        "unknown hyperscan_config section; got 'stoping' (did you mean 'stopping'?",
    ),
    "kfold partition misspelt key": (
        only_item(SCAN, "partitions", "datset: [HERA_NC_318GEV_EP-SIGMARED]"),
        "datset",
        "kfold.partitions[0].datset",
        "unknown key 'datset' — did you mean 'datasets'?",
    ),
    "kfold partition dataset not text": (
        only_item(SCAN, "partitions", "datasets: [1.5]"),
        "datasets: [1.5]",
        "kfold.partitions[0].datasets[0]",
        "must be text; got 1.5 (put it in quotes)",
    ),
    "kfold penalty": (
        flow(SCAN, "penalties: [saturation, patience, integrability]", "penalties: [saturatoin]"),
        "saturatoin",
        "kfold.penalties[0]",
        "unknown penalty; got 'saturatoin' (did you mean 'saturation'?",
    ),
    "dataset misspelt key": (
        only_item(QUICKSTART, "dataset_inputs", "{datset: BCDMS_NC_NOTFIXED_P_EM-F2}"),
        "datset",
        "dataset_inputs[0].datset",
        "unknown key 'datset' — did you mean 'dataset'?",
    ),
    "dataset unknown key": (
        only_item(QUICKSTART, "dataset_inputs", "{dataset: BCDMS_NC_NOTFIXED_P_EM-F2, c: 1}"),
        "c: 1",
        "dataset_inputs[0].c",
        "unknown key 'c'; allowed here: dataset, variant, frac",
    ),
    "dataset frac": (
        only_item(QUICKSTART, "dataset_inputs", "{dataset: BCDMS_NC_NOTFIXED_P_EM-F2, frac: 2}"),
        "frac: 2",
        "dataset_inputs[0].frac",
        "must be ≤ 1; got 2",
    ),
    "dataset given as a name": (
        only_item(QUICKSTART, "dataset_inputs", "BCDMS_NC_NOTFIXED_P_EM-F2"),
        "- BCDMS",
        "dataset_inputs[0]",
        "must be a block of keys; got 'BCDMS_NC_NOTFIXED_P_EM-F2'",
    ),
    "positivity dataset": (
        only_item(QUICKSTART, "posdatasets", "{datset: NNPDF_POS_2P24GEV_XUQ}"),
        "datset",
        "positivity.posdatasets[0].datset",
        "unknown key 'datset' — did you mean 'dataset'?",
    ),
    "positivity multiplier": (
        only_item(QUICKSTART, "posdatasets", "{dataset: NNPDF_POS_2P24GEV_XUQ, maxlambda: -1}"),
        "maxlambda: -1",
        "positivity.posdatasets[0].maxlambda",
        "must be > 0; got -1",
    ),
    "integrability dataset": (
        only_item(QUICKSTART, "integdatasets", "{dataset: NNPDF_INTEG_3GEV_XT3, maxlamda: 1}"),
        "maxlamda",
        "integrability.integdatasets[0].maxlamda",
        "unknown key 'maxlamda' — did you mean 'maxlambda'?",
    ),
    "layer units": (
        flow(QUICKSTART, "nodes_per_layer: [25, 20, 8]", "nodes_per_layer: [0]"),
        "nodes_per_layer",
        "parameters.nodes_per_layer[0]",
        "must be > 0; got 0",
    ),
    "layer activation": (
        flow(QUICKSTART, "activation_per_layer: [tanh, tanh, linear]", "activation_per_layer: [x]"),
        "activation_per_layer",
        "parameters.activation_per_layer[0]",
        "unknown activation; got 'x'",
    ),
}


@pytest.mark.parametrize("text, needle, path, what", CASES.values(), ids=CASES)
def test_a_bad_item_is_named_by_its_line_and_key_path(text, needle, path, what):
    with pytest.raises(RunCardValidationError) as caught:
        parse_runcard(text, "runcard.yml")
    first = caught.value.errors[0]
    line = next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)
    assert (first.line, first.path) == (line, path)
    assert what in first.message
    assert not any("item(s)" in issue.message for issue in caught.value.errors)


def test_an_empty_list_still_needs_an_item():
    text = flow(SCAN, "n_layers: [2, 3]", "n_layers: []")
    assert "hyperscan_config.architecture.n_layers: must have at least 1 item(s); got []" in (
        error_of(text)
    )
