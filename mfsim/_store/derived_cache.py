"""Text derived from mfsim's own code (the scenario-key reference, the
catalog of ``mfsim list``), kept on disk so that the command answers without
importing the registry (and with it JAX, seconds) once it has answered once.

Each entry is keyed by :func:`package_digest`, a SHA-256 of every source
file of the installed package: any change to mfsim's code (a new key, a
changed default) is a new key, and the text is derived again. Entries live
in ``$MFSIM_CACHE``, else ``$XDG_CACHE_HOME/mfsim/derived`` (by default
``~/.cache/mfsim/derived``); deleting them is always safe, and a cache that
cannot be written (a read-only home) only means the text is derived each
time. Text that depends on ``--plugin`` modules is never cached.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from .io import atomic_write_text

PACKAGE = Path(__file__).resolve().parents[1]  # mfsim/


@functools.cache
def package_digest() -> str:
    """SHA-256 of mfsim's source files (their paths and bytes), in order."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_dir() -> Path:
    chosen = os.environ.get("MFSIM_CACHE")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mfsim" / "derived"


def cached_text(name: str, make: Callable[[], str]) -> str:
    """``make()``, or what it returned before for this very code."""
    path = cache_dir() / f"{name}-{package_digest()[:32]}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    text = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError:  # read-only, full: derived again next time
        pass
    return text
