"""Runcard texts shared by the config tests: the shipped quick-start card, edited key by key."""

from pathlib import Path

import pytest

from n3fit_gpu.config import parse_runcard
from n3fit_gpu.errors import RunCardError

RUNCARDS = Path(__file__).resolve().parents[2] / "runcards"
QUICKSTART = (RUNCARDS / "quickstart.yml").read_text()

SCAN_BLOCKS = """
hyperscan_config:
  stopping: {min_epochs: 100, max_epochs: 1000, min_patience: 0.1, max_patience: 0.3}
  optimizer:
  - {optimizer_name: Adam, learning_rate: [1.0e-4, 1.0e-2], clipnorm: [1.0e-7, 1.0]}
  - {optimizer_name: nadam, learning_rate: [1.0e-4, 1.0e-2]}
  positivity: {min_multiplier: 1.01, max_multiplier: 1.1, min_initial: 1, max_initial: 100}
  architecture:
    initializers: [glorot_normal, glorot_uniform]
    max_drop: 0.0
    n_layers: [2, 3]
    min_units: 5
    max_units: 50
    activations: [tanh, sigmoid]
    layer_types: [dense]
kfold:
  loss_type: chi2
  replica_statistic: average_best
  fold_statistic: average
  penalties_in_loss: false
  penalties: [saturation, patience, integrability]
  threshold: 10
  partitions:
  - datasets: [BCDMS_NC_NOTFIXED_P_EM-F2, NMC_NC_NOTFIXED_EM-F2]
  - datasets: [HERA_NC_318GEV_EP-SIGMARED]
"""
SCAN = QUICKSTART + SCAN_BLOCKS


def edit(text: str, old: str, new: str) -> str:
    """Replace the first ``old`` (which must be there) by ``new``."""
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def error_of(text: str, filename: str = "runcard.yml") -> str:
    """The message of the RunCardError that ``text`` raises; it must be a single line."""
    with pytest.raises(RunCardError) as caught:
        parse_runcard(text, filename)
    message = str(caught.value)
    assert "\n" not in message
    return message
