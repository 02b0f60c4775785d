"""scripts/n3fit_reference.py exports our problem for NNPDF's n3fit: every array it needs, with
consistent shapes. (Timing n3fit itself needs a virtualenv with nnpdf; see the script.)"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.waiting import PATIENCE

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "n3fit_reference.py"
QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"


@pytest.mark.slow
def test_export_writes_the_quickstart_problem(tmp_path):
    out = tmp_path / "problem.npz"
    cmd = [sys.executable, str(SCRIPT), "export", "--runcard", str(QUICKSTART)]
    proc = subprocess.run(cmd + ["--replicas", "2", "--out", str(out)], capture_output=True,
                          text=True, timeout=PATIENCE)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    npz = np.load(out)
    header = json.loads(npz["header"].tobytes())
    n = sum(d["ndata"] for d in header["datasets"])
    assert header["replicas"] == [1, 2] and len(header["datasets"]) == 6
    assert npz["pseudodata"].shape == npz["trmask"].shape == (2, n)
    assert not np.array_equal(npz["pseudodata"][0], npz["pseudodata"][1])
    cov = npz["covmat"]
    assert cov.shape == (n, n) and np.allclose(cov, cov.T) and (np.diag(cov) > 0).all()
    for i, d in enumerate(header["datasets"]):
        tables = [npz[f"fk_{i}_{j}"] for j in range(d["ntables"])]
        assert all(t.shape[0] == d["ndata"] and t.shape[1] == 9 for t in tables)
        assert d["ntables"] == (2 if d["operation"] == "RATIO" else 1)
    assert len(header["positivity"]) == 7 and "pos_6" in npz and "integ_4" in npz
