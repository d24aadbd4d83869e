"""Store a run: point files, combined results, summary, provenance, figures.

Every file is written atomically (:mod:`mfsim._store.io`); a point's file carries
its scenario's SHA-256, so a rerun reads back exactly the points of this
scenario that an interrupted run completed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import MfsimError, RecomputedWarning
from .._monitors.variable import Variable, hidden
from .._runner.manifest import Manifest
from .._runner.plan import PARTS_DIR, POINTS_DIR, REFERENCE_DIR, RunPlan, solve_label, solve_name
from .._runner.progress import Reporter
from .._runner.timings import Timings
from .._scenario.keys import key_shown
from .._scenario.solvers.optax import OptaxTable
from .._scenario.sweep import SweepPoint, axes
from .._scenario.twins import TWIN_LABELS, TWIN_LEGENDS
from .._solve.core import Trajectory
from .combine import combine_points, summary_rows
from .crossover import CrossoverSpec, crossover
from .finished import (
    RunResult,
    file_digests,
    finished_run,
    point_statuses,
    points_record,
    solve_ends,
)
from .lazy_xarray import xr
from .results import (
    PROVENANCE_FILE,
    RESULTS_FILE,
    SCENARIO_FILE,
    STEP_ATTRS,
    atomic_write_text,
    provenance,
    provenance_attrs,
    scenario_sha256,
    scenario_toml,
    trajectory_to_dataset,
    write_csv,
    write_dataset,
    write_json,
)

SUMMARY_FILE = "summary.csv"
CHECKPOINT_GLOB = "checkpoint-*.npz"


@dataclass(frozen=True)
class Outcome:
    """What the solves produced: each point's results (``ordered``; for a
    sweep as written to disk), the network's trajectory per point solved now
    (``None`` where it was read back), the flat indices of the points
    resumed, the (flat index, prefix) of each solve of an unfinished point
    read back, timings, and the run's progress reporter (still open: the
    results and figures are still to be written)."""

    ordered: list[xr.Dataset]
    trajectories: tuple
    resumed: frozenset
    reused: frozenset
    solve_time: float
    compile_time: float
    reporter: Reporter
    store_time: float = 0.0  # of solve_time: turning solves into datasets and writing them


def write_error(e: OSError, out_dir: Path) -> MfsimError:
    """A full disk, a read-only directory: one line naming the file; what was written is kept."""
    return MfsimError(f"{e.filename or out_dir}: cannot write: {e.strerror or e}; the files "
                      f"written before are kept in {out_dir}")


def solve_dataset(traj: Trajectory, prefix: str, point: SweepPoint, *,
                  sweep: bool) -> xr.Dataset:
    """One solve's results: the network's (``prefix`` ``""``, with the
    point's attributes) or a twin's (every variable and attribute prefixed).
    A fixed-step solve also gets the coordinate ``step`` (steps taken at
    each save time), to plot against steps."""
    scenario = point.scenario
    if prefix:
        ds = trajectory_to_dataset(traj, prefix=prefix, label=f"{TWIN_LABELS[prefix]}: ",
                                   system=TWIN_LEGENDS[prefix])
    else:
        attrs = {"scenario": scenario.name, "seed": scenario.seed, "dtype": scenario.dtype}
        if sweep:
            attrs["point"] = point.flat_index
        ds = trajectory_to_dataset(traj, attrs=attrs)
    if scenario.solver.fixed:  # gradient descent: the step count at each save
        # (-1 at save times a failed solve did not reach: their t is inf)
        t = np.asarray(ds["t"].values, np.float64)
        reached = np.isfinite(t)
        step = np.where(reached, np.rint(np.where(reached, t, 0) / scenario.solver.dt),
                        -1).astype(np.int64)
        ds = ds.assign_coords(step=("t", step, STEP_ATTRS))
        for key in [k for k in ds.attrs if k.endswith("t_stop")]:  # the step it stopped after
            ds.attrs[key.removesuffix("t_stop") + "step_stop"] = int(
                np.rint(ds.attrs[key] / scenario.solver.dt))
    return ds


def time_axis(scenario) -> str:
    """The time unit the run's dynamics define, drawn on every figure of it:
    ``"step"`` for gradient descent, ``"sgd_step"`` for mini-batch SGD (steps
    too, so labelled), ``"t"`` for a flow,
    ``"eta_alpha"`` for online SGD (``t = eta alpha``, alpha = examples /
    input dimension). A noisy flow (Langevin, the SDE of SGD) is drawn against
    t whatever its solver's steps: its time is the SDE's."""
    solver, noise = scenario.solver, scenario.noise
    batched = isinstance(solver, OptaxTable)  # the optimizers' batches
    if batched and solver.online:
        return "eta_alpha"
    noisy = bool(noise.temperature) or noise.sgd_learning_rate is not None
    if solver.fixed and not noisy:
        return "sgd_step" if batched and solver.batch_size is not None else "step"
    return "t"


def with_critical_point(ds: xr.Dataset, cp) -> xr.Dataset:
    """The network's results with the critical point its final state was
    polished to (:func:`mfsim.polish`): its Hessian's eigenvalues
    (``critical_eigenvalues``) and, as attributes, its gradient norm, index,
    flat directions, kind and method."""
    desc = ("eigenvalues of the objective's Hessian at the polished critical point, ascending"
            + ("" if cp.dense else " (the bottom and top k)"))
    ds = ds.assign(critical_eigenvalues=xr.Variable(
        ("critical_index",), np.asarray(cp.eigenvalues), hidden(
            desc, "Hessian eigenvalue at the critical point", symbol="$\\lambda_i(\\nabla^2 J)$"
        ).attrs()))
    return ds.assign_attrs(critical_grad_norm=float(cp.grad_norm),
                           critical_start_grad_norm=float(cp.start_grad_norm),
                           critical_index=int(cp.index), critical_flat=int(cp.flat),
                           critical_kind=cp.kind, critical_method=cp.method,
                           critical_converged=int(cp.converged))


def merge_twins(ds: xr.Dataset, twins: dict[str, xr.Dataset]) -> xr.Dataset:
    """Add each twin's results (:func:`solve_dataset`) and its gap to the
    network, ``{prefix}gap`` = RMS over training inputs of f_net - f_twin,
    to the network's ``ds``, in the order of ``twins``. Solves that stopped
    at different times (a diverged network or twin) are joined over the
    union of their save times; the ``step`` coordinate of gradient descent
    is the union of theirs."""
    if not twins:
        return ds
    steps = [d["step"] for d in (ds, *twins.values()) if "step" in d.coords]
    ds = ds.drop_vars("step", errors="ignore")
    for prefix, twin in twins.items():
        ds = xr.merge([ds, twin.drop_vars("step", errors="ignore")], join="outer",
                      combine_attrs="no_conflicts", compat="override")
        if f"{prefix}train_outputs" not in ds:  # a theory twin (order parameters)
            continue
        diff = ds["train_outputs"] - ds[f"{prefix}train_outputs"]
        gap = np.sqrt((diff**2).mean([d for d in diff.dims if d != "t"]))
        gap.attrs = {}  # not the twin's outputs' (it would read as that twin's variable)
        ds[f"{prefix}gap"] = gap.assign_attrs(Variable(
            f"RMS over training inputs of f_network - f_twin ({TWIN_LABELS[prefix]})",
            f"gap to the {TWIN_LEGENDS[prefix]}", "$\\|f - f_{twin}\\|_{rms}$", scale="log",
            rank=5).attrs())
    if steps:
        step = functools.reduce(lambda a, b: a.combine_first(b), steps)
        ds = ds.assign_coords(step=step.reindex(t=ds["t"]).astype(np.int64).assign_attrs(
            steps[0].attrs))
    return ds


# attributes every results file carries for provenance; taken off a point's
# results before the points are combined (the combined file carries its own)
_POINT_PROVENANCE = ("python_version", "device_platform", "device_kind", "device_count",
                     "git_commit", "scenario_sha256", "resolved_scenario", "sweep_point",
                     "content_sha256")


def content_sha256(ds: xr.Dataset) -> str:
    """SHA-256 of a dataset's numbers: every variable and coordinate (name,
    dims, dtype, shape, values), as they read back from netCDF."""
    h = hashlib.sha256(b"mfsim-content-1")
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        values = np.asarray(var.values)
        h.update(f"|{name}|{var.dims}|{values.shape}|".encode())
        if values.dtype.kind in "OUS":  # strings: by value (netCDF may change their dtype)
            h.update(repr([str(x) for x in values.ravel()]).encode())
        else:
            h.update(values.dtype.str.encode())
            h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def read_saved(path: Path, text: str) -> xr.Dataset | None:
    """The results file ``path`` if it holds the results of the scenario
    ``text`` (an interrupted run's completed point), else None. Files are
    renamed into place once complete, so a file present is whole unless
    something changed it since: one that cannot be read, or whose numbers fail
    its checksum, is solved again (with a :class:`RecomputedWarning`); one of
    another scenario is solved again silently."""
    if not path.is_file():
        return None
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception:  # noqa: BLE001 (an unreadable file is recomputed, whatever the cause)
        warnings.warn(RecomputedWarning(f"{path}: unreadable; solved again"), stacklevel=2)
        return None
    if ds.attrs.get("scenario_sha256") != scenario_sha256(text):
        return None
    if ds.attrs.get("content_sha256") != content_sha256(ds):
        warnings.warn(RecomputedWarning(f"{path}: its numbers do not match its checksum; "
                                        "solved again"), stacklevel=2)
        return None
    attrs = {k: v for k, v in ds.attrs.items()
             if k not in _POINT_PROVENANCE and not k.endswith("_version")}
    ds = ds.copy()
    ds.attrs = attrs
    return ds


def saved_results(path, points: list[SweepPoint]) -> dict[int, xr.Dataset]:
    """Flat index -> results, for the points whose file ``path[flat]`` holds
    their results."""
    found = {p.flat_index: read_saved(path[p.flat_index], point_text(p)) for p in points}
    return {flat: ds for flat, ds in found.items() if ds is not None}


def read_again(saved: dict[int, xr.Dataset], path, point: SweepPoint) -> xr.Dataset:
    """A point's results as on disk (read before, or written by this run)."""
    if point.flat_index in saved:
        return saved[point.flat_index]
    return read_saved(path[point.flat_index], point_text(point))


def point_text(point: SweepPoint) -> str:
    return scenario_toml(point.scenario.model_dump(mode="json"))


def _write_checked(path: Path, ds: xr.Dataset) -> None:
    """Write ``ds`` with the checksum of its numbers (verified when read back)."""
    write_dataset(path, ds.assign_attrs(content_sha256=content_sha256(ds)))


def write_point(plan: RunPlan, point: SweepPoint, ds: xr.Dataset) -> None:
    """A sweep point's results, persisted as soon as it is complete, with its
    own provenance."""
    _write_checked(plan.point_path(point), ds.assign_attrs(
        sweep_point=point.label(),
        **provenance_attrs(scenario_text=point_text(point), seed=point.scenario.seed,
                           dtype=point.scenario.dtype)))


def write_part(plan: RunPlan, point: SweepPoint, prefix: str, ds: xr.Dataset) -> xr.Dataset:
    """Persist one finished solve of a point with twins (before the point is
    complete) and return it as read back: what a resumed run would read."""
    path = plan.part_path(point, prefix)
    path.parent.mkdir(exist_ok=True)
    text = point_text(point)
    _write_checked(path, ds.assign_attrs(scenario_sha256=scenario_sha256(text)))
    again = read_saved(path, text)
    if again is None:
        raise MfsimError(f"{path}: written but not read back the same")
    return again


def reference_dataset(ref: SweepPoint, traj: Trajectory) -> xr.Dataset:
    """A reference run's results, as written to and read back from ``reference/``."""
    return trajectory_to_dataset(traj, attrs={"reference": ref.label()})


def write_reference(plan: RunPlan, ref: SweepPoint, traj: Trajectory) -> None:
    ds = reference_dataset(ref, traj)
    _write_checked(plan.reference_path(ref), ds.assign_attrs(
        **provenance_attrs(scenario_text=point_text(ref), seed=ref.scenario.seed,
                           dtype=ref.scenario.dtype)))


def prepare_dir(plan: RunPlan, manifest: Manifest, *, force: bool, tidy: bool = True) -> None:
    """Create the run directory and mark it as this scenario's (its resolved
    ``scenario.toml``, written before anything is solved). What a previous
    run of another scenario wrote (``--force``) is removed; what an
    interrupted run of this one completed is kept for resuming, except the
    temporary files of writes a kill cut short. ``force`` starts afresh.
    Only files the manifest names are removed. Without ``tidy`` (other
    shards are writing here) nothing is removed: the directory must already
    be this scenario's."""
    out_dir = plan.out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for sub, needed in ((POINTS_DIR, plan.sweep), (REFERENCE_DIR, bool(plan.refs))):
            if needed:
                (out_dir / sub).mkdir(exist_ok=True)
    except OSError as e:
        raise MfsimError(f"{out_dir}: cannot create the output directory: {e.strerror}") from None
    previous = out_dir / SCENARIO_FILE
    same = previous.is_file() and previous.read_text(encoding="utf-8",
                                                     errors="replace") == plan.resolved_text
    if not tidy:
        if force or not same:
            raise MfsimError(f"{out_dir}: other shards of {'this' if same else 'another'} "
                             "scenario are writing here; wait for them to finish"
                             + (" before --force" if force else ""))
        return
    if force or not same:  # another scenario's (or a forced rerun's) files
        manifest.remove_all(keep=frozenset({SCENARIO_FILE}))
    else:
        manifest.remove_temporaries()
    if not same:
        atomic_write_text(previous, plan.resolved_text)


def store(plan: RunPlan, manifest: Manifest, outcome: Outcome, *, figures: bool,
          cleanup: bool = True, timings: Timings | None = None, persist: bool = True
          ) -> RunResult:
    """Combine the points (each as written to disk for a sweep: resumed and
    uninterrupted runs combine the same bits), write ``results.nc``,
    ``summary.csv``, ``provenance.json`` and the figures, and (``cleanup``)
    drop the checkpoints and the parts of solves (the results are complete).
    ``timings``: the run's clock (:mod:`mfsim._runner.timings`), its
    ``store`` and ``figures`` phases added here and recorded in the
    provenance. Without ``persist`` (a directory discarded afterwards) the
    result is only returned: no file is written."""
    timings = Timings() if timings is None else timings
    begin = time.perf_counter()
    scenario, out_dir, points = plan.scenario, plan.out_dir, plan.points
    ordered, trajectories, resumed = outcome.ordered, outcome.trajectories, outcome.resumed
    outcome.reporter.set_phase("writing the results")
    statuses = tuple(point_statuses(ds) for ds in ordered)
    t_finals = tuple(float(ds.attrs["t_final"]) for ds in ordered)
    ds = _combined(plan, ordered, persist) if plan.sweep else ordered[0]
    seed_swept = "seed" in scenario.sweep.grid or "seed" in scenario.sweep.zip
    ds = ds.assign_attrs(provenance_attrs(
        scenario_text=plan.resolved_text, seed=None if seed_swept else scenario.seed,
        dtype=scenario.dtype), time_axis=time_axis(scenario))
    if persist:
        write_dataset(out_dir / RESULTS_FILE, ds)
    labels = tuple(p.label() for p in points)
    result = RunResult(dataset=ds, trajectories=trajectories, labels=labels, out_dir=out_dir,
                       figures=(), statuses=statuses, t_finals=t_finals,
                       resumed=tuple(labels[i] for i in sorted(resumed)),
                       reused=tuple((labels[flat], solve_name(prefix))
                                    for flat, prefix in sorted(outcome.reused)),
                       ends=tuple(solve_ends(d, p.scenario.solver.fixed)
                                  for d, p in zip(ordered, points)), sweep=plan.sweep,
                       solve_labels={prefix: solve_label(prefix)
                                     for statuses_ in statuses for prefix in statuses_})
    if not persist:
        return result
    status, t_final, stats = _run_record(plan, outcome, result)
    if figures:
        outcome.reporter.set_phase("drawing the figures")
        timings.add("store", time.perf_counter() - begin)
        with timings.phase("figures"):
            result = dataclasses.replace(result, figures=draw_figures(
                ds, out_dir, scenario.name, scenario.output.figures))
        begin = time.perf_counter()
    # last: its presence says the directory is complete, and what a rerun
    # reads back and reports (.finished)
    record = provenance(seed=scenario.seed, dtype=scenario.dtype, status=status,
                        t_final=t_final, stats=stats, scenario_text=plan.resolved_text,
                        source=plan.source)
    files = [RESULTS_FILE] + ([str(plan.point_path(p).relative_to(out_dir)) for p in points
                               if plan.point_path(p).is_file()] if plan.sweep else [])
    record.update(points=points_record(result), sweep=plan.sweep,
                  solve_labels=result.solve_labels, input_sha256=plan.input_sha256,
                  files=file_digests(out_dir, files))
    timings.add("store", time.perf_counter() - begin)
    record.update(timings=timings.record())
    write_json(out_dir / PROVENANCE_FILE, record)
    if not cleanup:  # shards are still writing here
        return result
    # the results are complete: drop the checkpoints and the parts
    for path in out_dir.glob(CHECKPOINT_GLOB):
        manifest.remove(path)
    for path in (out_dir / PARTS_DIR).glob("*.nc"):
        manifest.remove(path)
    return result


def _combined(plan: RunPlan, ordered: list[xr.Dataset], persist: bool) -> xr.Dataset:
    """A sweep's points in one dataset over its axes; its ``summary.csv``
    (the final values per point) written beside (``persist``)."""
    scenario = plan.scenario
    ax = axes(scenario)
    coords = {}
    for a in ax:
        for key, values in zip(a.keys, a.values):
            name = a.dim if key == a.keys[0] else key.split(".")[-1]
            coords[name] = (a.dim, values, key_shown(scenario, key))
    ds = combine_points(ordered, [a.dim for a in ax], [a.size for a in ax], coords)
    ds = _with_crossover(ds, scenario, ax)
    if persist:
        write_csv(plan.out_dir / SUMMARY_FILE,
                  summary_rows(ordered, [p.overrides for p in plan.points]))
    return ds


def _with_crossover(ds: xr.Dataset, scenario, ax) -> xr.Dataset:
    """``ds`` with the crossing points its ``[crossover]`` table asks for
    (:func:`mfsim.crossover`), if any."""
    c = scenario.crossover
    if c.variable is None:
        return ds
    dims = {key: a.dim for a in ax for key in a.keys}
    spec = CrossoverSpec(c.variable, dims[c.along], dims[c.across], c.level, c.how,
                         c.predicted_slope)
    return ds.merge(crossover(ds, spec))


def _run_record(plan: RunPlan, outcome: Outcome, result: RunResult) -> tuple:
    """The run's status, final time and statistics for its provenance: a
    sweep's counts its failed points; a single run's is its network's
    solve's. A twin's failure is a result about the twin, listed apart."""
    twins_failed = {solve: [f.point for f in found]
                    for solve, found in result.failures.items() if solve != "network"}
    if plan.sweep:
        failed, n = result.failed, len(plan.points)
        status = "success" if not failed else f"{len(failed)} of {n} points failed"
        stats = {"points": n, "failed_points": failed, "resumed_points": len(outcome.resumed),
                 "wall_time": outcome.solve_time, "compile_time": outcome.compile_time}
        t_final = min(result.t_finals)
    else:
        network = outcome.trajectories[0]
        stats = network.stats if network is not None else {
            "read_back": "the network's solve, from an interrupted run"}
        status, t_final = result.statuses[0][""], result.t_finals[0]
    if twins_failed:  # the network's status is the run's; a twin's is a result about it
        stats = {**stats, "failed_twins": twins_failed}
    return status, t_final, stats


def read_complete(plan: RunPlan) -> RunResult | None:
    """The run ``plan`` as its directory holds it, finished (nothing solved,
    built or drawn), else ``None``: :func:`.finished.finished_run`."""
    return finished_run(plan.out_dir, scenario_sha256=scenario_sha256(plan.resolved_text))


def inside(out_dir: Path, name: str) -> Path:
    """``out_dir / name`` for a plain file name (figure names come from
    variable and sweep-axis names): never a path that leaves ``out_dir``."""
    if not _FILE_NAME.fullmatch(name) or name.startswith("."):
        raise MfsimError(f"{out_dir}: refusing to write a file named {name!r}")
    return out_dir / name


_FILE_NAME = re.compile(r"[A-Za-z0-9_.=+-]+")


def draw_figures(ds: xr.Dataset, out_dir: Path, title: str, formats, *,
                 names=None) -> tuple[Path, ...]:
    """The figures drawn after every run (and by ``mfsim plot``): those
    :func:`mfsim.plotting.plan` chooses from the results' metadata (or those
    of its stems in ``names``), in each format; ``title`` (the scenario's
    name) goes into each file's metadata."""
    from ..plotting import draw_figures as draw

    return draw(ds, lambda stem: [inside(out_dir, f"{stem}.{fmt}") for fmt in formats],
                title=title, names=names)
