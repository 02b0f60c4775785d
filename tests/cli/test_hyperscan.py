"""``hyperscan`` end to end on the shipped theory and real data: a tiny scan (3 replicas,
2 folds, ≤ 60 epochs), its trial log, resume after SIGKILL, threshold abort, the report."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from n3fit_gpu.cli.hyperscan import main
from n3fit_gpu.config import load_runcard
from n3fit_gpu.scan.space import apply_point
from n3fit_gpu.search.store import TrialLog, to_hyperopt_trials
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SCAN_CARD = ROOT / "runcards" / "hyperscan.yml"
_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # subprocesses import this checkout
SCHEMA = json.loads((ROOT / "n3fit_gpu" / "search" / "trial_document.schema.json").read_text())
TRIALS = 3


def tiny_card(folder: Path, name: str = "tiny", **edits: str) -> Path:
    """The shipped scan runcard made tiny; ``edits`` replace whole lines starting with a key."""
    text = SCAN_CARD.read_text()
    replacements = {
        "replicas:": "replicas: 3",
        "  stopping:": "  stopping: {min_epochs: 30, max_epochs: 60, min_patience: 0.1, "
        "max_patience: 0.3}",
        "  threshold:": "  threshold: 1.0e+9",  # 60 epochs fit badly: train every fold anyway
        # ... and reach no acceptable epoch (positivity, chi2 < 10), which fails a trial
        "  positivity: {initial": "  positivity: {initial: 184.8, multiplier: null, "
        "threshold: 1.0e+9}",
        "  threshold_chi2:": "  threshold_chi2: 1.0e+9",
        "  - datasets: [HERA_NC_318GEV_EM-SIGMARED]": "",
        **edits,
    }
    lines = []
    for line in text.splitlines():
        key = next((k for k in replacements if line.startswith(k)), None)
        lines.append(line if key is None else replacements[key])
    path = folder / f"{name}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def scan(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args] + ["--quiet"])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An uninterrupted scan of TRIALS trials."""
    tmp = tmp_path_factory.mktemp("scan")
    card = tiny_card(tmp)
    code, out = scan(card, "--trials", TRIALS, "-o", tmp / "out")
    assert code == 0, out
    return card, tmp / "out" / "tiny"


def test_log_has_every_trial_in_hyperopt_shape(finished):
    _, root = finished
    docs = TrialLog(root / "tries.jsonl").read()
    assert [d["tid"] for d in docs] == list(range(TRIALS))
    for doc in docs:
        jsonschema.validate(doc, SCHEMA)
        meta = doc["result"]["kfold_meta"]
        assert meta["aborted_at_fold"] is None and len(meta["fold_losses"]) == 2
        assert doc["result"]["stopped"] is None and doc["result"]["status"] == "ok"
        assert [len(chi2) for chi2 in meta["chi2_per_fold_replica"]] == [3, 3]  # replicas
        assert doc["result"]["replica_epochs"] > 0
    trials = to_hyperopt_trials(docs)
    assert len(trials.losses()) == TRIALS
    assert trials.best_trial["result"]["loss"] == min(d["result"]["loss"] for d in docs)


def test_log_reads_with_pandas_in_one_line(finished):
    pandas = pytest.importorskip("pandas")
    _, root = finished
    frame = pandas.read_json(root / "tries.jsonl", lines=True)
    assert len(frame) == TRIALS and "result" in frame.columns


def test_report_writes_a_fittable_best_runcard(finished):
    card, root = finished
    result = CliRunner().invoke(main, ["report", str(root)])
    assert result.exit_code == 0, result.output
    report = root / "report"
    for name in ("best_trials.txt", "loss.png", "parameters.png", "best_runcard.yml"):
        assert (report / name).stat().st_size > 0
    docs = TrialLog(root / "tries.jsonl").read()
    best = min(docs, key=lambda d: d["result"]["loss"])
    assert load_runcard(report / "best_runcard.yml") == apply_point(
        load_runcard(card), best["params"]
    )
    assert f"  {best['tid']}  " in (report / "best_trials.txt").read_text().splitlines()[2]


