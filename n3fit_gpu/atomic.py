"""Atomic file writes: a reader sees the old file or the new one, never a partial one.

Each function writes to a temporary file in the target's directory (so the final rename never
crosses a filesystem), flushes and fsyncs it, then ``os.replace``-s it over the target, which
is atomic on POSIX filesystems (NFS and Lustre included for a rename within one directory).
Parent directories are created; the temporary file is removed if anything fails. The new file
gets the usual permissions (0o666 minus the umask), not the owner-only mode of ``mkstemp``, so
results on a shared filesystem stay readable by the group as usual.

Temporary names carry their writer: ``.<name>.<host>-<pid>-<random>.tmp`` (``<host>``: 8 hex
digits of a hash of the host name). A writer killed mid-write (SIGKILL, out of memory) leaves
its temporary file; :func:`remove_orphaned_temps` deletes those whose writer is known dead: a
process of this host that no longer exists. A temporary file of another host, or of the older
``.<name>.<random>.tmp`` form, cannot be judged by pid; it is deleted only when older than
``stale_after`` seconds, if given.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np

_MAX_NAME_TRIES = 100
_TEMPORARY = re.compile(r"^\..+\.tmp$")
_OWNER = re.compile(r"\.([0-9a-f]{8})-(\d+)-[0-9a-f]{12}\.tmp$")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path : str | Path
        target file; its parent directories are created.
    data : bytes
        the complete new content.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, UTF-8 encoded."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any, indent: int = 2) -> Path:
    """Write ``obj`` as JSON atomically; numpy scalars and arrays become numbers and lists, and
    NaN and ±inf become null (JSON has no such numbers; Python's ``NaN``/``Infinity`` are
    rejected by every other reader)."""
    return atomic_write_text(path, json_text(obj, indent) + "\n")


def json_text(obj: Any, indent: int = 2) -> str:
    """``obj`` as the JSON text :func:`atomic_write_json` writes."""
    return json.dumps(
        _finite(obj), indent=indent, ensure_ascii=False, default=_numpy_to_builtin, allow_nan=False
    )


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (also inside numpy arrays) replaced by None."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


def atomic_savez(path: str | Path, **arrays: np.ndarray) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` atomically (the name is kept as given)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def temporary_path(path: str | Path) -> Path:
    """A new hidden name next to ``path`` that names this process as its writer, so that
    :func:`remove_orphaned_temps` removes it once this process is dead."""
    path = Path(path)
    return path.with_name(f".{path.name}.{_host_tag()}-{os.getpid()}-{secrets.token_hex(6)}.tmp")


def remove_orphaned_temps(
    folder: str | Path, recursive: bool = False, stale_after: float | None = None
) -> list[Path]:
    """Delete the temporary files in ``folder`` that no live writer owns; the paths deleted.

    Parameters
    ----------
    folder : str | Path
        where to look (nothing happens if it does not exist).
    recursive : bool
        also in every folder below ``folder``.
    stale_after : float | None
        seconds: a temporary file whose writer cannot be judged (another host's, or one named
        without its writer) is deleted once its last change is older than that; ``None``
        keeps them.

    Returns
    -------
    list[Path]
        the deleted files, sorted.
    """
    removed = []
    for directory, names in _listings(Path(folder), recursive):
        for name in names:
            if _TEMPORARY.match(name) and _orphaned(directory / name, stale_after):
                (directory / name).unlink(missing_ok=True)
                removed.append(directory / name)
    return sorted(removed)


def _listings(folder: Path, recursive: bool):
    """``(directory, file names)`` of ``folder`` and, if ``recursive``, of every folder below."""
    if recursive:
        for directory, _, names in os.walk(folder):
            yield Path(directory), names
        return
    try:
        with os.scandir(folder) as entries:
            yield folder, [entry.name for entry in entries if entry.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return


def _orphaned(path: Path, stale_after: float | None) -> bool:
    owner = _OWNER.search(path.name)
    if owner is not None and owner[1] == _host_tag():
        return not _alive(int(owner[2]))
    if stale_after is None:
        return False
    try:
        return time.time() - path.stat().st_mtime > stale_after
    except FileNotFoundError:
        return False  # renamed into place or removed meanwhile


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (a reused pid counts as alive: kept)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _create_temporary(path: Path) -> tuple[int, Path]:
    """Open a new hidden file next to ``path``, created with mode 0o666 minus the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_MAX_NAME_TRIES):
        tmp = temporary_path(path)
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {path}")


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some filesystems cannot open a directory, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _numpy_to_builtin(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
