"""Atomic writes leave either the old file or the new one, and no temporary files."""

import numpy as np
import pytest

from n3fit_gpu.atomic import atomic_savez, atomic_write_json, atomic_write_text


def test_write_replaces_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "deep" / "file.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_failure_keeps_old_content(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"a": object()})
    assert target.read_text().strip().startswith("{") and '"a": 1' in target.read_text()
    assert len(list(tmp_path.iterdir())) == 1


def test_savez_round_trip(tmp_path):
    atomic_savez(tmp_path / "a.npz", x=np.arange(3))
    assert np.load(tmp_path / "a.npz")["x"].tolist() == [0, 1, 2]
