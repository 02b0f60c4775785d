"""End-to-end fits on the shipped theory and real data (small: few replicas and epochs)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from n3fit_gpu.cli.fit import main
from n3fit_gpu.outputs.exportgrid import EXPORT_LABELS, read_exportgrid
from tests.waiting import PATIENCE

QUICKSTART = Path(__file__).resolve().parents[1] / "runcards" / "quickstart.yml"
CLOSURE = Path(__file__).resolve().parents[1] / "runcards" / "closure.yml"


def small_card(tmp_path, source=QUICKSTART, epochs=300, name="small", lenient=False):
    """The quickstart runcard with fewer epochs; ``lenient``: a fit too short to converge whose
    replicas still pass postfit (χ² and positivity thresholds out of reach), for tests of
    the machinery (resume, backends), not of the physics."""
    text = source.read_text().replace("epochs: 2000", f"epochs: {epochs}", 1)
    if lenient:
        text = text.replace("threshold_chi2: 10.0", "threshold_chi2: 1.0e+9", 1)
        text = text.replace("threshold: 1.0e-6}", "threshold: 1.0e+9}", 1)
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    return path


def fit(args):
    result = CliRunner().invoke(main, [str(a) for a in args] + ["--quiet"])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def small_fit(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fit")
    fit([small_card(tmp), "--replicas", "3", "-o", tmp / "out"])
    return tmp / "out" / "small"


def test_per_replica_outputs_in_nnpdf_formats(small_fit):
    for r in (1, 2, 3):
        folder = small_fit / "nnfit" / f"replica_{r}"
        grid = read_exportgrid(folder / "small.exportgrid")
        assert grid.replica == r and grid.pdfgrid.shape == (196, 14)
        assert np.all(np.isfinite(grid.pdfgrid))
        info = json.loads((folder / "small.json").read_text())
        for key in (
            "preprocessing",
            "stop_epoch",
            "best_epoch",
            "erf_tr",
            "erf_vl",
            "chi2",
            "pos_state",
        ):
            assert key in info
        assert 0 < info["stop_epoch"] <= 300


def test_fit_folder_has_nnpdf_filter_yml_and_lhapdf_info(small_fit):
    import yaml

    runcard = yaml.safe_load((small_fit / "filter.yml").read_text())
    assert runcard["theory"] == {"theoryid": "n3fit_gpu_dis_nlo"}
    assert runcard["parameters"]["epochs"] == 300 and runcard["nnseed"] == 945709987
    info = yaml.safe_load((small_fit / "lhapdf" / "small" / "small.info").read_text())
    # the keys evolven3fit writes (eko's template), with the theory card's values
    assert info["AlphaS_MZ"] == 0.118 and info["MZ"] == 91.1876 and info["OrderQCD"] == 1
    assert (info["MCharm"], info["MBottom"], info["MTop"]) == (1.51, 4.92, 172.5)
    assert info["SetIndex"] == 0 and info["NumMembers"] == summary_selected(small_fit) + 1
    assert len(info["AlphaS_Qs"]) == len(info["AlphaS_Vals"])


def summary_selected(folder: Path) -> int:
    return json.loads((folder / "summary.json").read_text())["replicas"]["selected"]


def test_summary_has_chi2_per_dataset(small_fit):
    summary = json.loads((small_fit / "summary.json").read_text())
    assert summary["replicas"]["written"] == 3
    if summary["replicas"]["ok"]:
        chi2 = summary["chi2_per_dataset"]
        assert "HERA_NC_318GEV_EP-SIGMARED" in chi2
        assert all(np.isfinite(v["central"]) for v in chi2.values())


def test_momentum_sum_rule_in_exportgrid(small_fit):
    grid = read_exportgrid(small_fit / "nnfit" / "replica_1" / "small.exportgrid")
    x = grid.xgrid
    total = grid.pdfgrid[:, [i for i, lab in enumerate(EXPORT_LABELS) if lab != "PHT"]].sum(axis=1)
    assert np.trapezoid(total, x) == pytest.approx(1.0, abs=2e-2)  # coarse 196-point grid


def test_lhapdf_set_reproduces_exportgrid_and_evolves(small_fit):
    parton = pytest.importorskip("parton")
    summary = json.loads((small_fit / "summary.json").read_text())
    if not summary["replicas"]["ok"]:
        pytest.skip("no replica passed its checks in this short fit")
    ok = sorted(int(r) for r in summary["stop_epochs"] if str(r) not in summary["failed"])
    pdf = parton.mkPDF("small", 1, pdfdir=str(small_fit / "lhapdf"))
    grid = read_exportgrid(small_fit / "nnfit" / f"replica_{ok[0]}" / "small.exportgrid")
    q20 = grid.q20

    def xfx(pid, x, q2):
        return float(pdf.xfxQ2(pid, np.array([x, x]), np.array([q2, q2]), grid=False)[0])

    for label, pid in (("GLUON", 21), ("U", 2), ("DBAR", -1)):
        col = EXPORT_LABELS.index(label)
        for i in (90, 130, 160):
            x = grid.xgrid[i]
            assert xfx(pid, x, q20) == pytest.approx(grid.pdfgrid[i, col], rel=2e-2, abs=1e-4)
    # evolution: the gluon at small x grows from Q0 to 100 GeV
    assert xfx(21, 1e-3, 1e4) > 1.5 * xfx(21, 1e-3, q20)


@pytest.mark.slow
def test_resume_fits_only_missing_replicas(tmp_path):
    card = small_card(tmp_path, epochs=100, name="resumed", lenient=True)
    fit([card, "--replicas", "2", "-o", tmp_path / "out"])
    first = tmp_path / "out" / "resumed" / "nnfit" / "replica_1" / "resumed.json"
    before = first.stat().st_mtime_ns
    refused = CliRunner().invoke(
        main, [str(card), "--replicas", "3", "-o", str(tmp_path / "out"), "-q"]
    )
    assert refused.exit_code == 2 and "--resume" in refused.output
    other_seed = CliRunner().invoke(
        main, [str(card), "-r", "3", "-o", str(tmp_path / "out"), "--resume", "--seed", "7"]
    )
    assert other_seed.exit_code == 2 and "other settings (mcseed: " in other_seed.output
    fit([card, "--replicas", "3", "-o", tmp_path / "out", "--resume"])
    assert first.stat().st_mtime_ns == before
    assert (tmp_path / "out" / "resumed" / "nnfit" / "replica_3" / "resumed.json").exists()


def _interrupt_once_some_replicas_stopped(monkeypatch) -> list[int]:
    """Ctrl-C in the progress callback once a replica stopped while others still train; the
    list returned receives the epoch of the interrupt."""
    from n3fit_gpu.ensemble.engine import EnsembleTrainer

    train = EnsembleTrainer.train
    at: list[int] = []

    def interrupted_train(self, progress=None, **options):
        def report(p):
            progress(p)
            if p.stopped and p.active:
                at.append(p.epoch)
                raise KeyboardInterrupt

        return train(self, report, **options)

    monkeypatch.setattr(EnsembleTrainer, "train", interrupted_train)
    return at


@pytest.mark.slow
def test_interrupted_fit_keeps_stopped_replicas_and_resume_completes(tmp_path, monkeypatch):
    # patience 6 epochs: some replica stops within the first calls while others train on
    text = small_card(tmp_path, epochs=300).read_text()
    card = tmp_path / "ctrlc.yml"
    card.write_text(text.replace("stopping_patience: 0.1", "stopping_patience: 0.02", 1))
    fit_dir = tmp_path / "out" / "ctrlc"
    args = [str(card), "--replicas", "4", "-o", str(tmp_path / "out"), "-q"]
    interrupted_at = _interrupt_once_some_replicas_stopped(monkeypatch)
    interrupted = CliRunner().invoke(main, args)
    assert interrupted.exit_code == 130, interrupted.output
    kept = sorted(fit_dir.glob("nnfit/replica_*/ctrlc.json"))
    assert 0 < len(kept) < 4
    assert f"interrupted: {len(kept)} of 4 replicas are written" in interrupted.output
    assert "--resume" in interrupted.output and not (fit_dir / "summary.json").exists()
    for path in kept:
        info = json.loads(path.read_text())
        assert info["stop_epoch"] < interrupted_at[0]  # stopped (patience) before the interrupt
        assert (path.parent / "ctrlc.exportgrid").exists()
    mtimes = [path.stat().st_mtime_ns for path in kept]

    monkeypatch.undo()
    fit(args[:-1] + ["--resume"])
    assert len(list(fit_dir.glob("nnfit/replica_*/ctrlc.json"))) == 4
    assert [path.stat().st_mtime_ns for path in kept] == mtimes
    summary = json.loads((fit_dir / "summary.json").read_text())
    assert summary["replicas"]["written"] == 4


@pytest.mark.slow
def test_fit_runs_on_jax_without_tensorflow(tmp_path, jax_only_env):
    """As on our GPU machines (JAX, no TensorFlow), the `fit` command writes a whole fit."""
    command = [
        sys.executable,
        "-m",
        "n3fit_gpu.cli.fit",
        small_card(tmp_path, epochs=100, lenient=True),
    ]
    command += ["--replicas", "2", "-o", tmp_path / "out", "--quiet"]
    proc = subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        env=jax_only_env,
        timeout=PATIENCE,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "small" / "summary.json").read_text())
    assert summary["replicas"]["written"] == 2
    assert (tmp_path / "out" / "small" / "lhapdf" / "small" / "small.info").exists()


def test_no_replica_passing_postfit_fails_a_whole_fit_but_not_one_block(tmp_path):
    """A block of a batch array (--replicas 2-3 of 10) leaves the verdict to the collect step;
    a whole fit where postfit selects nothing exits 2 with the reasons, every replica kept."""
    text = small_card(tmp_path, epochs=20, name="strict").read_text()
    card = tmp_path / "strict.yml"
    card.write_text(text.replace("threshold_chi2: 10.0", "threshold_chi2: 1.0e-9", 1))
    block = CliRunner().invoke(main, [str(card), "--replicas", "2-3", "-o", str(tmp_path / "a")])
    assert block.exit_code == 0, block.output
    assert "postfit selected 0 of 2 replicas" in block.output
    card.write_text(card.read_text().replace("replicas: 10", "replicas: 2", 1))
    whole = CliRunner().invoke(main, [str(card), "-o", str(tmp_path / "b"), "-q"])
    assert whole.exit_code == 2, whole.output
    assert whole.stderr.strip().startswith("error: no replica passed postfit (1: convergence; 2")
    summary = json.loads((tmp_path / "b" / "strict" / "summary.json").read_text())
    assert summary["postfit"]["selected"] == [] and set(summary["postfit"]["vetoed"]) == {"1", "2"}
    assert not (tmp_path / "b" / "strict" / "lhapdf").exists()  # no set of no replicas
