"""NNPDF's ``hyperscan_config`` as a search space, and a sampled point applied to a runcard.

A point is a plain dict; its keys are those of the space built here::

    epochs, stopping_patience                      (stopping)
    optimizer: {optimizer_name, learning_rate, clipnorm}
    positivity_multiplier, positivity_initial      (positivity)
    layers: {n_layers, units_1 … units_<n-1>}      (architecture.n_layers + min/max_units)
    activation, initializer, layer_type            (architecture; dropout: not yet)

Only what the runcard scans is in the space; everything else keeps the runcard's value.
Learning rates, clip norms and initial multipliers span decades and are sampled
log-uniformly; as in NNPDF, ``n_layers`` counts the output layer (8 units, linear), and one
activation is drawn for all hidden layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from n3fit_gpu.config.scan_schema import SCAN_SECTIONS, HyperscanConfig
from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.config.vocabulary import DEFAULT_LEARNING_RATES
from n3fit_gpu.errors import RunCardError
from n3fit_gpu.search.blocks import BlockSampler
from n3fit_gpu.search.driver import Sampler
from n3fit_gpu.search.space import (
    Choice,
    Dimension,
    IntUniform,
    LogUniform,
    Space,
    Uniform,
    to_hyperopt,
)


def _log_range(pair: tuple[float, float] | None, fixed: float | None):
    if pair is None:
        return fixed
    return LogUniform(*pair) if pair[0] < pair[1] else pair[0]


def _optimizers(config) -> Choice:
    options = []
    for entry in config.optimizer:
        name = entry.optimizer_name
        options.append(
            {
                "optimizer_name": name,
                "learning_rate": _log_range(entry.learning_rate, DEFAULT_LEARNING_RATES[name]),
                "clipnorm": _log_range(entry.clipnorm, None),
            }
        )
    return Choice(tuple(options))


def _layers(arch, card: RunCard) -> Choice | None:
    if arch.n_layers is None and arch.min_units is None:
        return None
    depths = arch.n_layers or (len(card.parameters.nodes_per_layer),)
    low, high = arch.min_units, arch.max_units
    options = []
    for depth in depths:
        hidden = card.parameters.nodes_per_layer[:-1]
        option: dict[str, Any] = {"n_layers": depth}
        for i in range(1, depth):
            if low is not None:
                option[f"units_{i}"] = IntUniform(low, high)
            elif i <= len(hidden):
                option[f"units_{i}"] = hidden[i - 1]
            else:
                raise RunCardError(
                    f"hyperscan_config.architecture.n_layers: {depth} layers need min_units and "
                    f"max_units (the runcard's network has only {len(hidden)} hidden layers)"
                )
        options.append(option)
    return Choice(tuple(options))


def _architecture(arch, card: RunCard) -> dict[str, Any]:
    space: dict[str, Any] = {}
    layers = _layers(arch, card)
    if layers is not None:
        space["layers"] = layers
    if arch.activations:
        space["activation"] = Choice(tuple(arch.activations))
    if arch.initializers:
        space["initializer"] = Choice(tuple(arch.initializers))
    if arch.layer_types:
        space["layer_type"] = Choice(tuple(arch.layer_types))
    return space


def check_scannable(card: RunCard, path: Path) -> None:
    """Refuse a runcard (read from ``path``) without the blocks a scan needs."""
    if card.kfold is None or card.hyperscan_config is None:
        raise RunCardError(
            f"{path}: a scan needs the blocks hyperscan_config: and kfold: (see "
            "runcards/hyperscan.yml); to fit once, use `fit` instead"
        )


def _section_spaces(config: HyperscanConfig, card: RunCard) -> dict[str, dict[str, Any]]:
    """The space of each section of ``config`` (``SCAN_SECTIONS``, in order; empty if unset)."""
    spaces: dict[str, dict[str, Any]] = {section: {} for section in SCAN_SECTIONS}
    stopping, positivity = config.stopping, config.positivity
    if stopping is not None and stopping.min_epochs is not None:
        spaces["stopping"]["epochs"] = IntUniform(stopping.min_epochs, stopping.max_epochs)
    if stopping is not None and stopping.min_patience is not None:
        spaces["stopping"]["stopping_patience"] = Uniform(
            stopping.min_patience, stopping.max_patience
        )
    if config.optimizer:
        spaces["optimizer"]["optimizer"] = _optimizers(config)
    if positivity is not None and positivity.min_multiplier is not None:
        spaces["positivity"]["positivity_multiplier"] = Uniform(
            positivity.min_multiplier, positivity.max_multiplier
        )
    if positivity is not None and positivity.min_initial is not None:
        spaces["positivity"]["positivity_initial"] = _log_range(
            (positivity.min_initial, positivity.max_initial), None
        )
    if config.architecture is not None:
        spaces["architecture"] = _architecture(config.architecture, card)
    return spaces


def scan_space(card: RunCard) -> Space:
    """The search space of ``card.hyperscan_config`` (empty where nothing is scanned)."""
    config = card.hyperscan_config
    if config is None:
        return {}
    return {
        key: value
        for section in _section_spaces(config, card).values()
        for key, value in section.items()
    }


def scan_blocks(card: RunCard) -> dict[str, tuple[str, ...]]:
    """``hyperscan_config.block_search.blocks`` as keys of :func:`scan_space` (name -> keys).

    Blocks that scan no dimension (their sections only fix values) are left out; ``{}`` without
    ``block_search``.
    """
    config = card.hyperscan_config
    if config is None or config.block_search is None:
        return {}
    spaces = _section_spaces(config, card)
    blocks = {
        name: tuple(key for section in sections for key in spaces[section])
        for name, sections in config.block_search.blocks.items()
    }
    space = scan_space(card)
    return {
        name: keys
        for name, keys in blocks.items()
        if any(isinstance(space[key], Dimension) for key in keys)
    }


def scan_sampler(card: RunCard, n_startup_jobs: int = 20) -> Sampler | BlockSampler:
    """The scan's sampler: TPE on :func:`scan_space`, or a :class:`BlockSampler` over its blocks.

    ``n_startup_jobs``: TPE's random startup trials (``block_search.startup_trials`` wins).
    """
    space, blocks = scan_space(card), scan_blocks(card)
    if not blocks:
        return Sampler(to_hyperopt(space), n_startup_jobs)
    search = card.hyperscan_config.block_search
    startup = search.startup_trials or n_startup_jobs
    return BlockSampler(space, blocks, startup, search.min_share)


def _network(parameters: dict, point: dict) -> None:
    if "layers" in point:
        layers = point["layers"]
        hidden = [int(layers[f"units_{i}"]) for i in range(1, int(layers["n_layers"]))]
        parameters["nodes_per_layer"] = [*hidden, parameters["nodes_per_layer"][-1]]
        activations = parameters["activation_per_layer"]
        hidden_activation = activations[0] if len(activations) > 1 else "tanh"
        parameters["activation_per_layer"] = [hidden_activation] * len(hidden) + [activations[-1]]
    if "activation" in point:
        n = len(parameters["nodes_per_layer"])
        parameters["activation_per_layer"] = [point["activation"]] * (n - 1) + [
            parameters["activation_per_layer"][-1]
        ]


def apply_point(card: RunCard, point: dict) -> RunCard:
    """The runcard a trial fits: ``card`` with the sampled values of ``point``; no scan blocks."""
    data = card.model_dump(mode="json")
    parameters = data["parameters"]
    for key in ("epochs", "stopping_patience", "initializer", "layer_type"):
        if key in point:
            parameters[key] = point[key]
    if "optimizer" in point:
        parameters["optimizer"] = dict(point["optimizer"])
    if "positivity_multiplier" in point:
        parameters["positivity"]["multiplier"] = point["positivity_multiplier"]
    if "positivity_initial" in point:
        parameters["positivity"]["initial"] = point["positivity_initial"]
    _network(parameters, point)
    data.pop("hyperscan_config")
    data.pop("kfold")
    return RunCard.model_validate(data)
