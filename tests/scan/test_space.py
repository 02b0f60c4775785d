"""hyperscan_config → search space, and a sampled point applied to the runcard."""

import hyperopt
import numpy as np
import pytest

from n3fit_gpu.config import parse_runcard
from n3fit_gpu.errors import RunCardError
from n3fit_gpu.scan.space import apply_point, scan_blocks, scan_sampler, scan_space
from n3fit_gpu.search.blocks import BlockSampler
from n3fit_gpu.search.driver import Sampler
from n3fit_gpu.search.space import (
    Choice,
    IntUniform,
    LogUniform,
    Uniform,
    point_from_vals,
    to_hyperopt,
)
from tests.config.helpers import RUNCARDS, SCAN, edit, error_of, line_of


@pytest.fixture(scope="module")
def card():
    return parse_runcard(SCAN, "scan.yml")


def test_space_has_nnpdf_dimensions(card):
    space = scan_space(card)
    assert space["epochs"] == IntUniform(100, 1000)
    assert space["stopping_patience"] == Uniform(0.1, 0.3)
    adam, nadam = space["optimizer"].options
    assert adam["learning_rate"] == LogUniform(1e-4, 1e-2)
    assert adam["clipnorm"] == LogUniform(1e-7, 1.0)
    assert nadam["clipnorm"] is None  # no range: no clipping
    assert space["positivity_initial"] == LogUniform(1, 100)
    depths = [option["n_layers"] for option in space["layers"].options]
    assert depths == [2, 3]
    assert space["layers"].options[1]["units_2"] == IntUniform(5, 50)
    assert space["activation"] == Choice(("tanh", "sigmoid"))


def test_unscanned_keys_are_not_in_the_space():
    line = next(row for row in SCAN.splitlines(True) if "min_multiplier" in row)
    text = edit(SCAN, line, "")
    space = scan_space(parse_runcard(text, "scan.yml"))
    assert "positivity_multiplier" not in space and "positivity_initial" not in space


def test_applied_point_changes_only_what_was_sampled(card):
    point = {
        "epochs": 321,
        "stopping_patience": 0.2,
        "optimizer": {"optimizer_name": "Nadam", "learning_rate": 0.003, "clipnorm": None},
        "positivity_multiplier": 1.05,
        "layers": {"n_layers": 3, "units_1": 17, "units_2": 9},
        "activation": "sigmoid",
        "initializer": "glorot_uniform",
    }
    trial = apply_point(card, point)
    p = trial.parameters
    assert p.epochs == 321 and p.stopping_patience == 0.2
    assert (p.optimizer.optimizer_name, p.optimizer.learning_rate) == ("Nadam", 0.003)
    assert p.optimizer.clipnorm is None
    assert p.positivity.multiplier == 1.05
    assert p.positivity.initial == card.parameters.positivity.initial
    assert p.nodes_per_layer == (17, 9, 8)
    assert p.activation_per_layer == ("sigmoid", "sigmoid", "linear")
    assert p.initializer == "glorot_uniform"
    assert trial.hyperscan_config is None and trial.kfold is None
    assert trial.dataset_inputs == card.dataset_inputs and trial.nnseed == card.nnseed


def test_every_sampled_point_gives_a_valid_runcard(card):
    space = scan_space(card)
    hp_space = to_hyperopt(space)
    rng = np.random.default_rng(3)
    for _ in range(20):
        sample = hyperopt.pyll.stochastic.sample(hp_space, rng=rng)
        trial = apply_point(card, sample)
        assert trial.parameters.nodes_per_layer[-1] == 8
        assert len(trial.parameters.activation_per_layer) == len(trial.parameters.nodes_per_layer)


def test_points_round_trip_through_hyperopt_vals(card):
    hp_space = to_hyperopt(scan_space(card))
    trials, received = hyperopt.Trials(), []
    hyperopt.fmin(
        lambda point: received.append(point) or 0.0,
        hp_space,
        hyperopt.rand.suggest,
        max_evals=8,
        trials=trials,
        rstate=np.random.default_rng(1),
        show_progressbar=False,
    )
    for trial, point in zip(trials.trials, received, strict=True):
        assert point_from_vals(hp_space, trial["misc"]["vals"]) == point


