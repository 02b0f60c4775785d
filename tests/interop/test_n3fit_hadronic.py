"""NNPDF's n3fit (nnpdf 4.1.5) trains on the benchmarks' NNPDF4.0-size problem, hadronic tables
included, through scripts/n3fit_reference.py: the χ² n3fit reports for its own PDF equals our
NumPy convolution of that PDF with the exported tables (so n3fit's timings in the README are
of the same problem as ours)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import PATIENCE

pytestmark = [pytest.mark.slow, pytest.mark.nnpdf]
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "n3fit_reference.py"


def test_n3fit_sees_the_nnpdf40_problem_as_we_do(nnpdf_python, tmp_path):
    problem = tmp_path / "problem.npz"
    export = [sys.executable, str(SCRIPT), "export", "--problem", "nnpdf40", "--grouping", "all"]
    proc = subprocess.run(export + ["--replicas", "2", "--out", str(problem)],
                          capture_output=True, text=True, timeout=PATIENCE)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    timing = [str(nnpdf_python), str(SCRIPT), "time", str(problem), "--warmup", "3"]
    proc = subprocess.run(timing + ["--epochs", "3"], capture_output=True, text=True,
                          timeout=PATIENCE)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    assert row["mode"] == "n3fit" and row["replicas"] == 2 and row["epochs"] == 3
    check = re.search(r"numpy \[([^\]]*)\] vs n3fit \[([^\]]*)\]", proc.stderr)
    assert check, proc.stderr[-2000:]
    ours, theirs = ([float(v) for v in group.split(",")] for group in check.groups())
    assert len(ours) == len(theirs) == 2
    assert ours == pytest.approx(theirs, rel=1e-3)
