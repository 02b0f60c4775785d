"""Waiting on events in tests: poll for the event, never assume how fast the machine is.

A test that waits for a process, a file or a line waits as long as it takes on a loaded
machine; it fails early only when the event can no longer happen (``hopeless``), and after
``PATIENCE`` seconds (default one hour, ``N3FIT_TEST_PATIENCE`` to change) as a guard against
hangs, saying what it waited for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
PATIENCE = float(os.environ.get("N3FIT_TEST_PATIENCE", "3600"))


def wait_for(
    event: Callable[[], T],
    what: str,
    hopeless: Callable[[], str | None] = lambda: None,
    interval: float = 0.05,
    patience: float = PATIENCE,
) -> T:
    """Poll ``event()`` until it returns something truthy, and return that.

    ``hopeless()`` returns a reason (e.g. "the scan exited with code 1: ...") once the event
    cannot come any more; the wait then fails at once with ``what`` and that reason.
    """
    start = time.monotonic()
    while not (value := event()):
        reason = hopeless()
        if reason:
            raise AssertionError(f"waited for {what}, but {reason}")
        if time.monotonic() - start > patience:
            raise AssertionError(f"waited {patience:.0f} s for {what}; it never happened")
        time.sleep(interval)
    return value
