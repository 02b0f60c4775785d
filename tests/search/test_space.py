"""Search spaces: validation, labels and the hyperopt round trip (sample -> vals -> point)."""

import numpy as np
import pytest
from hyperopt import Domain, Trials, rand

from n3fit_gpu.search.errors import SearchError
from n3fit_gpu.search.space import (
    Choice,
    IntUniform,
    LogUniform,
    Uniform,
    point_from_vals,
    to_hyperopt,
)

SPACE = {
    "optimizer": Choice(
        (
            {"optimizer_name": "Adam", "learning_rate": LogUniform(1e-4, 1e-2)},
            {"optimizer_name": "SGD", "learning_rate": LogUniform(1e-2, 1.0), "momentum": 0.9},
            "Nadam",
        )
    ),
    "layers": Choice(((25, 20, 8), (10, 8))),
    "nodes": IntUniform(3, 5),
    "dropout": Uniform(0.0, 0.2),
    "activation": "tanh",
}


def _config(vals):
    return {label: v[0] for label, v in vals.items() if v}


def test_labels_are_keys_then_parent_option_name_key():
    domain = Domain(lambda p: 0.0, to_hyperopt(SPACE))
    assert set(domain.params) == {
        "optimizer",
        "optimizer.Adam.learning_rate",
        "optimizer.SGD.learning_rate",
        "layers",
        "nodes",
        "dropout",
    }


def test_options_without_names_are_labelled_by_index():
    space = {"opt": Choice(({"lr": Uniform(0, 1)}, {"lr": Uniform(1, 2)}))}
    domain = Domain(lambda p: 0.0, to_hyperopt(space))
    assert set(domain.params) == {"opt", "opt.0.lr", "opt.1.lr"}


@pytest.mark.parametrize("seed", [0, 1])
def test_sampled_vals_decode_to_the_point_the_objective_received(seed):
    hp_space = to_hyperopt(SPACE)
    rng = np.random.default_rng(seed)
    received = []
    domain = Domain(lambda p: received.append(p) or 0.0, hp_space)
    trials = Trials()
    seen_options = set()
    for tid in range(30):
        doc = rand.suggest([tid], domain, trials, seed=int(rng.integers(2**31)))[0]
        vals = doc["misc"]["vals"]
        domain.evaluate(_config(vals), None)
        point = point_from_vals(hp_space, vals)
        assert point == received[-1]
        assert point["activation"] == "tanh" and point["nodes"] in (3, 4, 5)
        opt = point["optimizer"]
        seen_options.add(opt if isinstance(opt, str) else opt["optimizer_name"])
        if isinstance(opt, dict) and opt["optimizer_name"] == "Adam":
            assert 1e-4 <= opt["learning_rate"] <= 1e-2 and not vals["optimizer.SGD.learning_rate"]
    assert seen_options == {"Adam", "SGD", "Nadam"}


def test_int_uniform_hits_every_integer_and_stays_in_range():
    hp_space = to_hyperopt({"n": IntUniform(1, 3)})
    domain = Domain(lambda p: 0.0, hp_space)
    trials = Trials()
    drawn = [
        point_from_vals(hp_space, rand.suggest([t], domain, trials, seed=t)[0]["misc"]["vals"])["n"]
        for t in range(60)
    ]
    assert set(drawn) == {1, 2, 3} and all(isinstance(n, int) for n in drawn)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Uniform(1.0, 0.5),
        lambda: Uniform(0.0, float("inf")),
        lambda: LogUniform(0.0, 1.0),
        lambda: LogUniform(-1.0, 1.0),
        lambda: IntUniform(5, 2),
        lambda: IntUniform(1.5, 3),
        lambda: Choice(()),
        lambda: Choice(({"a.b": 1},)),
        lambda: Choice((["a list"],)),
        lambda: to_hyperopt({"nested": {"lr": Uniform(0, 1)}}),
        lambda: to_hyperopt({"a.b": Uniform(0, 1)}),
    ],
)
def test_bad_dimensions_raise_search_error(make):
    with pytest.raises(SearchError):
        make()
