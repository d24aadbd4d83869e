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


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give a normal file's mode
        write(Path(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
