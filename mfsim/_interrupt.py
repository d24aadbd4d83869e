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
import gc
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


def _in_gc_callback(frame) -> bool:
    """Whether ``frame`` runs inside a garbage-collection callback (JAX
    registers one): an exception raised there is printed as 'Exception
    ignored' with a traceback, and lost."""
    codes = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


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
    while a command runs. Inside a garbage-collection callback it raises
    nothing and re-sends the signal to the main thread 10 ms later."""
    request()
    if _finished.is_set():
        return
    if _in_gc_callback(frame):
        threading.Timer(0.01, _redeliver, args=(signum,)).start()
        return
    raise KeyboardInterrupt
