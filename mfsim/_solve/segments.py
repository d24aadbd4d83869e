"""Checkpointed solves: a long run solved in segments of N save points, with
the state and everything recorded so far written to a checkpoint file after
each segment, so that a killed run resumes from its last segment.

Segment ``k`` runs from the end of segment ``k - 1`` (``t0`` for the first) to
its last save time (``t1`` for the last segment), starting afresh from the
state there: an adaptive solve picks its first step again, a fixed-step solve
goes on on the same grid. Monitors still measure from the run's initial state.
A run is therefore solved identically whether or not it was interrupted
(bitwise: the state crosses a segment boundary through the same bits in
memory or on disk), though not step for step like one unsegmented solve.

What a segmented solve has done is a flat dict of NumPy arrays, tagged with a
SHA-256 of the problem (arrays of the system, state and monitors, times and
solver settings): a checkpoint of another problem is ignored. Where it is
kept is up to the store handed in (:class:`AbstractCheckpointStore`): this
module never touches the disk; :class:`mfsim.CheckpointFile` (an ``.npz``
archive written atomically) is the store of the run directories.
"""

from __future__ import annotations

import abc
import hashlib
import time
from collections.abc import Callable

import equinox as eqx
import jax
import numpy as np

from .._runner.interrupt import check as check_interrupt
from .core import CompileClock, Trajectory, solve, stop_saved
from .core import status as solve_status
from .optimizers import OptaxSolver
from .statuses import STATUS_STOPPED

CHECKPOINT_FORMAT = 1


class AbstractCheckpointStore(abc.ABC):
    """Where a segmented solve keeps its progress between segments."""

    @abc.abstractmethod
    def load(self) -> dict[str, np.ndarray] | None:
        """The arrays saved last, or None (nothing saved, or unreadable)."""

    @abc.abstractmethod
    def save(self, arrays: dict[str, np.ndarray]) -> None:
        """Keep ``arrays`` (replacing what was saved before, all or nothing)."""


def segment_ends(ts: np.ndarray, t0: float, t1: float, every: int) -> np.ndarray:
    """Where segments end: every ``every``-th distinct save time after ``t0``,
    and ``t1``."""
    distinct = np.unique(ts[ts > t0])
    ends = list(distinct[every - 1::every])
    if not ends or ends[-1] < t1:
        ends.append(t1)
    return np.asarray(ends, dtype=float)


def _in_segment(times: np.ndarray, start: float, end: float, first: bool) -> np.ndarray:
    """The times of one segment: (start, end], or [start, end] for the first."""
    return times[(times >= start if first else times > start) & (times <= end)]


def _chunk(times: np.ndarray, start: float, end: float, first: bool, size: int):
    """A segment's times padded with ``end`` to ``size`` entries (equal
    shapes: one compilation), and how many are real."""
    real = _in_segment(times, start, end, first)
    return np.concatenate([real, np.full(size - real.size, end)]), int(real.size)


def _key_bits(key):
    """A key's bits (typed or raw), as a list; None for no key."""
    if key is None:
        return None
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key).tolist()


def problem_digest(system, y0, monitors, numbers: tuple, tag: str = "") -> str:
    """SHA-256 of what determines a solve: every array of the system, initial
    state and monitors, their plain static fields, the times and settings."""
    h = hashlib.sha256(f"mfsim-checkpoint-{CHECKPOINT_FORMAT}|{tag}|{numbers!r}".encode())
    dynamic, static = eqx.partition((system, y0, tuple(monitors)), eqx.is_array)
    for leaf in jax.tree.leaves(dynamic):
        a = np.asarray(leaf)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    plain = [x for x in jax.tree.leaves(static) if isinstance(x, (str, int, float, bool))]
    h.update(repr([type(system).__name__, *(type(m).__name__ for m in monitors), *plain])
             .encode())
    return h.hexdigest()


