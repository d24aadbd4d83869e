"""Imports that overlap a solve: a run's figures need matplotlib (~0.5 s of
imports), and a compiled solve runs without the interpreter's lock, so a
background thread can import meanwhile (``mfsim run --timings``: the figures
phase; bench/NOTES.md).

Importing during the solve's *tracing* would not help: tracing is Python and
holds the lock, so the two would take turns. The thread therefore waits
until a long trace (at least :data:`LONG_TRACE` seconds: a solve, not one of
the small eager computations around it) has been compiled, which JAX's
compile events tell, and imports then. A run whose solves never trace that
long imports where it draws, as without this; a failed import here is
silent and fails again, with its message, where the figures are drawn.
"""

from __future__ import annotations

import functools
import importlib
import threading

import jax

#: what drawing the figures imports
FIGURE_MODULES = ("mfsim.plotting", "matplotlib.figure", "matplotlib.backends.backend_agg",
                  "matplotlib.collections", "matplotlib.ticker", "matplotlib.font_manager")
#: what storing the results imports (mfsim._store.lazy_xarray)
STORE_MODULES = ("xarray",)
#: seconds of tracing that mark a solve's compile (the quickstart's: ~1 s)
LONG_TRACE = 0.25
TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class _SolveWatch:
    """A listener of JAX's compile events (jax.monitoring): ``compiled`` is set
    once a trace of at least :data:`LONG_TRACE` seconds has been compiled."""

    def __init__(self):
        self.long_trace = False
        self.compiled = threading.Event()

    def __call__(self, event: str, duration: float, **kwargs) -> None:
        if event == TRACE_EVENT and duration >= LONG_TRACE:
            self.long_trace = True
        elif event == COMPILE_EVENT and self.long_trace:
            self.compiled.set()  # the solve runs now


@functools.cache
def _watch() -> _SolveWatch:
    watch = _SolveWatch()
    jax.monitoring.register_event_duration_secs_listener(watch)
    return watch


def _import_all(compiled: threading.Event, modules: tuple[str, ...]) -> None:
    compiled.wait()
    try:
        for name in modules:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - reported again where the modules are used
        return


def preload_during_solve(modules: tuple[str, ...]) -> None:
    """Import ``modules`` on a daemon thread once a solve has compiled
    (module docstring)."""
    threading.Thread(target=_import_all, args=(_watch().compiled, modules),
                     name="mfsim-preload", daemon=True).start()
