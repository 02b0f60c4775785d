"""TrialLog (append-only JSON lines, incremental reads) and hyperopt trial documents."""

import json
import math
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from hyperopt import Domain, tpe

from n3fit_gpu.search.space import LogUniform, to_hyperopt
from n3fit_gpu.search.store import TrialLog, to_hyperopt_trials, trial_document

T0 = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def _doc(tid, loss=1.0, status="ok"):
    lr = 10.0 ** -(tid % 4 + 1)
    result = {"status": status, "loss": loss if status == "ok" else None}
    return trial_document(
        tid, {"lr": [lr]}, {"lr": lr}, result, T0, T0 + timedelta(seconds=tid + 1)
    )


def test_append_then_read_round_trips(tmp_path):
    log = TrialLog(tmp_path / "deep" / "trials.jsonl")
    assert log.read() == []
    docs = [_doc(t, loss=float(t)) for t in range(3)]
    for doc in docs:
        log.append(doc)
    assert log.read() == docs
    assert TrialLog(log.path).read() == docs  # a fresh reader sees the same


def test_document_has_hyperopt_shape_and_is_plain_json():
    doc = _doc(7)
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert doc["tid"] == doc["misc"]["tid"] == 7 and doc["state"] == 2
    assert doc["misc"]["idxs"] == {"lr": [7]} and doc["misc"]["vals"] == {"lr": [1e-4]}
    assert doc["book_time"] == "2025-01-02T03:04:05.678000" and doc["format_version"] == 1
    assert doc["params"] == {"lr": 1e-4}


def test_second_read_parses_only_the_new_bytes(tmp_path, monkeypatch):
    log = TrialLog(tmp_path / "trials.jsonl")
    for tid in range(20):
        log.append(_doc(tid))
    assert len(log.read()) == 20
    parsed = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda s, **kw: parsed.append(s) or real_loads(s, **kw))
    log.append(_doc(20))
    log.append(_doc(21))
    assert [d["tid"] for d in log.read()] == list(range(22))
    assert len(parsed) == 2 and log.offset == log.path.stat().st_size
    assert len(log.read()) == 22 and len(parsed) == 2  # nothing new, nothing parsed


def test_torn_last_line_is_left_for_the_next_read(tmp_path):
    log = TrialLog(tmp_path / "trials.jsonl")
    log.append(_doc(0))
    line = (json.dumps(_doc(1)) + "\n").encode()
    with open(log.path, "ab") as handle:
        handle.write(line[:25])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [d["tid"] for d in log.read()] == [0]
    with open(log.path, "ab") as handle:
        handle.write(line[25:])
    assert [d["tid"] for d in log.read()] == [0, 1]


def test_append_after_a_crashed_writer_keeps_the_new_record(tmp_path):
    log = TrialLog(tmp_path / "trials.jsonl")
    log.append(_doc(0))
    with open(log.path, "ab") as handle:
        handle.write(b'{"tid": 1, "resu')  # a writer died mid-line
    log.append(_doc(2))
    with pytest.warns(UserWarning, match="trials.jsonl:2"):
        assert [d["tid"] for d in TrialLog(log.path).read()] == [0, 2]


def test_corrupt_middle_line_is_skipped_once_with_a_warning_naming_it(tmp_path):
    path = tmp_path / "trials.jsonl"
    lines = [json.dumps(_doc(0)), "{not json", json.dumps({"no": "tid"}), json.dumps(_doc(1))]
    path.write_text("\n".join(lines) + "\n")
    log = TrialLog(path)
    with pytest.warns(UserWarning) as caught:
        assert [d["tid"] for d in log.read()] == [0, 1]
    assert [str(w.message).split(": ")[0] for w in caught] == [f"{path}:2", f"{path}:3"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(log.read()) == 2  # already consumed: no second warning


def test_replaced_or_truncated_file_is_read_from_the_start(tmp_path):
    log = TrialLog(tmp_path / "trials.jsonl")
    for tid in range(3):
        log.append(_doc(tid))
    assert len(log.read()) == 3
    replacement = tmp_path / "new.jsonl"
    replacement.write_text(json.dumps(_doc(9)) + "\n")
    replacement.replace(log.path)
    assert [d["tid"] for d in log.read()] == [9]
    log.path.write_text("")
    assert log.read() == []


def test_hyperopt_trials_from_documents(tmp_path):
    log = TrialLog(tmp_path / "trials.jsonl")
    for tid, loss in enumerate([3.0, 1.0, 2.0]):
        log.append(_doc(tid, loss=loss))
    log.append(_doc(3, status="fail"))
    trials = to_hyperopt_trials(log.read())
    assert trials.losses() == [3.0, 1.0, 2.0, None]
    assert trials.best_trial["tid"] == 1
    assert trials.trials[0]["book_time"] == datetime(2025, 1, 2, 3, 4, 5, 678000)
    hp_space = to_hyperopt({"lr": LogUniform(1e-5, 1.0)})
    new = tpe.suggest([4], Domain(lambda p: 0.0, hp_space), trials, 1, n_startup_jobs=2)
    (lr,) = new[0]["misc"]["vals"]["lr"]
    assert 1e-5 <= lr <= 1.0 and not math.isnan(lr)


def test_pandas_reads_the_log_in_one_line(tmp_path):
    pandas = pytest.importorskip("pandas")
    log = TrialLog(tmp_path / "trials.jsonl")
    for tid in range(3):
        log.append(_doc(tid, loss=float(tid)))
    frame = pandas.read_json(log.path, lines=True)
    assert list(frame["tid"]) == [0, 1, 2]
    assert [r["loss"] for r in frame["result"]] == [0.0, 1.0, 2.0]


def test_append_new_refuses_a_trial_already_in_the_log(tmp_path):
    first, second = TrialLog(tmp_path / "t.jsonl"), TrialLog(tmp_path / "t.jsonl")
    assert first.append_new(_doc(0, loss=1.0))
    assert second.append_new(_doc(1))
    assert not second.append_new(_doc(0, loss=2.0))  # finished by `first` meanwhile
    assert not first.append_new(_doc(1))
    assert [(d["tid"], d["result"]["loss"]) for d in TrialLog(first.path).read()] == [
        (0, 1.0),
        (1, 1.0),
    ]
    assert first.path.read_bytes().count(b"\n") == 2 and first.finished == {0, 1}


def test_a_repeated_trial_id_written_by_others_reads_once_first_wins(tmp_path):
    log = TrialLog(tmp_path / "t.jsonl")
    for tid, loss in [(0, 1.0), (1, 1.0), (0, 5.0)]:
        log.append(_doc(tid, loss=loss))
    assert [(d["tid"], d["result"]["loss"]) for d in log.read()] == [(0, 1.0), (1, 1.0)]