class _Progress:
    """What a checkpointed run has so far (in memory, and in the checkpoint file)."""

    def __init__(self, n_own: int):
        self.segment = 0  # segments done
        self.ts: list[np.ndarray] = []
        self.values: dict[str, list[np.ndarray]] = {}
        self.own_ts: list[list[np.ndarray]] = [[] for _ in range(n_own)]
        self.steps = {"num_steps": 0, "num_accepted_steps": 0, "num_rejected_steps": 0}
        self.status = "running"
        self.t_final = np.nan
        self.state_leaves: list[np.ndarray] = []
        self.solver_leaves: list[np.ndarray] = []  # an optimizer's state

    def to_arrays(self, digest: str) -> dict[str, np.ndarray]:
        arrays = {"digest": np.asarray(digest), "segment": np.asarray(self.segment),
                  "status": np.asarray(self.status), "t_final": np.asarray(self.t_final)}
        arrays.update({f"steps/{k}": np.asarray(v) for k, v in self.steps.items()})
        arrays.update({f"ts/{i}": t for i, t in enumerate(self.ts)})
        for name, chunks in self.values.items():
            arrays.update({f"values/{name}/{i}": v for i, v in enumerate(chunks)})
        for m, chunks in enumerate(self.own_ts):
            arrays.update({f"own_ts/{m}/{i}": v for i, v in enumerate(chunks)})
        arrays.update({f"state/{i}": v for i, v in enumerate(self.state_leaves)})
        arrays.update({f"solver/{i}": v for i, v in enumerate(self.solver_leaves)})
        return arrays

    def resumed(self, y_init, setup) -> tuple:
        """The state to go on from (``y_init`` before the first segment) and
        an optimizer's state (``None``: a fresh start, or no optimizer)."""
        if self.segment == 0:
            return y_init, None
        y = jax.tree.unflatten(jax.tree.structure(y_init),
                               [jax.numpy.asarray(x) for x in self.state_leaves])
        if not isinstance(setup.solver, OptaxSolver):
            return y, None
        solver_def = jax.tree.structure(setup.solver.init(None, setup.t0, setup.t1, y_init,
                                                          None))
        return y, jax.tree.unflatten(solver_def, [jax.numpy.asarray(x)
                                                  for x in self.solver_leaves])

    def record(self, sol, n_real: int, n_own: list[int], *, last: bool, max_steps: int):
        """Take in a segment's solution (its first ``n_real`` shared saves and
        ``n_own`` of each monitor's own); returns the segment's final state."""
        values, (final, at_end), *own_ys = sol.ys
        status = solve_status(sol.result, final, sol.event_mask)
        ts = np.asarray(sol.ts[0])[:n_real]
        values = {name: np.asarray(v)[:n_real] for name, v in values.items()}
        if status == STATUS_STOPPED:
            ts, values = stop_saved(ts, values, sol.ts[1], at_end)
        self.ts.append(ts)
        for name, v in values.items():
            self.values.setdefault(name, []).append(v)
        for m, (n, own_t, ys) in enumerate(zip(n_own, sol.ts[2:], own_ys)):
            self.own_ts[m].append(np.asarray(own_t)[:n])
            for name, v in ys.items():
                self.values.setdefault(f"own/{m}/{name}", []).append(np.asarray(v)[:n])
        for key in self.steps:
            self.steps[key] += int(sol.stats[key])
        y = jax.tree.map(lambda x: x[0], final)
        self.state_leaves = [np.asarray(x) for x in jax.tree.leaves(y)]
        self.segment += 1
        self.t_final = float(np.asarray(sol.ts[1])[0])
        if status != "success":
            self.status = status
        elif last:
            self.status = "success"
        elif self.steps["num_steps"] >= max_steps:
            self.status = _MAX_STEPS
        return y

    @classmethod
    def from_arrays(cls, z, digest: str, n_own: int) -> _Progress | None:
        """The progress in the arrays ``z`` (a mapping), or None when they
        belong to another problem or are incomplete."""
        try:
            if str(z["digest"]) != digest:
                return None
            p = cls(n_own)
            p.segment, p.status = int(z["segment"]), str(z["status"])
            p.t_final = float(z["t_final"])
            p.steps = {k: int(z[f"steps/{k}"]) for k in p.steps}
            files = list(z.keys())

            def series(prefix):
                keys = sorted((k for k in files if k.startswith(prefix)),
                              key=lambda k: int(k.rsplit("/", 1)[1]))
                return [np.asarray(z[k]) for k in keys]

            p.ts = series("ts/")
            names = {k.removeprefix("values/").rsplit("/", 1)[0] for k in files
                     if k.startswith("values/")}
            p.values = {name: series(f"values/{name}/") for name in sorted(names)}
            p.own_ts = [series(f"own_ts/{m}/") for m in range(n_own)]
            p.state_leaves = series("state/")
            p.solver_leaves = series("solver/")
            return p
        except (ValueError, KeyError):
            return None


