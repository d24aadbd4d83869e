"""The ``mfsim`` command's launcher, outside the package so that it runs
before ``import mfsim`` (JAX and the rest take seconds to import): a Ctrl-C
or SIGTERM during those seconds exits with status 130 and one line instead of
a traceback. Importing ``mfsim`` itself installs no signal handler."""

import os
import signal
import sys

_EARLY = b"mfsim: interrupted while starting; nothing was written\n"


def _early_stop(signum, frame):
    os.write(2, _EARLY)
    os._exit(130)


def entry() -> None:
    signal.signal(signal.SIGINT, _early_stop)
    signal.signal(signal.SIGTERM, _early_stop)
    from mfsim.cli import entry as run

    run()  # installs the command's own handlers


if __name__ == "__main__":
    sys.exit(entry())
