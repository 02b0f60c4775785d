"""The HTML reports as a reader sees them, in headless Chromium: no console error, every
image loads, the tables hold what the fit wrote."""

import json

import pytest
from click.testing import CliRunner

from n3fit_gpu.cli.fit import main as fit_main
from tests.outputs.browser import render
from tests.test_fit import small_card

pytestmark = pytest.mark.slow


def test_fit_report_opens_in_a_browser(tmp_path):
    card = small_card(tmp_path, epochs=120, name="shown")
    result = CliRunner().invoke(fit_main, [str(card), "-r", "4", "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    fit = tmp_path / "shown"
    summary = json.loads((fit / "summary.json").read_text())
    seen = render(fit / "report.html")
    assert seen.errors == [] and seen.broken_images == []
    assert seen.images == 3 and seen.title == "Fit shown"
    postfit_rows, chi2_rows = seen.table_rows
    assert postfit_rows == 1 + summary["replicas"]["written"]
    assert chi2_rows == 1 + len(summary["chi2_per_dataset"])


def test_scan_report_opens_in_a_browser(tmp_path):
    from n3fit_gpu.cli.hyperscan import main as scan_main
    from tests.cli.test_hyperscan import tiny_card

    card = tiny_card(tmp_path)
    result = CliRunner().invoke(scan_main, [str(card), "-n", "3", "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    seen = render(tmp_path / "tiny" / "report" / "report.html")
    assert seen.errors == [] and seen.broken_images == []
    assert seen.images == 4 and seen.title == "Scan tiny"
    best_rows, importance_rows = seen.table_rows
    assert best_rows == 1 + 3 and importance_rows >= 2
