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
#: seconds of tracing that mark a solve's compile (the quickstart's: ~1 s)
LONG_TRACE = 0.25

_SOLVE_COMPILED = threading.Event()
_TRACED = {"long": False}


def _traced(duration: float) -> None:
    if duration >= LONG_TRACE:
        _TRACED["long"] = True


def _compiled(duration: float) -> None:
    if _TRACED["long"]:
        _SOLVE_COMPILED.set()  # the solve runs now


# JAX's compile events (jax.monitoring) this module follows
_EVENTS = {"/jax/core/compile/jaxpr_trace_duration": _traced,
           "/jax/core/compile/backend_compile_duration": _compiled}


@functools.cache
def _listen() -> None:
    def on_event(event, duration, **kwargs):
        if event in _EVENTS:
            _EVENTS[event](duration)

    jax.monitoring.register_event_duration_secs_listener(on_event)


def _import_all(modules: tuple[str, ...]) -> None:
    _SOLVE_COMPILED.wait()
    try:
        for name in modules:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - reported again where the modules are used
        return


def preload_during_solve(modules: tuple[str, ...]) -> None:
    """Import ``modules`` on a daemon thread once a solve has compiled
    (module docstring)."""
    _listen()
    threading.Thread(target=_import_all, args=(modules,), name="mfsim-preload",
                     daemon=True).start()
