"""Atomic writes leave either the old file or the new one, and no temporary files."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from n3fit_gpu import atomic
from n3fit_gpu.atomic import atomic_savez, atomic_write_bytes, atomic_write_json, atomic_write_text


def test_write_creates_parents_replaces_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "deep" / "er" / "file.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "néw")
    assert target.read_text(encoding="utf-8") == "néw"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_target_keeps_old_content_until_the_new_one_is_complete(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    seen_while_writing = []
    real_fsync = os.fsync

    def spying_fsync(fd):
        seen_while_writing.append(target.read_text())
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", spying_fsync)
    atomic_write_text(target, "new" * 1000)
    assert seen_while_writing[0] == "old"
    assert target.read_text() == "new" * 1000


def test_failed_rename_keeps_old_content_and_removes_temporary(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_unserialisable_json_keeps_old_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert len(list(tmp_path.iterdir())) == 1


def test_json_accepts_numpy_values(tmp_path):
    target = atomic_write_json(
        tmp_path / "a.json", {"x": np.float32(0.5), "n": np.int64(3), "v": np.arange(3)}
    )
    assert json.loads(target.read_text()) == {"x": 0.5, "n": 3, "v": [0, 1, 2]}


def test_new_file_gets_umask_permissions_not_owner_only(tmp_path):
    previous = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "shared.txt", "x")
    finally:
        os.umask(previous)
    assert target.stat().st_mode & 0o777 == 0o644


def test_savez_round_trip_keeps_the_given_name(tmp_path):
    target = atomic_savez(tmp_path / "pdf_q0.data", x=np.arange(3), y=np.eye(2))
    assert target.name == "pdf_q0.data"
    with np.load(target) as loaded:
        assert loaded["x"].tolist() == [0, 1, 2]
        np.testing.assert_array_equal(loaded["y"], np.eye(2))


# a writer SIGKILLed after its temporary file is complete, before the rename
_KILLED_WRITER = """
import os, signal, sys
from n3fit_gpu import atomic
atomic.os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
atomic.atomic_write_text(sys.argv[1], "never renamed")
"""


def _killed_writer_leaves_a_temporary(target) -> list:
    before = set(target.parent.iterdir()) if target.parent.exists() else set()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(target)], env=env)
    assert done.returncode == -signal.SIGKILL
    return sorted(set(target.parent.iterdir()) - before)


def test_temporaries_of_a_killed_writer_are_removed_a_live_writers_kept(tmp_path):
    (orphan,) = _killed_writer_leaves_a_temporary(tmp_path / "sub" / "a.json")
    assert orphan.name.startswith(".a.json.") and orphan.name.endswith(".tmp")
    live = atomic.temporary_path(tmp_path / "sub" / "b.json")  # this process: alive
    live.write_text("being written")
    kept = [tmp_path / "sub" / "c.tmp", tmp_path / "sub" / ".c.json"]  # not temporaries
    for path in kept:
        path.write_text("data")
    assert atomic.remove_orphaned_temps(tmp_path) == []  # not recursive
    assert atomic.remove_orphaned_temps(tmp_path, recursive=True) == [orphan]
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == sorted(
        [live.name, "c.tmp", ".c.json"]
    )


def test_temporaries_of_unknown_writers_go_only_when_stale(tmp_path):
    old_style = tmp_path / ".a.json.0123456789ab.tmp"  # no writer in the name
    other_host = tmp_path / ".b.json.00000000-1-0123456789ab.tmp"
    for path in (old_style, other_host):
        path.write_text("?")
    assert atomic.remove_orphaned_temps(tmp_path) == []
    assert atomic.remove_orphaned_temps(tmp_path, stale_after=3600) == []  # fresh
    hour_ago = time.time() - 3601
    os.utime(old_style, (hour_ago, hour_ago))
    assert atomic.remove_orphaned_temps(tmp_path, stale_after=3600) == [old_style]
    assert other_host.exists() and atomic.remove_orphaned_temps(tmp_path / "missing") == []
