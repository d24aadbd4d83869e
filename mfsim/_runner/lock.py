"""Who writes in a run directory: an ``flock`` on ``.mfsim.lock``, held from
before the directory is prepared until the last result is written; the
kernel releases the lock of a process that dies, so a killed run leaves no
stale lock.

- A whole run (``mfsim run``) holds it **exclusively**: a second run, a shard
  or a merge is refused with a clear message.
- Shards (``--shard i/n``, the workers of ``--workers``) and merges share
  the directory: each takes the lock exclusively if it can (no one else is
  here: it may tidy the directory, e.g. remove the temporary files of writes
  a kill cut short) and then holds it **shared**; otherwise it waits a few
  seconds for a shared hold (other shards are here: it tidies nothing that
  another process may be writing). Shards never write the same file (each
  point has one shard), so concurrent shards need no more than this.

On a shared filesystem (NFS), Linux emulates ``flock`` with POSIX locks
held through the file server, which other hosts see.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from .._errors import MfsimError
from .plan import LOCK_FILE

SHARED_WAIT = 30.0  # seconds a shard or merge waits for another's brief exclusive hold


class Hold:
    """The lock as held: ``exclusive`` (no one else is in the directory), or shared."""

    def __init__(self, fd: int, exclusive: bool):
        self.fd, self.exclusive = fd, exclusive

    def share(self) -> None:
        """Turn an exclusive hold into a shared one (the directory is ready)."""
        if self.exclusive:
            fcntl.flock(self.fd, fcntl.LOCK_SH)
            self.exclusive = False


def _refusal(out_dir: Path, fd: int) -> MfsimError:
    holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
    return MfsimError(f"{out_dir}: another mfsim run (pid {holder}) is writing here; wait "
                      "for it to finish or choose another --out")


@contextlib.contextmanager
def run_lock(out_dir: Path, *, shared: bool = False, wait: float = SHARED_WAIT):
    """Hold the run directory's lock (creating the directory): exclusively,
    or with ``shared`` as a shard or merge (module docstring); yields a :class:`Hold`."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(out_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        what = "write in" if out_dir.is_dir() else "create"
        raise MfsimError(f"{out_dir}: cannot {what} the output directory: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            hold = Hold(fd, True)
        except BlockingIOError:
            if not shared:
                raise _refusal(out_dir, fd) from None
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise _refusal(out_dir, fd) from None
                    time.sleep(0.1)
            hold = Hold(fd, False)
        yield hold
    finally:
        os.close(fd)  # releases the lock
