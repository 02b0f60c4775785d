"""The trial log: an append-only JSON-lines file, one hyperopt trial document per line.

Writing: one ``os.write`` of a whole line on an ``O_APPEND`` descriptor under an exclusive
``flock``, then ``fsync`` once the lock is released (readers see the line at unlock, also on
NFS, which flushes on unlock; an fsync under the lock made 64 workers queue behind each
other's disk flushes); several processes may append to one log. A line left torn by a
crashed writer (no trailing newline) is closed with a newline before the next record, so it
costs only itself.

Reading is incremental (as Optuna's journal file storage): :class:`TrialLog` caches the byte
offset it has parsed up to and the records so far, so each :meth:`TrialLog.read` parses only
the bytes appended since, and its cost stays flat as the log grows. A torn last line is left
for the next read; a complete line that is not a trial document is skipped with one warning
naming file and line; a file that shrank or was replaced is read again from the start. A
second record of a trial id already read is skipped (the first wins), so logs written by
older or foreign writers still read as one record per trial.

Exactly once: many workers may finish the same trial (a slow worker whose claim was taken
over, see :mod:`.claims`). :meth:`TrialLog.append_new` catches up on the log *under the
append lock* and appends only if the trial id is not there yet, so the log holds each trial
once whatever the timing.

Documents have hyperopt's trial-document shape (``state``, ``tid``, ``spec``, ``result``,
``misc``, ``exp_key``, ``owner``, ``version``, ``book_time``, ``refresh_time``; times as ISO
strings in UTC) plus ``params`` (the decoded point) and ``format_version``.
:func:`to_hyperopt_trials` turns them back into a :class:`hyperopt.Trials`.
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hyperopt import JOB_STATE_DONE, Trials

from n3fit_gpu.search.jsonable import to_json

FORMAT_VERSION = 1
_REQUIRED = {"tid": int, "result": dict, "misc": dict}


class TrialLog:
    """An append-only JSON-lines trial log at ``path`` (parent folders created on append)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._start_over(None)

    def _start_over(self, file_id: tuple[int, int] | None) -> None:
        self._file_id = file_id
        self.offset = 0  # bytes parsed so far (public for inspection, not for writing)
        self._lines = 0
        self._records: list[dict] = []
        self._tids: set[int] = set()

    @property
    def finished(self) -> AbstractSet[int]:
        """The trial ids read so far (a live view, updated by reads: do not modify it)."""
        return self._tids

    def append(self, doc: dict) -> None:
        """Append ``doc`` as one line, atomically with respect to other appenders."""
        self._append(doc, only_new=False)

    def append_new(self, doc: dict) -> bool:
        """Append ``doc`` unless the log already holds its ``tid``; ``True`` if it was appended.

        The check reads what was appended since the previous read while holding the append
        lock, so of several workers finishing the same trial exactly one appends it. Most of
        that reading is done before taking the lock, so the lock is held for about one record
        however many were appended since this reader last looked.
        """
        return self._append(doc, only_new=True)

    def _append(self, doc: dict, only_new: bool) -> bool:
        data = (json.dumps(doc, allow_nan=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if only_new:
                self._catch_up(fd)  # unlocked: under the lock only what comes meanwhile
            fcntl.flock(fd, fcntl.LOCK_EX)
            if only_new:
                self._catch_up(fd)
                if doc["tid"] in self._tids:
                    return False
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # close a line torn by a crashed writer
            if os.write(fd, data) != len(data):
                raise OSError(f"{self.path}: short write while appending a trial record")
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.fsync(fd)  # after unlocking: appenders do not queue behind each other's fsync
        finally:
            os.close(fd)  # (closing also drops the lock if anything above failed)
        return True

    def read(self) -> list[dict]:
        """All valid records, parsing only the bytes appended since the previous call."""
        return list(self.records())

    def records(self) -> Sequence[dict]:
        """:meth:`read` without the copy: a live view of the records (do not modify it)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._start_over(None)
            return self._records
        try:
            self._catch_up(fd)
        finally:
            os.close(fd)
        return self._records

    def _catch_up(self, fd: int) -> None:
        stat = os.fstat(fd)
        file_id = (stat.st_dev, stat.st_ino)
        if file_id != self._file_id or stat.st_size < self.offset:
            self._start_over(file_id)
        chunk = os.pread(fd, max(stat.st_size - self.offset, 0), self.offset)
        complete = chunk.rfind(b"\n") + 1  # a torn last line waits for the next read
        for line in chunk[:complete].split(b"\n")[:-1]:
            self._lines += 1
            self._parse(line)
        self.offset += complete

    def _parse(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            doc = json.loads(line)
        except ValueError:
            doc, why = None, "not valid JSON"
        else:
            why = "not a trial document (a JSON object with tid, result and misc)"
        if isinstance(doc, dict) and all(isinstance(doc.get(k), t) for k, t in _REQUIRED.items()):
            self._keep(doc)
        else:
            warnings.warn(
                f"{self.path}:{self._lines}: skipped a line that is {why}; the other records "
                "are kept (delete or repair that line to silence this warning)",
                stacklevel=5,
            )

    def _keep(self, doc: dict) -> None:
        if doc["tid"] not in self._tids:  # a repeated trial id: the first record wins
            self._tids.add(doc["tid"])
            self._records.append(doc)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat()


def trial_document(
    tid: int,
    vals: dict[str, list],
    point: dict,
    result: dict,
    started: datetime,
    finished: datetime,
    owner: str | None = None,
) -> dict:
    """A finished trial as a hyperopt trial document (plain JSON) plus ``params``.

    ``vals`` is hyperopt's ``misc.vals`` (``label -> [value]``, ``[]`` if inactive), ``point``
    the decoded point, ``result`` the objective's result dict; times are naive UTC or aware;
    ``owner`` the id of the worker that ran it (``None`` for a single-process scan).
    """
    vals = {label: list(values) for label, values in vals.items()}
    misc = {
        "tid": tid,
        "cmd": ["domain_attachment", "FMinIter_Domain"],
        "workdir": None,
        "idxs": {label: [tid] if values else [] for label, values in vals.items()},
        "vals": vals,
    }
    doc = {
        "state": JOB_STATE_DONE,
        "tid": tid,
        "spec": None,
        "result": result,
        "misc": misc,
        "exp_key": None,
        "owner": owner,
        "version": 0,
        "book_time": _iso(started),
        "refresh_time": _iso(finished),
        "params": point,
        "format_version": FORMAT_VERSION,
    }
    return to_json(doc)


def _hyperopt_doc(doc: dict) -> dict[str, Any]:
    result = dict(doc["result"])
    if result.get("status") == "ok" and result.get("loss") is None:
        result["status"] = "fail"  # defensive: hyperopt needs a number for an ok trial
    times = {
        key: datetime.fromisoformat(doc[key]) if isinstance(doc.get(key), str) else None
        for key in ("book_time", "refresh_time")
    }
    misc = dict(doc["misc"])
    misc.setdefault("cmd", ["domain_attachment", "FMinIter_Domain"])
    misc.setdefault("workdir", None)
    return {
        **doc,
        **times,
        "state": doc.get("state", JOB_STATE_DONE),
        "spec": doc.get("spec"),
        "exp_key": doc.get("exp_key"),
        "owner": doc.get("owner"),
        "result": result,
        "misc": misc,
    }


def to_hyperopt_trials(docs: list[dict]) -> Trials:
    """A refreshed :class:`hyperopt.Trials` holding copies of ``docs`` (for TPE, best_trial)."""
    return add_to_hyperopt_trials(Trials(), docs)


def add_to_hyperopt_trials(trials: Trials, docs: list[dict]) -> Trials:
    """Insert copies of ``docs`` into ``trials`` and refresh it (for a history grown in steps).

    Returns ``trials``; the cost is that of the new documents plus hyperopt's own refresh.
    """
    if docs:
        trials.insert_trial_docs([_hyperopt_doc(doc) for doc in docs])
    trials.refresh()
    return trials
