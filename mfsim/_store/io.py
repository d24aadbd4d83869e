"""Atomic file writes: to a temporary name in the same directory, then renamed
into place, so a killed process never leaves a file that looks complete but is not.

Every write is announced first to the recorder installed by :func:`recording`
(a run directory's manifest, :mod:`mfsim._runner.manifest`): what mfsim
wrote is known by name, before the file or its temporary exists, so a rerun
or ``--force`` can remove exactly mfsim's files and never a user's."""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

_RECORDER: contextvars.ContextVar[Callable[[Path], None] | None] = contextvars.ContextVar(
    "mfsim_write_recorder", default=None)


@contextlib.contextmanager
def recording(recorder: Callable[[Path], None]):
    """Within this block, ``recorder(path)`` is called before each atomic write."""
    token = _RECORDER.set(recorder)
    try:
        yield
    finally:
        _RECORDER.reset(token)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, rename it
    onto ``path``. Callers serialize in memory first (netCDF, figures,
    checkpoints), so a full disk or a read-only directory meets only this
    plain write: one OSError, and no library left half-way through a file (an
    HDF5 library hitting ENOSPC mid-file printed tracebacks and crashed the
    interpreter at exit)."""
    path = Path(path)
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give a normal file's mode
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:  # name the file it was for (os.write names none)
        Path(tmp).unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror, e.filename or str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))
