"""``submit_fit.sh`` on a real (local) SLURM: a tiny fit of 4 replicas as an array of 2 blocks
of 2, then the collect job; every replica and the collected ensemble files are checked."""

import json
import re
from pathlib import Path

import pytest

from tests.slurm.helpers import ROOT, job_logs, submit, wait

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def tiny_fit_card(folder: Path) -> Path:
    """The quick-start runcard with 4 replicas and 60 epochs, postfit thresholds out of reach
    (60 epochs do not converge; this tests the batch machinery)."""
    text = (ROOT / "runcards" / "quickstart.yml").read_text()
    text = re.sub(r"(?m)^replicas: .*$", "replicas: 4", text)
    text = re.sub(r"(?m)^  epochs: .*$", "  epochs: 60", text)
    text = text.replace("threshold_chi2: 10.0", "threshold_chi2: 1.0e+9", 1)
    text = text.replace("threshold: 1.0e-6}", "threshold: 1.0e+9}", 1)
    path = folder / "tinyfit.yml"
    path.write_text(text)
    return path


def test_fit_array_then_collect(slurm_env, tmp_path):
    tiny_fit_card(tmp_path)
    # relative paths, submitted from the runcard's folder: the scripts make them absolute
    jobs = submit("submit_fit.sh", ["tinyfit.yml", 4, 2, "out"], slurm_env, cwd=tmp_path)
    assert set(jobs) == {"array", "collect"}, jobs
    out = tmp_path / "out"
    seconds = wait(list(jobs.values()), slurm_env, logs=out)
    print(f"fit array + collect: {seconds:.0f} s")
    logs = job_logs(out)
    fit = out / "tinyfit"
    for replica in range(1, 5):
        folder = fit / "nnfit" / f"replica_{replica}"
        for name in ("tinyfit.json", "tinyfit.exportgrid"):
            assert (folder / name).is_file(), f"no {folder / name}\n{logs}"
    array, collect = jobs["array"], jobs["collect"]
    for task, block in ((0, "1-2"), (1, "3-4")):
        log = (out / f"slurm-{array}_{task}.out").read_text()
        assert f"replicas {block} of" in log, logs
    assert (out / f"slurm-{collect}.out").is_file(), logs
    summary = json.loads((fit / "summary.json").read_text())
    assert summary["replicas"]["written"] == 4, logs
    assert (fit / "lhapdf" / "tinyfit" / "tinyfit.info").is_file(), logs
