"""Fixtures of the interop lane: NNPDF's virtualenv and one fit made by ``fit`` (shared by the
modules, made once per session)."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from n3fit_gpu.cli.fit import main as fit_main
from tests.test_fit import small_card

REPLICAS = 6  # at 120 epochs one of the six is vetoed (convergence, chi2, 3 arc lengths)


@pytest.fixture(scope="session")
def nnpdf_python() -> Path:
    python = os.environ.get("N3FIT_NNPDF_PYTHON")
    if not python:
        reason = "N3FIT_NNPDF_PYTHON is not set: make the venv with scripts/nnpdf_venv.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return Path(python)


@pytest.fixture(scope="session")
def fit_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("interop_fit")
    card = small_card(tmp, epochs=120, name="interop")
    result = CliRunner().invoke(fit_main, [str(card), "-r", str(REPLICAS), "-o", str(tmp), "-q"])
    assert result.exit_code == 0, result.output
    return tmp / "interop"
