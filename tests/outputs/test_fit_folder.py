"""One fit per output folder: replicas locked while fitted, settings recorded and compared."""

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from n3fit_gpu.config import load_runcard
from n3fit_gpu.errors import OutputError
from n3fit_gpu.outputs.fit_folder import FitPaths, claim_fit_folder, fit_identity

QUICKSTART = Path(__file__).resolve().parents[2] / "runcards" / "quickstart.yml"
CARD = load_runcard(QUICKSTART)
IDENTITY = fit_identity(CARD, "n3fit_gpu_dis_nlo")

# another process claims replicas 1-3, says so, and holds them until its stdin closes
_HOLDER = """
import sys
from contextlib import ExitStack
from pathlib import Path
from n3fit_gpu.config import load_runcard
from n3fit_gpu.outputs.fit_folder import FitPaths, claim_fit_folder, fit_identity
card = load_runcard(sys.argv[2])
with ExitStack() as stack:
    claim_fit_folder(FitPaths(Path(sys.argv[1]), "q"), fit_identity(card, "n3fit_gpu_dis_nlo"),
                     [1, 2, 3], False, stack)
    print("claimed", flush=True)
    sys.stdin.read()
"""


def _claim(root: Path, replicas, resume=False, identity=IDENTITY, stack=None) -> list[int]:
    with ExitStack() as own:
        return claim_fit_folder(FitPaths(root, "q"), identity, replicas, resume, stack or own)


@pytest.fixture
def held(tmp_path):
    """Replicas 1-3 of ``tmp_path/q`` held by another process for the test."""
    root = tmp_path / "q"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root), str(QUICKSTART)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "claimed"  # waits for the event, not a clock
    yield root
    holder.stdin.close()
    holder.wait()


def test_a_second_fit_of_the_same_replicas_is_refused(held):
    with pytest.raises(OutputError, match="replica 2 of .* is being fitted by another running"):
        _claim(held, [2, 5])


def test_blocks_of_one_fit_run_side_by_side(held):
    assert _claim(held, [4, 5]) == [4, 5]


def test_other_settings_are_refused_while_a_fit_runs(held):
    other = fit_identity(CARD.model_copy(update={"nnseed": 1}), "n3fit_gpu_dis_nlo")
    with pytest.raises(OutputError, match="other settings \\(nnseed: 945709987 there"):
        _claim(held, [4], identity=other)


def test_locks_die_with_their_process(tmp_path):
    root = tmp_path / "q"
    holder = subprocess.run(
        [sys.executable, "-c", _HOLDER, str(root), str(QUICKSTART)], input="", text=True
    )
    assert holder.returncode == 0
    assert _claim(root, [1, 2, 3]) == [1, 2, 3]


def test_resume_refuses_other_settings_and_names_them(tmp_path):
    root = tmp_path / "q"
    _claim(root, [1])
    FitPaths(root, "q").replica_dir(1).mkdir(parents=True, exist_ok=True)
    FitPaths(root, "q").replica_json(1).write_text("{}")
    other = fit_identity(CARD.model_copy(update={"trvlseed": 3}), "n3fit_gpu_dis_nlo")
    with pytest.raises(OutputError, match="trvlseed: 591866982 there, 3 here.*--seed"):
        _claim(root, [1, 2], resume=True, identity=other)
    assert _claim(root, [1, 2], resume=True) == [2]
    more = fit_identity(CARD.model_copy(update={"replicas": 50}), "n3fit_gpu_dis_nlo")
    assert _claim(root, [1, 2], resume=True, identity=more) == [2]  # more replicas: same fit


def test_an_empty_folder_takes_new_settings(tmp_path):
    root = tmp_path / "q"
    _claim(root, [1])
    other = fit_identity(CARD.model_copy(update={"nnseed": 1}), "n3fit_gpu_dis_nlo")
    assert _claim(root, [1], identity=other) == [1]


def test_orphaned_temporary_files_are_removed(tmp_path):
    root = tmp_path / "q"
    replica = FitPaths(root, "q").replica_dir(1)
    replica.mkdir(parents=True)
    orphans = [replica / ".q.json.0123456789ab.tmp", root / ".summary.json.ba9876543210.tmp"]
    for orphan in orphans:
        orphan.write_text("half")
    _claim(root, [1], resume=True)
    assert not any(orphan.exists() for orphan in orphans)
