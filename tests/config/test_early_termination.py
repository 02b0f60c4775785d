"""The ``hyperscan_config.early_termination`` block: defaults, names, file:line errors."""

import pytest

from n3fit_gpu.config import parse_runcard
from tests.config.helpers import SCAN, edit, error_of, line_of

LAST_ARCHITECTURE_KEY = "    layer_types: [dense]\n"


def with_block(block: str) -> str:
    """The scan card with ``block`` (one flow-style line) as ``early_termination``."""
    return edit(
        SCAN, LAST_ARCHITECTURE_KEY, f"{LAST_ARCHITECTURE_KEY}  early_termination: {block}\n"
    )


def test_absent_block_is_none():
    assert parse_runcard(SCAN, "scan.yml").hyperscan_config.early_termination is None


def test_valid_block_loads_with_defaults_and_nnpdf_spelling():
    short = parse_runcard(with_block("{min_epochs: 100}"), "scan.yml")
    assert short.hyperscan_config.early_termination.model_dump() == {
        "min_epochs": 100,
        "eta": 3.0,
        "bootstrap": 3,
        "statistic": None,
    }
    full = parse_runcard(
        with_block("{min_epochs: 50, eta: 2, bootstrap: 0, statistic: Best_Worst}"), "scan.yml"
    )
    assert full.hyperscan_config.early_termination.model_dump() == {
        "min_epochs": 50,
        "eta": 2.0,
        "bootstrap": 0,
        "statistic": "best_worst",
    }


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("{min_epochs: 100, eta: 1}", "early_termination.eta: must be > 1; got 1"),
        ("{min_epochs: 100, eta: 0.5}", "early_termination.eta: must be > 1; got 0.5"),
        ("{min_epochs: 0}", "early_termination.min_epochs: must be > 0; got 0"),
        ("{min_epochs: 100, bootstrap: -1}", "early_termination.bootstrap: must be ≥ 0; got -1"),
        ("{eta: 3}", "early_termination.min_epochs: missing required key"),
        ("{min_epochs: 100, statistic: median}", "early_termination.statistic: unknown statistic"),
    ],
)
def test_bad_values_name_file_line_and_key(block, expected):
    text = with_block(block)
    message = error_of(text, "scan.yml")
    assert message.startswith(f"scan.yml:{line_of(text, 'early_termination')} ")
    assert f"hyperscan_config.{expected}" in message
