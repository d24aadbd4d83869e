"""Interrupt requests that cannot be lost.

Python raises KeyboardInterrupt only between bytecodes of the main thread,
and one raised inside a callback (JAX's garbage-collection hook, say) can be
swallowed. The CLI therefore also records each SIGINT/SIGTERM here (from a
watcher thread fed by ``signal.set_wakeup_fd``), and runs call :func:`check`
at their safe points, between points and between checkpointed segments."""

from __future__ import annotations

import threading

_requested = threading.Event()


def request() -> None:
    """Record that the user asked the run to stop."""
    _requested.set()


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested (at a safe point)."""
    if _requested.is_set():
        raise KeyboardInterrupt
