"""Interrupt requests that cannot be lost.

Python raises KeyboardInterrupt only between bytecodes of the main thread,
and one raised inside a callback (JAX's garbage-collection hook, say) can be
swallowed. The CLI therefore also records each SIGINT/SIGTERM here (from a
watcher thread fed by ``signal.set_wakeup_fd``), and runs call :func:`check`
at their safe points, between points and between checkpointed segments.

The CLI's Python-level handler (:func:`on_signal`) raises KeyboardInterrupt
only while a command runs: once the command has returned (:func:`finish`) a
late signal is only recorded, so it can neither raise out of the code that
exits nor, since the CLI then ignores both signals, kill the interpreter's
teardown (where Python restores the default handlers: a death by SIGINT)."""

from __future__ import annotations

import threading

_requested = threading.Event()
_finished = threading.Event()


def request() -> None:
    """Record that the user asked the run to stop."""
    _requested.set()


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested (at a safe point)."""
    if _requested.is_set():
        raise KeyboardInterrupt


def begin() -> None:
    """A command starts: signals raise KeyboardInterrupt again."""
    _finished.clear()


def finish() -> None:
    """The command has returned: from now on a signal is only recorded."""
    _finished.set()


def on_signal(signum, frame) -> None:
    """SIGINT/SIGTERM handler: record the request; raise KeyboardInterrupt
    while a command runs."""
    request()
    if not _finished.is_set():
        raise KeyboardInterrupt
