"""``n3fit-gpu closure``: one line naming the folder when it is not a finished closure fit."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from n3fit_gpu.cli import main

RUNCARDS = Path(__file__).resolve().parents[2] / "runcards"


def finished_looking_fit(tmp_path: Path, runcard: str) -> Path:
    """A folder with a fit's runcard and a summary.json (no replicas: the CLI must not get
    that far when the runcard is wrong)."""
    folder = tmp_path / runcard
    folder.mkdir()
    shutil.copy(RUNCARDS / f"{runcard}.yml", folder)
    (folder / "summary.json").write_text(json.dumps({"postfit": {"selected": []}}))
    return folder


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda tmp: finished_looking_fit(tmp, "quickstart"), "is not a closure fit"),
        (lambda tmp: finished_looking_fit(tmp, "closure"), "postfit selected 0 replicas"),
        (lambda tmp: tmp, "is not a finished fit"),
    ],
)
def test_bad_fit_folders_give_one_line(tmp_path, make, expected):
    result = CliRunner().invoke(main, ["closure", str(make(tmp_path))])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: ") and expected in line


def test_help_teaches_the_estimators():
    result = CliRunner().invoke(main, ["closure", "--help"])
    assert result.exit_code == 0 and "R_bv" in result.output and "Example" in result.output
    assert "--test" in result.output and "left out" in result.output
