"""The scan folder: many workers starting at once create one scan; scans by name never mix."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from n3fit_gpu.atomic import temporary_path
from n3fit_gpu.errors import OutputError
from n3fit_gpu.scan.layout import prepare_scan_folder, scan_runcard


def test_workers_starting_at_once_with_different_seeds_one_wins(tmp_path):
    card = tmp_path / "scan.yml"
    card.write_text("description: a scan\n")
    for attempt in range(10):
        output, barrier, outcome = tmp_path / str(attempt), threading.Barrier(4), {}

        def start(seed, output=output, barrier=barrier, outcome=outcome):
            barrier.wait()
            try:
                prepare_scan_folder(card, output, seed)
                outcome[seed] = "ok"
            except OutputError:
                outcome[seed] = "refused"

        threads = [threading.Thread(target=start, args=(seed,)) for seed in (0, 0, 1, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcome.values()) == ["ok", "refused"]  # one seed's workers all run
        assert scan_runcard(output / "scan").read_text() == "description: a scan\n"


def test_two_runcard_names_give_two_scan_folders(tmp_path):
    for name in ("alpha", "beta"):
        (tmp_path / f"{name}.yml").write_text(f"description: {name}\n")
    roots = [
        prepare_scan_folder(tmp_path / f"{n}.yml", tmp_path / "out", 0) for n in ("alpha", "beta")
    ]
    assert [r.name for r in roots] == ["alpha", "beta"]
    assert scan_runcard(roots[1]).read_text() == "description: beta\n"
    with pytest.raises(OutputError, match="another runcard"):
        (tmp_path / "alpha.yml").write_text("description: changed\n")
        prepare_scan_folder(tmp_path / "alpha.yml", tmp_path / "out", 0)


# a writer that created its temporary file and died (here: exited) before renaming it
_DEAD_WRITER = (
    "import sys; from n3fit_gpu.atomic import temporary_path; temporary_path(sys.argv[1]).touch()"
)


def test_resuming_removes_temporaries_of_dead_writers_only(tmp_path):
    card = tmp_path / "scan.yml"
    card.write_text("description: a scan\n")
    root = prepare_scan_folder(card, tmp_path / "out", 0)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for target in (root / "trials" / "3.npz", root / "report" / "cost.json"):
        target.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-c", _DEAD_WRITER, str(target)], env=env, check=True)
    live = temporary_path(root / "trials" / "4.npz")  # this process is writing it
    live.touch()
    orphans = [p for p in root.rglob(".*.tmp") if p != live]
    assert len(orphans) == 2
    assert prepare_scan_folder(card, tmp_path / "out", 0) == root  # resume
    assert sorted(root.rglob(".*.tmp")) == [live]
    assert sorted(p.name for p in root.iterdir()) == ["report", "scan.json", "scan.yml", "trials"]
