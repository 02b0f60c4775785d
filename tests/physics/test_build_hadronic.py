"""scripts/build_hadronic.py end to end on E866's first two points (one below the bottom
threshold, one above): LO grids, eko at the exact scales, pineko, NNPDF's layout.

Needs the [theory] extra; ~2 min of eko on 2 idle cores with a warm numba cache (4-5 min on
busy ones).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.theory, pytest.mark.slow]
for _module in ("eko", "pineappl", "pineko"):
    pytest.importorskip(_module, reason="needs the [theory] extra (eko, pineappl, pineko)")

from n3fit_gpu.physics.nnpdf_theory import load_dataset_fk  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_build_two_points(tmp_path):
    output = tmp_path / "theory_90000001"
    command = [sys.executable, str(ROOT / "scripts/build_hadronic.py"), "--max-points", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [*command, "--output", str(output)], check=True, cwd=ROOT, env=env, capture_output=True
    )
    build = json.loads((output / "build_e866.json").read_text())
    assert build["points"] == 2 and [nf for _, nf in build["eko_scales"]] == [4, 5]
    checks = build["checks"]
    assert max(checks["grid_vs_direct_toy_at_Q_max_rel"].values()) < 1e-4
    assert checks["reader_vs_pineappl_max_rel"] < 1e-8
    assert checks["fk_vs_direct_evolved_toy_max_rel"] < 1e-4
    dataset_fk = load_dataset_fk(output, "DYE866_Z0_800GEV_DW_RATIO_PDXSECRATIO")
    assert [t.ndata for t in dataset_fk.tables] == [2, 2]
    assert all(t.q0 == pytest.approx(1.65) for t in dataset_fk.tables)
    assert np.all(np.array(checks["toy_ratio_d_over_p"]) > 1.0)
