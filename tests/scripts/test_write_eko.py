"""scripts/write_eko.py: one clear line for what a user can get wrong, and an EKO that is our
operator in eko's conventions (the EKO file itself is read by evolven3fit in tests/interop)."""

import importlib.util
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu.physics.theory import load_theory
from n3fit_gpu.physics.toy_pdf import toy_xf_evolution, toy_xf_flavour

pytest.importorskip("eko", reason="writing an EKO needs eko (the [theory] extra)")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "write_eko.py"


def _script():
    spec = importlib.util.spec_from_file_location("write_eko", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_nnpdf_venv_with_another_eko_is_refused_in_one_line(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 0.0.1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(SystemExit, match=r"^error: eko .* but 0\.0\.1 in .*: write the EKO"):
        _script().check_versions(fake)


def test_a_python_without_eko_is_named(tmp_path):
    with pytest.raises(SystemExit, match="^error: cannot run .*no-such-python"):
        _script().check_versions(Path(sys.executable).with_name("no-such-python"))
    with pytest.raises(SystemExit, match="^error: .* has no eko; give the python of NNPDF"):
        _script().check_versions(Path("/bin/false"))


@pytest.mark.slow
@pytest.mark.theory
def test_the_eko_evolves_f_as_our_operator_evolves_x_f():
    theory = load_theory("n3fit_gpu_dis_nlo")
    operators, targets, x = _script().eko_operators(theory)
    evolution = theory.evolution()
    assert [q2 for q2, _ in targets] == evolution.q2.tolist() and np.array_equal(
        x, evolution.xgrid_in
    )
    toy = toy_xf_flavour(x)
    pids = (22, -6, -5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5, 6)
    f_in = np.stack([toy.get(pid, np.zeros_like(x)) for pid in pids]) / x
    ours = np.einsum("qcyfx,fx->qcy", evolution.operator, toy_xf_evolution(x, theory.basis))
    ours = np.einsum("pc,qcy->qpy", evolution.output_rotation, ours)
    theirs = np.einsum("qaybx,bx->qay", operators, f_in) * x
    rows = [pids.index(pid) for pid in evolution.pids]
    np.testing.assert_allclose(theirs[:, rows], ours, rtol=1e-6, atol=1e-9)
