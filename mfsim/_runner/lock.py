"""One run at a time in a run directory: an exclusive, non-blocking ``flock``
on ``.mfsim.lock`` held from before the directory is prepared until the last
result is written. A second run is refused with a clear message; the kernel
releases the lock of a process that dies, so a killed run leaves no stale lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .._errors import MfsimError
from .plan import LOCK_FILE


@contextlib.contextmanager
def run_lock(out_dir: Path):
    """Hold the run directory's lock (creating the directory)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        what = "write in" if out_dir.is_dir() else "create"
        raise MfsimError(f"{out_dir}: cannot {what} the output directory: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
            raise MfsimError(f"{out_dir}: another mfsim run (pid {holder}) is writing here; "
                             "wait for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
