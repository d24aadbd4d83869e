"""JAX's persistent compilation cache for the ``mfsim`` command.

A solve compiles in seconds; with the cache on, a second process running the
same scenario (or one of the same shapes) loads the compiled solve from disk
instead. The command turns it on before anything compiles:

- the directory is ``$MFSIM_COMPILE_CACHE``, else JAX's own
  ``$JAX_COMPILATION_CACHE_DIR``, else ``$XDG_CACHE_HOME/mfsim/jax`` (by
  default ``~/.cache/mfsim/jax``);
- ``MFSIM_COMPILE_CACHE=off`` (what ``mfsim run --no-compile-cache`` sets,
  for its worker processes too) leaves it off;
- every compilation is written, the small ones too (:data:`MIN_COMPILE_SECONDS`;
  JAX's ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`` overrides).

JAX writes no entry for a computation with a host callback, and Equinox's
runtime checks (``eqx.error_if``: diffrax's checks of ``dt0`` and the save
times, on traced times) are host callbacks in their default mode. The
command therefore sets Equinox's documented ``EQX_ON_ERROR=nan`` (read when
Equinox is imported, so before anything imports it; a value the user set is
kept): a failed check then gives NaN, which a solve reports as a non-finite
state with its time. mfsim validates those inputs before the solve
(:meth:`mfsim.SolveSettings.checked`), so no check fails in practice.

JAX keys each entry by the computation, the JAX and XLA versions and the
device, so a stale entry is never used; deleting the directory is always safe.
A directory that cannot be created leaves the cache off with a note.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from .._errors import MfsimWarning

ENV = "MFSIM_COMPILE_CACHE"
#: cache every compiled program, the small ones too: the ~40 eager operations
#: that draw a run's data and initial state compile in 10-20 ms each, 0.5 s in
#: all, and load from the cache in a fraction of that (bench/NOTES.md,
#: "Around the solves")
MIN_COMPILE_SECONDS = 0.0


def cache_directory() -> Path | None:
    """Where the command's compilation cache lives (``None``: off)."""
    chosen = os.environ.get(ENV) or os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mfsim" / "jax"


def enable_compile_cache() -> Path | None:
    """Turn JAX's persistent compilation cache on at :func:`cache_directory`
    (unless this process already set one and ``$MFSIM_COMPILE_CACHE`` is
    unset); returns the directory in use."""
    os.environ.setdefault("EQX_ON_ERROR", "nan")  # before equinox is imported (module doc)
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current and not os.environ.get(ENV):  # JAX's own setting (its variable, the caller)
        return Path(current)
    directory = cache_directory()
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        warnings.warn(f"compilation cache off: cannot create {directory} ({e.strerror}); "
                      f"set {ENV} to a writable directory, or to 'off'", MfsimWarning,
                      stacklevel=2)
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return directory


def disable_compile_cache() -> None:
    """``--no-compile-cache``: off in this process (JAX's own variable
    included) and in the processes it starts (workers)."""
    import jax

    os.environ[ENV] = "off"
    os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)
    jax.config.update("jax_compilation_cache_dir", None)
