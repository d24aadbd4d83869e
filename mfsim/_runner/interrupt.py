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

import _thread
import signal
import sys
import threading

_requested = threading.Event()
_finished = threading.Event()
_lock = threading.Lock()
_redelivered = 0  # signals re-sent to the main thread by _redeliver, not yet seen by the CLI


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


def _redeliver(signum: int) -> None:
    global _redelivered
    with _lock:
        _redelivered += 1
    _thread.interrupt_main(signum)


def take_redelivered() -> bool:
    """Whether a signal the CLI's watcher sees is one :func:`on_signal` re-sent
    (not the user's second Ctrl-C)."""
    global _redelivered
    with _lock:
        if _redelivered:
            _redelivered -= 1
            return True
        return False


def on_signal(signum, frame) -> None:
    """SIGINT/SIGTERM handler: record the request; raise KeyboardInterrupt
    while a command runs."""
    request()
    if not _finished.is_set():
        raise KeyboardInterrupt


def unraisable_hook(unraisable) -> None:
    """``sys.unraisablehook`` of the CLI. A KeyboardInterrupt raised where
    Python cannot raise it (in a garbage-collection or weakref callback, a
    finalizer: JAX's ``_xla_gc_callback``, a ``WeakValueDictionary``) would
    be printed as 'Exception ignored ... Traceback' and lost; the signal is
    sent again to the main thread 10 ms later instead, silently. Anything
    else goes to Python's own hook."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        if not _finished.is_set():
            threading.Timer(0.01, _redeliver, args=(signal.SIGINT,)).start()
        return
    sys.__unraisablehook__(unraisable)
