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

from n3fit_gpu.config.schema import RunCard
from n3fit_gpu.config.vocabulary import DEFAULT_LEARNING_RATES
from n3fit_gpu.errors import RunCardError
from n3fit_gpu.search.space import Choice, IntUniform, LogUniform, Space, Uniform


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


def scan_space(card: RunCard) -> Space:
    """The search space of ``card.hyperscan_config`` (empty where nothing is scanned)."""
    config = card.hyperscan_config
    if config is None:
        return {}
    space: dict[str, Any] = {}
    stopping = config.stopping
    if stopping is not None and stopping.min_epochs is not None:
        space["epochs"] = IntUniform(stopping.min_epochs, stopping.max_epochs)
    if stopping is not None and stopping.min_patience is not None:
        space["stopping_patience"] = Uniform(stopping.min_patience, stopping.max_patience)
    if config.optimizer:
        space["optimizer"] = _optimizers(config)
    positivity = config.positivity
    if positivity is not None and positivity.min_multiplier is not None:
        space["positivity_multiplier"] = Uniform(
            positivity.min_multiplier, positivity.max_multiplier
        )
    if positivity is not None and positivity.min_initial is not None:
        space["positivity_initial"] = _log_range(
            (positivity.min_initial, positivity.max_initial), None
        )
    if config.architecture is not None:
        space.update(_architecture(config.architecture, card))
    return space


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