def test_more_layers_than_the_runcard_needs_a_units_range():
    text = edit(SCAN, "    min_units: 5\n    max_units: 50\n", "")
    text = edit(text, "n_layers: [2, 3]", "n_layers: [4]")
    with pytest.raises(RunCardError, match="need min_units and max_units"):
        scan_space(parse_runcard(text, "scan.yml"))


BLOCKS = "{net: [architecture], training: [stopping, optimizer], penalty: [positivity]}"


def _with_blocks(blocks: str, settings: str = "") -> str:
    return edit(
        SCAN,
        "  architecture:\n",
        f"  block_search:\n    blocks: {blocks}\n{settings}  architecture:\n",
    )


def test_block_search_splits_the_space_by_sections():
    card = parse_runcard(_with_blocks(BLOCKS, "    startup_trials: 7\n"), "scan.yml")
    assert scan_blocks(card) == {
        "net": ("layers", "activation", "initializer", "layer_type"),
        "training": ("epochs", "stopping_patience", "optimizer"),
        "penalty": ("positivity_multiplier", "positivity_initial"),
    }
    sampler = scan_sampler(card)
    assert isinstance(sampler, BlockSampler) and sampler.n_startup_jobs == 7
    assert sampler.block_labels["training"] == {
        "epochs", "stopping_patience", "optimizer", "optimizer.Adam.learning_rate",
        "optimizer.Adam.clipnorm", "optimizer.Nadam.learning_rate",
    }  # fmt: skip
    assert sampler.block_labels["net"] == {
        "layers", "layers.0.units_1", "layers.1.units_1", "layers.1.units_2", "activation",
        "initializer", "layer_type",
    }  # fmt: skip


def test_without_block_search_the_sampler_is_plain_tpe(card):
    sampler = scan_sampler(card, n_startup_jobs=5)
    assert type(sampler) is Sampler and sampler.n_startup_jobs == 5
    assert scan_blocks(card) == {}


def test_a_block_scanning_nothing_is_left_out():
    text = edit(_with_blocks(BLOCKS), "  positivity: {min_multiplier", "  positivity: {}\n  #")
    assert list(scan_blocks(parse_runcard(text, "scan.yml"))) == ["net", "training"]


@pytest.mark.parametrize(
    ("blocks", "key", "message"),
    [
        (
            "{net: [architecture], training: [stopping, optimiser], penalty: [positivity]}",
            "blocks.training[1]",
            "unknown hyperscan_config section; got 'optimiser' (did you mean 'optimizer'?",
        ),
        (
            "{net: [architecture, stopping], training: [stopping, optimizer, positivity]}",
            "blocks.training[0]",
            "already in block 'net'; got 'stopping' (list each section in one block only)",
        ),
        (
            "{net: [architecture], training: [stopping, optimizer]}",
            "blocks",
            "the scanned section 'positivity' is in no block (add it to one block)",
        ),
    ],
)
def test_bad_blocks_are_refused_in_one_line(blocks, key, message):
    text = _with_blocks(blocks)
    error = error_of(text, "scan.yml")
    line = line_of(text, "    blocks:")
    assert error.startswith(f"scan.yml:{line} hyperscan_config.block_search.{key}: {message}")


def test_a_block_of_a_section_not_scanned_is_refused():
    text = edit(_with_blocks(BLOCKS), "  positivity: {min_multiplier", "  #")
    assert "blocks.penalty[0]: not scanned" in error_of(text, "scan.yml")


def test_the_shipped_block_search_example_loads():
    text = (RUNCARDS / "hyperscan.yml").read_text()
    example = text[text.index("  # block_search:") :].split("\n\n")[0]
    card = parse_runcard(text.replace(example, example.replace("  # ", "  ")), "hyperscan.yml")
    assert scan_blocks(card) == {
        "network": ("layers", "activation", "initializer"),
        "training": ("epochs", "stopping_patience", "optimizer"),
    }
