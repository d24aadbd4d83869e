"""The ``mfsim`` command's launcher, outside the package so that it runs
before ``import mfsim`` (JAX and the rest take seconds to import): a Ctrl-C
or SIGTERM during those seconds exits with status 130 and one line instead of
a traceback. Importing ``mfsim`` itself installs no signal handler.

The command leaves without the interpreter's teardown: the exit handler
registered here, first, runs last (after every library's own handlers: JAX's
included), flushes the streams and ends the process with the command's exit
status. What it skips is the destruction of every module and object (JAX's
and XLA's: ~0.5 s after a run, bench/NOTES.md); every file the command wrote
is closed by then (each is written atomically), and its threads have stopped
or are daemons (progress, signals, the figures' imports)."""

import atexit
import os
import signal
import sys

_EARLY = b"mfsim: interrupted while starting; nothing was written\n"
_STATUS = [1]  # the exit status, until the command says otherwise


def _early_stop(signum, frame):
    os.write(2, _EARLY)
    os._exit(130)


def _leave() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(_STATUS[0])


def _status(code) -> int:
    """What ``SystemExit(code)`` exits with."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def entry() -> None:
    atexit.register(_leave)  # first registered: runs last
    signal.signal(signal.SIGINT, _early_stop)
    signal.signal(signal.SIGTERM, _early_stop)
    from mfsim.cli import entry as run

    try:
        run()  # installs the command's own handlers
    except SystemExit as e:  # Python says a message code on stderr, then exits
        _STATUS[0] = _status(e.code)
        raise
    _STATUS[0] = 0


if __name__ == "__main__":
    sys.exit(entry())
