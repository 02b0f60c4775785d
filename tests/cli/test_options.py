"""Float options refuse nan, inf and -inf (``FloatRange(min=1.0)`` let ``nan`` through) with
one line naming the option and the fix."""

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from n3fit_gpu.cli import main
from n3fit_gpu.cli.options import FiniteFloatRange

SCAN_CARD = str(Path(__file__).resolve().parents[2] / "runcards" / "hyperscan.yml")


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "0.5", "ten"])
def test_lease_must_be_a_finite_number_of_seconds(tmp_path, value):
    argv = ["hyperscan", SCAN_CARD, "--trials", "1", "-o", str(tmp_path), "--lease", value]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: --lease: got '{value}'; give a finite number ≥ 1 (seconds, e.g. --lease 600)"
    )
    assert not any(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--xmin", "nan"], "--xmin: got 'nan'; give a finite number > 0 and ≤ 1"),
        (["--xmax", "inf"], "--xmax: got 'inf'; give a finite number > 0 and ≤ 1"),
        (["--xmin", "-inf"], "--xmin: got '-inf'; give a finite number > 0 and ≤ 1"),
        (["--xmin", "0"], "--xmin: got '0'; give a finite number > 0 and ≤ 1"),
        (["--xmin", "0.8"], "--xmin: got 0.8, not below --xmax 0.7; give --xmin < --xmax"),
    ],
)
def test_closure_region_must_be_finite_and_ordered(tmp_path, args, expected):
    result = CliRunner().invoke(main, ["closure", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith(f"error: {expected}")


def test_finite_float_range_keeps_finite_values_in_range():
    @click.command()
    @click.option("--x", type=FiniteFloatRange(0.0, 1.0, max_open=True), default=0.5)
    def show(x):
        click.echo(repr(x))

    runner = CliRunner()
    assert runner.invoke(show, []).output == "0.5\n"
    assert runner.invoke(show, ["--x", "0"]).output == "0.0\n"
    refused = runner.invoke(show, ["--x", "1"])
    assert refused.exit_code == 2
    assert refused.stderr == "error: --x: got '1'; give a finite number ≥ 0 and < 1\n"