def solve_segmented(system, y_init, setup, cast, monitors, *,
                    progress: bool | Callable[[float, float], None],
                    store: AbstractCheckpointStore | None, every: int,
                    tag: str = "", noise_key=None, stop=None) -> Trajectory:
    """Solve in segments of ``every`` save points (see the module docstring),
    saving the progress to ``store`` after each and resuming from it; a
    segment stopped by ``stop`` (a stopping rule) ends the run.
    ``progress``: True for a bar in solver time, or a callable
    ``progress(t_reached, t1)`` called at the start and after each segment."""
    max_steps, divergence = setup.max_steps, setup.divergence
    own_monitors = [m for m in monitors if m.save_times() is not None]
    own = [setup.checked(m.save_times(), f"{type(m).__name__} save times")
           for m in own_monitors]
    ts = setup.ts
    ends = segment_ends(ts, setup.t0, setup.t1, every)
    starts = np.concatenate([[setup.t0], ends[:-1]])
    size = max(_in_segment(ts, a, b, k == 0).size
               for k, (a, b) in enumerate(zip(starts, ends)))
    treedef = jax.tree.structure(y_init)
    digest = problem_digest(system, y_init, monitors, (
        setup.t0, setup.t1, ts.tolist(), [o.tolist() for o in own], repr(setup.solver),
        repr(setup.controller), setup.dt0, max_steps, divergence, every, repr(setup.noise),
        _key_bits(noise_key), None if stop is None else stop.when.describe()), tag)
    n_own = [o.size for o in own]
    saved = None if store is None else store.load()
    state = None if saved is None else _Progress.from_arrays(saved, digest, len(own))
    if state is None:
        state = _Progress(len(own))
    whole = setup.problem(system, y_init, monitors, noise_key=noise_key, stop=stop)
    y, solver_state = state.resumed(y_init, setup)
    carries = isinstance(setup.solver, OptaxSolver)
    compiling, start_time = CompileClock(), time.perf_counter()
    t1 = float(setup.t1)
    reached = float(starts[state.segment]) if state.segment < len(ends) else t1
    bar = _bar(progress, reached, float(setup.t0), t1)
    try:
        for k in range(state.segment, len(ends)):
            if state.status != "running":
                break
            a, b = starts[k], ends[k]
            seg_ts, n_real = _chunk(ts, a, b, k == 0, size)
            seg_own = [_chunk(o, a, b, k == 0, o.size) for o in own]
            sol = solve(whole.segment(y, cast(seg_ts), tuple(cast(t) for t, _ in seg_own),
                                      cast(a), cast(b), y_init, solver_state))
            y = state.record(sol, n_real, [n for _, n in seg_own], last=k + 1 == len(ends),
                             max_steps=max_steps)
            if carries:  # an optimizer's state (step count, momentum) goes on
                solver_state = sol.solver_state
                state.solver_leaves = [np.asarray(x) for x in jax.tree.leaves(solver_state)]
            if store is not None:
                store.save(state.to_arrays(digest))
            if bar is not None:
                bar.update(float(b) - bar.n)
            elif callable(progress):
                progress(float(b), t1)
            check_interrupt()  # a safe point: this segment is saved
    finally:
        if bar is not None:
            bar.close()
    timing = {"wall_time": time.perf_counter() - start_time,
              "compile_time": compiling.seconds,
              "segments": len(ends)}
    return _assemble(state, monitors, ts.size, n_own, treedef, timing)


_MAX_STEPS = "The maximum number of solver steps was reached. Try increasing `max_steps`."


def _bar(progress, reached: float, t0: float, t1: float):
    """``progress``: a callable told the solver time reached (now, at the
    start), or ``True``: a bar in solver time (segments of log-spaced saves
    are uneven), returned; else ``None``."""
    if callable(progress):
        progress(reached, t1)
        return None
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=t1 - t0, initial=reached - t0, desc="solve", unit="t",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| t = {n:.4g} of {total:.4g} "
                "[{elapsed}<{remaining}]")


def _assemble(state: _Progress, monitors, n_ts, n_own, treedef, timing) -> Trajectory:
    """One Trajectory from the segments, shaped like an unsegmented solve's
    (unreached save times ``inf``, their values ``inf``)."""

    def padded(chunks: list[np.ndarray], n: int, like=None) -> np.ndarray:
        if chunks:
            got = np.concatenate(chunks)
        else:
            got = np.zeros((0,) + like.shape[1:], like.dtype)
        # (a stop saved after every save: one more)
        pad = np.full((max(n - got.shape[0], 0),) + got.shape[1:], np.inf, got.dtype)
        return np.concatenate([got, pad])

    values, value_ts = {}, {}
    for key, chunks in state.values.items():
        if key.startswith("own/"):  # a monitor with save times of its own
            _, m, name = key.split("/", 2)
            values[name] = padded(chunks, n_own[int(m)])
            value_ts[name] = padded(state.own_ts[int(m)], n_own[int(m)], np.zeros(0))
        else:
            values[key] = padded(chunks, n_ts)
    variables, dims, coords = {}, {}, {}
    for monitor in monitors:
        variables.update(monitor.variables())
        dims.update(monitor.dims())
        coords.update({k: tuple(np.asarray(v).tolist()) for k, v in monitor.coords().items()})
    final_state = jax.tree.unflatten(treedef, [jax.numpy.asarray(x)
                                               for x in state.state_leaves])
    return Trajectory(
        ts=padded(state.ts, n_ts, np.zeros(0)),
        values=values,
        final_state=final_state,
        t_final=np.asarray(state.t_final),
        status=state.status,
        variables=variables,
        stats={**state.steps, **timing},
        dims=dims,
        coords=coords,
        value_ts=value_ts,
    )
