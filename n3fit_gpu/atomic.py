"""Atomic file writes: a reader sees the old file or the new one, never a partial one.

Each function writes to a temporary file in the target's directory (so the final rename never
crosses a filesystem), flushes and fsyncs it, then ``os.replace``-s it over the target, which
is atomic on POSIX filesystems (NFS and Lustre included for a rename within one directory).
Parent directories are created; the temporary file is removed if anything fails. The new file
gets the usual permissions (0o666 minus the umask), not the owner-only mode of ``mkstemp``, so
results on a shared filesystem stay readable by the group as usual.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np

_MAX_NAME_TRIES = 100


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


def _create_temporary(path: Path) -> tuple[int, Path]:
    """Open a new hidden file next to ``path``, created with mode 0o666 minus the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_MAX_NAME_TRIES):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
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