@pytest.mark.slow
def test_rerunning_resumes_without_refitting(finished):
    card, root = finished
    before = (root / "tries.jsonl").read_bytes()
    code, out = scan(card, "--trials", TRIALS, "-o", root.parent)
    assert code == 0, out
    assert (root / "tries.jsonl").read_bytes() == before  # nothing rerun
    code, out = scan(card, "--trials", TRIALS + 1, "-o", root.parent)
    assert code == 0, out
    after = (root / "tries.jsonl").read_bytes()
    assert after.startswith(before) and after.count(b"\n") == TRIALS + 1


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _kill_scan_when(card: Path, trials: int, out: Path, event, what: str) -> list[str]:
    """Run ``hyperscan`` in a subprocess, SIGKILL it once ``event()`` is true; return the
    command (to rerun it)."""
    command = [sys.executable, "-m", "n3fit_gpu.cli.hyperscan", str(card), "--trials",
               str(trials), "-o", str(out), "--quiet"]  # fmt: skip
    worker = subprocess.Popen(command, env=_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def exited() -> str | None:
        if worker.poll() is None:
            return None
        return f"the scan exited with code {worker.returncode}: {worker.stderr.read().decode()}"

    wait_for(event, what, exited, interval=0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL  # killed, not finished
    return command


@pytest.mark.slow
def test_sigkill_mid_trial_then_rerun_gives_the_same_log(finished, tmp_path):
    card, reference = finished
    log = tmp_path / "out" / "tiny" / "tries.jsonl"
    # trial 2 starts as soon as trial 1 is logged: kill it there, however fast the machine
    command = _kill_scan_when(
        card, TRIALS, tmp_path / "out", lambda: _lines(log) >= 2, "trials 0 and 1 in the log"
    )
    killed_at = _lines(log)
    assert 2 <= killed_at < TRIALS
    subprocess.run(command, env=_ENV, check=True, capture_output=True)
    resumed = TrialLog(log).read()
    expected = TrialLog(reference / "tries.jsonl").read()[:TRIALS]
    assert [d["tid"] for d in resumed] == list(range(TRIALS))
    assert [d["params"] for d in resumed] == [d["params"] for d in expected]
    np.testing.assert_allclose(
        [d["result"]["loss"] for d in resumed], [d["result"]["loss"] for d in expected], rtol=1e-5
    )


@pytest.mark.slow
def test_sigkill_between_folds_resumes_at_the_next_fold(finished, tmp_path):
    card, reference = finished
    root = tmp_path / "out" / "tiny"
    # trial 0 has two folds: kill it once its first is stored, before its second is
    first = lambda: list(root.glob("folds/0-*/fold_0.npz"))  # noqa: E731
    command = _kill_scan_when(
        card, 1, tmp_path / "out", lambda: bool(first()), "fold 0 of trial 0 stored"
    )
    assert not (root / "tries.jsonl").exists()
    # mark the stored fold (its replica-epochs, which do not enter the loss) to see it used
    (path,) = first()
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    record = json.loads(str(arrays["record"]))
    record["replica_epochs"] += 10**6
    arrays["record"] = np.array(json.dumps(record))
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)
    subprocess.run(command, env=_ENV, check=True, capture_output=True)
    (resumed,) = TrialLog(root / "tries.jsonl").read()
    expected = TrialLog(reference / "tries.jsonl").read()[0]
    assert resumed["params"] == expected["params"]
    assert (
        resumed["result"]["kfold_meta"]["fold_losses"]
        == (expected["result"]["kfold_meta"]["fold_losses"])
    )  # the stored fold 0 and a retrained fold 1 score exactly as the uninterrupted trial
    assert resumed["result"]["loss"] == expected["result"]["loss"]
    assert resumed["result"]["replica_epochs"] == expected["result"]["replica_epochs"] + 10**6
    assert not list(root.glob("folds/*/*"))  # dropped once the trial is logged


@pytest.mark.slow
def test_threshold_abort_never_trains_the_next_fold(tmp_path):
    card = tiny_card(tmp_path, "strict", **{"  threshold:": "  threshold: 1.0e-3"})
    code, out = scan(card, "--trials", 2, "-o", tmp_path / "out")
    assert code == 2 and "none of the 2 finished trials succeeded" in out  # n3fit: fail
    assert "2 fail (threshold) of 2 trials" in out
    for doc in TrialLog(tmp_path / "out" / "strict" / "tries.jsonl").read():
        meta = doc["result"]["kfold_meta"]
        assert meta["aborted_at_fold"] == 0 and doc["result"]["status"] == "fail"
        assert doc["result"]["stopped"] == "threshold" and doc["result"]["stopped_at_fold"] == 0
        assert len(meta["fold_losses"]) == 1 and len(meta["chi2_per_fold_replica"]) == 1
        assert doc["result"]["replica_epochs"] == sum(meta["extra_per_fold"][0]["stop_epoch"])


@pytest.mark.parametrize(
    "args, expected",
    [
        (["{quickstart}"], "a scan needs the blocks hyperscan_config: and kfold:"),
        (["{card}", "--seed", "7"], "holds a scan started with another seed (0)"),
        (["report", "{tmp}"], "is not a scan folder"),
    ],
)
def test_bad_input_gives_one_line(finished, tmp_path, args, expected):
    card, root = finished
    names = {"quickstart": ROOT / "runcards" / "quickstart.yml", "card": card, "tmp": tmp_path}
    argv = [a.format(**names) for a in args]
    if argv[0] != "report":
        argv += ["-o", str(root.parent)]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: ") and expected in line


def _copy_of(root: Path, tmp_path: Path) -> Path:
    """A copy of the finished scan folder (the module's fixture stays untouched)."""
    copy = tmp_path / "out" / root.name
    shutil.copytree(root, copy)
    return copy


@pytest.mark.slow
def test_worker_joins_the_scan_and_runs_one_more_trial(finished, tmp_path):
    card, reference = finished
    root = _copy_of(reference, tmp_path)
    before = len(TrialLog(root / "tries.jsonl").read())
    code, out = scan(
        card, "--trials", before + 1, "-o", root.parent, "--worker", "--worker-id", "t1"
    )
    assert code == 0, out
    docs = TrialLog(root / "tries.jsonl").read()
    assert [(d["tid"], d["owner"]) for d in docs[before:]] == [(before, "t1")]
    assert f"worker t1: the scan {root} has {before + 1} trials" in out
    assert list((root / "claims").iterdir()) == []


def test_workers_start_worker_commands_then_report(finished, tmp_path, monkeypatch):
    card, reference = finished
    root = _copy_of(reference, tmp_path)
    started = {}

    def in_process(commands, log, trials, log_folder, progress, claims_folder):
        for name, command in commands.items():  # each a complete `hyperscan run` command line
            assert command[:2] == [sys.executable, "-c"] and "--worker" in command
            result = CliRunner().invoke(main, command[3:])
            started[name] = (result.exit_code, command[command.index("--worker-id") + 1])
        assert log_folder == root / "workers" and log.path == root / "tries.jsonl"
        assert claims_folder == root / "claims"

    monkeypatch.setattr("n3fit_gpu.scan.parallel.run_local_workers", in_process)
    code, out = scan(card, "--trials", TRIALS, "-o", root.parent, "--workers", 2)
    assert code == 0, out
    assert [(code, wid) for code, wid in started.values()] == [(0, name) for name in started]
    assert len(started) == 2 and "scan written to" in out


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--worker", "--workers", "2"], "--worker and --workers exclude each other"),
        (["--worker-id", "a"], "--worker-id needs --worker"),
        (["--worker", "--worker-id", "a b"], "worker id 'a b' is not usable"),
    ],
)
def test_worker_option_mixups_give_one_line(tmp_path, args, expected):
    result = CliRunner().invoke(main, [str(tiny_card(tmp_path)), "-o", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith("error: ") and expected in line


def test_export_writes_nnpdf_tries_json(finished, tmp_path):
    _, root = finished
    result = CliRunner().invoke(main, ["export", str(root), "--nnpdf", str(tmp_path / "nnpdf")])
    assert result.exit_code == 0, result.output
    trials = json.loads((tmp_path / "nnpdf" / "nnfit" / "replica_1" / "tries.json").read_text())
    docs = TrialLog(root / "tries.jsonl").read()
    assert [t["tid"] for t in trials] == [d["tid"] for d in docs]
    for trial, doc in zip(trials, docs):
        card = apply_point(load_runcard(root / "tiny.yml"), doc["params"])
        space = trial["misc"]["space_vals"]
        assert space["epochs"] == card.parameters.epochs
        assert space["nodes_per_layer"] == list(card.parameters.nodes_per_layer)
        assert space["optimizer"]["optimizer_name"] == card.parameters.optimizer.optimizer_name
        meta = trial["result"]["kfold_meta"]
        chi2 = doc["result"]["kfold_meta"]["chi2_per_fold_replica"]
        assert meta["hyper_losses"] == chi2  # every (fold, replica) χ², lossless
        assert meta["hyper_losses_chi2"] == pytest.approx([np.mean(c) for c in chi2])
        assert trial["result"]["loss"] == doc["result"]["loss"]
    assert (tmp_path / "nnpdf" / "filter.yml").read_text() == (root / "tiny.yml").read_text()


@pytest.mark.slow
def test_workers_scan_goes_on_when_one_worker_is_sigkilled(tmp_path):
    card = tiny_card(tmp_path)
    claims = tmp_path / "out" / "tiny" / "claims"
    command = [sys.executable, "-m", "n3fit_gpu.cli.hyperscan", str(card), "--trials",
               str(TRIALS), "-o", str(tmp_path / "out"), "--workers", "2", "--quiet"]  # fmt: skip
    scan_ = subprocess.Popen(command, env=_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def exited() -> str | None:
        return None if scan_.poll() is None else f"the scan exited with {scan_.returncode}"

    def a_claim() -> dict | None:
        for path in claims.glob("*.json") if claims.is_dir() else ():
            try:
                return json.loads(path.read_text())
            except ValueError:
                continue  # being written
        return None

    victim = wait_for(a_claim, "a worker to claim a trial", exited, interval=0.01)
    os.kill(victim["pid"], signal.SIGKILL)
    out, err = scan_.communicate()
    assert scan_.returncode == 0, err.decode()
    line = next(ln for ln in err.decode().splitlines() if ln.startswith("worker "))
    assert line.startswith(f"worker {victim['worker']} was killed by SIGKILL")
    assert f"its output: {tmp_path / 'out' / 'tiny' / 'workers' / victim['worker']}.log" in line
    docs = TrialLog(tmp_path / "out" / "tiny" / "tries.jsonl").read()
    assert sorted(d["tid"] for d in docs) == list(range(TRIALS))
    assert b"scan written to" in out
