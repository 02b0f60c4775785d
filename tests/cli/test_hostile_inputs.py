"""A corpus of malformed runcards and command lines for ``fit`` and ``hyperscan``.

Each one must be refused before the backend starts (no training, no deep-learning import),
with exit code 2 and at most five lines on stderr naming the problem: no traceback, no hang.
The runcard cases are generated from the shipped runcards: every value replaced by one of the
wrong type, an unknown key in every block, every required block removed, and text that is not
a runcard at all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from n3fit_gpu.config import RunCard

# the modules (the package n3fit_gpu.cli names its commands `fit` and `hyperscan`)
fit_cli = importlib.import_module("n3fit_gpu.cli.fit")
scan_cli = importlib.import_module("n3fit_gpu.cli.hyperscan")
RUNCARDS = Path(__file__).resolve().parents[2] / "runcards"
QUICKSTART = RUNCARDS / "quickstart.yml"
SCAN = RUNCARDS / "hyperscan.yml"
WRONG = {"not": ["a", "value", "of", "this", "key"]}  # a mapping where a value belongs


def _leaves(data, path=()) -> Iterator[tuple]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        for i, value in enumerate(data):
            yield from _leaves(value, (*path, i))
    else:
        yield path


def _blocks(data, path=()) -> Iterator[tuple]:
    if isinstance(data, dict):
        yield path
        for key, value in data.items():
            yield from _blocks(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _blocks(value, (*path, i))


def _set(data, path, value):
    data = yaml.safe_load(yaml.safe_dump(data))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _label(path) -> str:
    return ".".join(str(p) for p in path) or "top"


def _mutations(source: Path, within: tuple[str, ...] | None) -> list[tuple[str, str]]:
    """``(label, text)``: every leaf of the wrong type, an unknown key in every block, every
    required top-level block removed (``within``: only under those top-level keys)."""
    base = yaml.safe_load(source.read_text())
    keep = lambda path: within is None or (path and path[0] in within)  # noqa: E731
    cases = [
        (f"wrong type {_label(p)}", yaml.safe_dump(_set(base, p, WRONG)))
        for p in _leaves(base)
        if keep(p)
    ]
    cases += [
        (f"unknown key in {_label(p)}", yaml.safe_dump(_set(base, (*p, "colour"), "red")))
        for p in _blocks(base)
        if keep(p) or not p
    ]
    required = [k for k, f in RunCard.model_fields.items() if f.is_required()]
    cases += [
        (f"no {key}", yaml.safe_dump({k: v for k, v in base.items() if k != key}))
        for key in required
        if within is None
    ]
    return cases


_TEXTS = [
    ("empty", ""),
    ("only a comment", "# nothing\n"),
    ("a list", "- a\n- b\n"),
    ("a number", "42\n"),
    ("tabs", "parameters:\n\tepochs: 3\n"),
    ("unclosed flow", "theory: {theoryid: n3fit_gpu_dis_nlo\n"),
    ("NUL byte", "description: a\x00b\n"),
    ("duplicate key", "description: a\ndescription: b\n"),
    ("self alias", "a: &a [*a]\n"),
    (
        "billion laughs",
        "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(
            f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi")
        ),
    ),  # fmt: skip
    ("python tag", "description: !!python/object/apply:os.system ['true']\n"),
    ("undefined alias", "description: *nowhere\n"),
    ("not UTF-8", b"description: caf\xe9\n"),
    ("huge", "description: '" + "x" * 1_100_000 + "'\n"),
]


def _fit_cases() -> list[tuple[str, str | None, list[str]]]:
    quick = QUICKSTART.read_text()
    cases = [(label, text, []) for label, text in _mutations(QUICKSTART, None)]
    cases += [(label, text, []) for label, text in _TEXTS]
    cases += [
        ("replicas 0", quick, ["-r", "0"]),
        ("replicas -3", quick, ["-r", "-3"]),
        ("replicas backwards", quick, ["-r", "5-2"]),
        ("replicas words", quick, ["-r", "ten"]),
        ("seed -1", quick, ["--seed", "-1"]),
        ("seed too big", quick, ["--seed", str(2**40)]),
        ("seed text", quick, ["--seed", "x"]),
        ("unknown backend", quick, ["--backend", "numpy"]),
        ("missing theory folder", quick, ["--theory", "/no/such/theory"]),
        ("output is a file", quick, ["-o", str(QUICKSTART)]),
        ("unknown option", quick, ["--replica", "3"]),
        ("checkpoint minutes nan", quick, ["--checkpoint-minutes", "nan"]),
        ("checkpoint minutes negative", quick, ["--checkpoint-minutes", "-1"]),
    ]
    return cases


def _scan_cases() -> list[tuple[str, str | None, list[str]]]:
    scan = SCAN.read_text()
    cases = [(label, text, []) for label, text in _mutations(SCAN, ("hyperscan_config", "kfold"))]
    cases += [(label, text, []) for label, text in _TEXTS[:6]]
    cases += [
        ("a fit runcard", QUICKSTART.read_text(), []),
        ("trials 0", scan, ["--trials", "0"]),
        ("workers 0", scan, ["--workers", "0"]),
        ("worker and workers", scan, ["--worker", "--workers", "2"]),
        ("worker id alone", scan, ["--worker-id", "w1"]),
        ("trials per model 0", scan, ["-k", "0"]),
        ("unknown backend", scan, ["--backend", "numpy"]),
        ("lease nan", scan, ["--worker", "--lease", "nan"]),
        ("lease inf", scan, ["--worker", "--lease", "inf"]),
        ("lease too short", scan, ["--worker", "--lease", "0.5"]),
    ]
    return cases


def _refused(main, tmp_path, monkeypatch, text, args):
    def no_backend(*_args):
        raise AssertionError("the backend started: the input was not refused before training")

    monkeypatch.setattr(fit_cli, "start_backend", no_backend)
    monkeypatch.setattr(scan_cli, "start_backend", no_backend)
    runcard = tmp_path / "card.yml"
    runcard.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = CliRunner().invoke(main, [str(runcard), "-o", str(tmp_path / "out"), *args])
    assert not isinstance(result.exception, AssertionError), result.exception
    message = result.stderr.strip()
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output and message
    assert len(message.splitlines()) <= 5, message
    return message


FIT_CASES, SCAN_CASES = _fit_cases(), _scan_cases()


@pytest.mark.parametrize("label, text, args", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_fit_refuses(tmp_path, monkeypatch, label, text, args):
    _refused(fit_cli.main, tmp_path, monkeypatch, text, args)


@pytest.mark.parametrize("label, text, args", SCAN_CASES, ids=[c[0] for c in SCAN_CASES])
def test_hyperscan_refuses(tmp_path, monkeypatch, label, text, args):
    _refused(scan_cli.main, tmp_path, monkeypatch, text, args)


def test_the_corpus_is_large():
    assert len(FIT_CASES) + len(SCAN_CASES) >= 100
