"""Advisory locks that the kernel releases when their process dies (a ``kill -9`` leaves none).

:func:`exclusive` holds a whole file (``flock``) for a short critical section.
:class:`SlotLocks` holds numbered slots of one file (POSIX byte-range locks, one byte per slot)
for as long as a process works on them, so one file serves any number of slots; another process
asking for a held slot is refused at once.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

_WHOLE_FILE = 0  # lockf length 0: from start to the end of any file


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold ``path`` exclusively (waiting for other holders) for the ``with`` block."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class SlotLocks:
    """Byte-range locks on ``path``: slot ``n`` is byte ``n``. Use as a context manager; every
    slot taken is released on exit (and by the kernel if the process dies)."""

    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)

    def others_hold_any(self) -> bool:
        """Whether another process holds some slot (call before taking any: the probe takes,
        then gives back, the whole file)."""
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, _WHOLE_FILE)
        except OSError:
            return True
        fcntl.lockf(self._fd, fcntl.LOCK_UN, _WHOLE_FILE)
        return False

    def take(self, slots: Iterable[int]) -> int | None:
        """Take every slot, or none: returns the first slot another process holds, else None."""
        taken = []
        for slot in slots:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
            except OSError:
                for held in taken:
                    fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, held)
                return slot
            taken.append(slot)
        return None

    def close(self) -> None:
        """Release every slot."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SlotLocks:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
