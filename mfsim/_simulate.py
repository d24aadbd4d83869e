"""simulate(): one compiled diffrax solve of a system, with monitors."""

from __future__ import annotations

import time
from collections.abc import Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree

from ._monitors.base import AbstractMonitor, Reference
from ._save_times import save_times as make_save_times
from ._save_times import snap_to_steps
from ._solvers import make_solver
from ._system import AbstractSystem


class Trajectory(eqx.Module):
    """The outcome of :func:`simulate`.

    - ``ts``: save times ``(T,)``; entries never reached are ``inf``.
    - ``values``: monitor name -> array with leading axis ``T``.
    - ``descriptions``: monitor name -> one-line description.
    - ``final_state``: the state at ``t_final``.
    - ``t_final``: the last time reached (``t1`` on success).
    - ``status``: ``"success"``, or the solver's reason for stopping.
    - ``stats``: ``num_steps``, ``num_accepted_steps``, ``num_rejected_steps``,
      ``wall_time`` and ``compile_time`` (seconds; compile time includes tracing).
    """

    ts: Array
    values: dict[str, Array]
    final_state: PyTree
    t_final: Array
    status: str = eqx.field(static=True)
    descriptions: dict[str, str] = eqx.field(static=True)
    stats: dict = eqx.field(static=True)

    @property
    def succeeded(self) -> bool:
        return self.status == "success"

    @property
    def n_saved(self) -> int:
        """Number of save times actually reached."""
        return int(np.sum(np.isfinite(np.asarray(self.ts))))


def _is_key(x) -> bool:
    if not isinstance(x, jax.Array):
        return False
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return True
    return x.dtype == jnp.uint32 and x.shape == (2,)


@eqx.filter_jit
def _solve(system, y0, ts, t0, t1, dt0, monitors, solver, controller, max_steps, progress):
    ref = Reference(system=system, state0=y0)

    def record(t, y, args):
        out = {}
        for monitor in monitors:
            out.update(monitor(t, y, ref))
        return out

    saveat = diffrax.SaveAt(
        subs=[diffrax.SubSaveAt(ts=ts, fn=record), diffrax.SubSaveAt(t1=True)]
    )
    meter = diffrax.TqdmProgressMeter() if progress else diffrax.NoProgressMeter()
    return diffrax.diffeqsolve(
        diffrax.ODETerm(system.vector_field),
        solver,
        t0=t0,
        t1=t1,
        dt0=dt0,
        y0=y0,
        saveat=saveat,
        stepsize_controller=controller,
        max_steps=max_steps,
        throw=False,
        progress_meter=meter,
    )


class _CompileTimer:
    """Sums JAX's compile-event durations (trace, lower, backend compile)."""

    total = 0.0
    _registered = False

    @classmethod
    def listen(cls):
        if not cls._registered:
            jax.monitoring.register_event_duration_secs_listener(cls._on_event)
            cls._registered = True

    @classmethod
    def _on_event(cls, name, duration, **kwargs):
        if name.startswith("/jax/core/compile/"):
            cls.total += duration


def simulate(
    system: AbstractSystem,
    state_or_key,
    *,
    t1: float,
    t0: float = 0.0,
    solver: str = "tsit5",
    dt: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    adaptive: bool | None = None,
    save_times: Sequence[float] | Array | None = None,
    n_save: int = 101,
    monitors: Sequence[AbstractMonitor] = (),
    max_steps: int = 100_000,
    progress: bool = False,
) -> Trajectory:
    """Integrate ``system`` from ``t0`` to ``t1`` in one compiled diffrax solve.

    **Arguments:**

    - ``system``: an :class:`AbstractSystem`.
    - ``state_or_key``: an initial state, or a PRNG key (or an integer seed)
      passed to ``system.init``.
    - ``t1``, ``t0``: the time interval.
    - ``solver``: ``euler``, ``heun``, ``tsit5``, ``dopri5``, ``dopri8``, ``kvaerno5``.
    - ``dt``: the step of fixed-step solvers (``euler``: gradient descent with
      learning rate ``tau * dt``); the initial step of adaptive ones (``None``:
      chosen automatically).
    - ``rtol``, ``atol``: tolerances of the PID step-size controller.
    - ``adaptive``: ``False`` runs an adaptive-capable solver at fixed ``dt``.
    - ``save_times``: where monitors are evaluated (default: ``n_save`` evenly
      spaced times; see :func:`mfsim.save_times` for log spacing). For
      fixed-step solves they are rounded to the step grid so that saved values
      are exact iterates.
    - ``monitors``: :class:`AbstractMonitor` instances.
    - ``max_steps``: the solve stops (status says so) after this many steps.
    - ``progress``: show a progress bar (tqdm) during the solve.

    **Returns:** a :class:`Trajectory`. A failed solve (max steps, non-finite
    values, step-size collapse) does not raise: its status says why, and the
    values saved before the failure are kept.

    The run's dtype is the dtype of the initial state (a system initialized
    from float32 data gives a float32 run); times are cast to it.
    """
    diffrax_solver, controller, dt0 = make_solver(
        solver, dt=dt, rtol=rtol, atol=atol, adaptive=adaptive
    )
    if isinstance(state_or_key, int) and not isinstance(state_or_key, bool):
        state_or_key = jax.random.key(state_or_key)
    y0 = system.init(state_or_key) if _is_key(state_or_key) else state_or_key
    leaves = [x for x in jax.tree.leaves(y0) if eqx.is_inexact_array(x)]
    dtype = leaves[0].dtype if leaves else jnp.result_type(float)
    ts = np.asarray(make_save_times(t1, n_save, t0=t0) if save_times is None else save_times)
    if isinstance(controller, diffrax.ConstantStepSize):
        ts = snap_to_steps(ts, t0, dt0)
    if ts.ndim != 1 or ts.size == 0 or ts[0] < t0 or ts[-1] > t1 or np.any(np.diff(ts) < 0):
        raise ValueError(f"save_times must be non-decreasing within [t0, t1] = [{t0}, {t1}]")
    cast = lambda x: None if x is None else jnp.asarray(x, dtype)  # noqa: E731
    _CompileTimer.listen()
    compile_before = _CompileTimer.total
    start = time.perf_counter()
    sol = _solve(
        system, y0, cast(ts), cast(t0), cast(t1), cast(dt0), tuple(monitors),
        diffrax_solver, controller, int(max_steps), bool(progress),
    )
    jax.block_until_ready(sol.ys)
    wall = time.perf_counter() - start
    values, final = sol.ys
    descriptions = {}
    for monitor in monitors:
        descriptions.update(monitor.descriptions())
    ok = bool(sol.result == diffrax.RESULTS.successful)
    stats = {k: int(v) for k, v in sol.stats.items() if k != "max_steps"}
    stats.update(wall_time=wall, compile_time=_CompileTimer.total - compile_before)
    return Trajectory(
        ts=sol.ts[0],
        values=values,
        final_state=jax.tree.map(lambda x: x[0], final),
        t_final=sol.ts[1][0],
        status="success" if ok else diffrax.RESULTS[sol.result],
        descriptions=descriptions,
        stats=stats,
    )
