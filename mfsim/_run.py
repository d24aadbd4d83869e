"""Running a scenario: build, simulate, write the run directory."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import xarray as xr

from ._analysis import reference_distance
from ._checkpoint import CheckpointFile
from ._combine import combine_points, summary_rows
from ._errors import Interrupted, MfsimError
from ._results import (
    PROVENANCE_FILE,
    RESULTS_FILE,
    SCENARIO_FILE,
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
from ._scenario.build import build
from ._scenario.load import load_scenario
from ._scenario.memory import preflight
from ._scenario.schema import Scenario
from ._scenario.sweep import SweepPoint, apply_overrides, axes, expand, reference_points
from ._scenario.twins import TWIN_LABELS
from ._solve.batching import Job, run_jobs
from ._solve.core import CompileTimer, SolveSettings, Trajectory
from ._solve.simulate import simulate
from ._system import AbstractParticleSystem

POINTS_DIR = "points"
REFERENCE_DIR = "reference"
SUMMARY_FILE = "summary.csv"


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_scenario` produced.

    ``labels``: the points (``key=value, ...``; one for a run without a
    sweep). ``statuses``: per point, the status of each solve (``""`` the
    network, a twin's variable prefix for the twin); ``t_finals``: the last
    time the network reached. ``trajectories``: the network's trajectory at
    each point solved by this call (``None`` for a point whose results an
    interrupted run had already written and this one reused: ``resumed``).
    ``dataset``: the combined results (sweep axes as dimensions).
    """

    dataset: xr.Dataset
    trajectories: tuple[Trajectory | None, ...]
    labels: tuple[str, ...]
    out_dir: Path
    figures: tuple[Path, ...]
    statuses: tuple[dict[str, str], ...]
    t_finals: tuple[float, ...]
    resumed: tuple[str, ...] = ()

    @property
    def trajectory(self) -> Trajectory | None:
        """The trajectory of a single run (the first point of a sweep)."""
        return self.trajectories[0]

    @property
    def failed(self) -> list[str]:
        """Labels of the points whose network or twin solve failed."""
        return [label for label, statuses in zip(self.labels, self.statuses)
                if any(s != "success" for s in statuses.values())]

    @property
    def succeeded(self) -> bool:
        return not self.failed


def merge_twins(ds: xr.Dataset, twin_trajs: dict[str, Trajectory]) -> xr.Dataset:
    """Add each twin's variables (prefixed) and its gap to the network,
    ``{prefix}gap`` = RMS over training inputs of f_net - f_twin, to ``ds``."""
    for prefix, twin in twin_trajs.items():
        tds = trajectory_to_dataset(twin, prefix=prefix, label=f"{TWIN_LABELS[prefix]}: ")
        ds = xr.merge([ds, tds], join="outer", combine_attrs="no_conflicts", compat="override")
        diff = ds["train_outputs"] - ds[f"{prefix}train_outputs"]
        gap = np.sqrt((diff**2).mean([d for d in diff.dims if d != "t"]))
        desc = f"RMS over training inputs of f_network - f_twin ({TWIN_LABELS[prefix]})"
        ds[f"{prefix}gap"] = gap.assign_attrs(description=desc, long_name=desc)
    return ds


def output_dir(scenario: Scenario, out: str | os.PathLike | None) -> Path:
    """``out`` (the command line's choice, anywhere), else the scenario's
    ``output.dir`` or ``runs/<name>``, which must stay inside the working
    directory (the schema forbids absolute paths and '..'; this also
    follows symbolic links)."""
    if out is not None:
        return Path(out)
    path = Path(scenario.output.dir) if scenario.output.dir is not None else (
        Path("runs") / scenario.name)
    cwd = Path.cwd().resolve()
    if not path.resolve().is_relative_to(cwd):
        key = "output.dir" if scenario.output.dir is not None else "name"
        raise MfsimError(f"{key}: the output directory {str(path)!r} leads outside the "
                         f"working directory ({path.resolve()}); use mfsim run --out")
    return path


def check_output_dir(out_dir: Path, resolved_text: str, *, force: bool) -> None:
    """Refuse to overwrite a run directory that holds a different scenario."""
    if out_dir.exists() and not out_dir.is_dir():
        raise MfsimError(f"{out_dir}: exists and is not a directory")
    previous = out_dir / SCENARIO_FILE
    if force:
        return
    if not previous.exists():
        if out_dir.is_dir() and any(out_dir.iterdir()):
            raise MfsimError(
                f"{out_dir}: exists, is not empty and is not an mfsim run directory (no "
                f"{SCENARIO_FILE}); choose another --out or pass --force to write into it")
        return
    if previous.read_text(encoding="utf-8", errors="replace") != resolved_text:
        raise MfsimError(
            f"{out_dir}: holds the results of a different scenario; "
            "choose another --out or pass --force to overwrite"
        )


def _point_dataset(scenario: Scenario, traj: Trajectory, twins: dict[str, Trajectory],
                   point: SweepPoint | None = None) -> xr.Dataset:
    attrs = {"scenario": scenario.name, "seed": scenario.seed, "dtype": scenario.dtype}
    if point is not None:
        attrs["point"] = point.flat_index
    return merge_twins(trajectory_to_dataset(traj, attrs=attrs), twins)


def _twin_settings(twin, settings: SolveSettings) -> SolveSettings:
    # twins without particles (kernel flows) run on one device under shard=particles
    if settings.shard == "particles" and not isinstance(twin, AbstractParticleSystem):
        return dataclasses.replace(settings, shard="none")
    return settings


def _jobs(points: list[SweepPoint], *, twins: bool = True) -> list[Job]:
    jobs = []
    for point in points:
        b = build(point.scenario)
        jobs.append(Job((point.flat_index, ""), b.system, b.state0, b.monitors, b.settings))
        if twins:
            jobs.extend(Job((point.flat_index, prefix), twin, state0, b.twin_monitors,
                            _twin_settings(twin, b.settings))
                        for prefix, (twin, state0) in b.twins.items())
    return jobs


# attributes every results file carries for provenance; taken off a point's
# results before the points are combined (the combined file carries its own)
_POINT_PROVENANCE = ("python_version", "device_platform", "device_kind", "device_count",
                     "git_commit", "scenario_sha256", "resolved_scenario", "sweep_point")


def _read_saved(path: Path, text: str) -> xr.Dataset | None:
    """The results file ``path`` if it holds the results of the scenario
    ``text`` (an interrupted run's completed point), else None. Files are
    renamed into place once complete, so any file present is whole; one that
    cannot be read, or belongs to another scenario, is solved again."""
    if not path.is_file():
        return None
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception:  # noqa: BLE001 (an unreadable file is recomputed, whatever the cause)
        return None
    if ds.attrs.get("scenario_sha256") != scenario_sha256(text):
        return None
    attrs = {k: v for k, v in ds.attrs.items()
             if k not in _POINT_PROVENANCE and not k.endswith("_version")}
    ds = ds.copy()
    ds.attrs = attrs
    return ds


def _saved_results(path, points: list[SweepPoint]) -> dict[int, xr.Dataset]:
    """Flat index -> results, for the points whose file ``path[flat]`` holds
    their results."""
    found = {p.flat_index: _read_saved(path[p.flat_index], _point_text(p)) for p in points}
    return {flat: ds for flat, ds in found.items() if ds is not None}


def _read_again(saved: dict[int, xr.Dataset], path, point: SweepPoint) -> xr.Dataset:
    """A point's results as on disk (read before, or written by this run)."""
    if point.flat_index in saved:
        return saved[point.flat_index]
    return _read_saved(path[point.flat_index], _point_text(point))


def _point_text(point: SweepPoint) -> str:
    return scenario_toml(point.scenario.model_dump(mode="json"))


def _run_references(refs: list[SweepPoint], out_dir: Path, batch) -> list[xr.Dataset]:
    """Solve the reference runs (networks only) not already in ``reference/``,
    write ``reference/r###.nc``; return every reference's results as read back."""
    path = [out_dir / REFERENCE_DIR / f"r{r.flat_index:03d}.nc" for r in refs]
    saved = _saved_results(path, refs)

    def on_done(job: Job, traj: Trajectory) -> None:
        ref = refs[job.key[0]]
        ds = trajectory_to_dataset(traj, attrs={"reference": ref.label()})
        write_dataset(path[job.key[0]], ds.assign_attrs(
            **provenance_attrs(scenario_text=_point_text(ref), seed=ref.scenario.seed,
                               dtype=ref.scenario.dtype)))

    run_jobs(_jobs(refs, twins=False), on_done, batch=batch,
             skip=frozenset((flat, "") for flat in saved))
    return [_read_again(saved, path, r) for r in refs]


def _progress_bar(total: int, enabled: bool, initial: int = 0):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="point", desc="sweep")


CHECKPOINT_GLOB = "checkpoint-*.npz"


def _prepare_dir(out_dir: Path, resolved_text: str, *, sweep: bool, refs: bool,
                 force: bool) -> None:
    """Create the run directory and mark it as this scenario's (its resolved
    ``scenario.toml``, written before anything is solved). What a previous
    run of another scenario left (``--force``) is removed; what an
    interrupted run of this one completed is kept for resuming, except the
    temporary files of writes a kill cut short. ``force`` starts afresh."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if sweep:
            (out_dir / POINTS_DIR).mkdir(exist_ok=True)
        if refs:
            (out_dir / REFERENCE_DIR).mkdir(exist_ok=True)
    except OSError as e:
        raise MfsimError(f"{out_dir}: cannot create the output directory: {e.strerror}") from None
    previous = out_dir / SCENARIO_FILE
    same = previous.is_file() and previous.read_text(encoding="utf-8",
                                                     errors="replace") == resolved_text
    stale = []
    for sub in (out_dir, out_dir / POINTS_DIR, out_dir / REFERENCE_DIR):
        if sub.is_dir():
            stale += list(sub.glob(".*.tmp"))
            if force or not same:  # another scenario's (or a forced rerun's) points
                stale += [p for p in sub.glob("*") if p.is_file() and (
                    p.match("p*.nc") or p.match("r*.nc") or p.match(CHECKPOINT_GLOB))]
    for p in stale:
        p.unlink(missing_ok=True)
    if not same:
        atomic_write_text(previous, resolved_text)


def plan(scenario: Scenario, source: str, *, memory_check: bool = True
         ) -> tuple[list[SweepPoint], list[SweepPoint], list[int]]:
    """A scenario's sweep points, its reference runs and each point's
    reference, validated (and, with ``memory_check``, checked to fit in
    memory) before anything is built: what ``mfsim check`` checks."""
    points = expand(scenario, source)
    refs, ref_of = reference_points(scenario, points, source)
    if memory_check:
        preflight(points + refs, batch=scenario.sweep.batch, source=source)
    return points, refs, ref_of


def run_scenario(
    scenario: Scenario | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    force: bool = False,
    overrides: dict | None = None,
    figures: bool = True,
    memory_check: bool = True,
) -> RunResult:
    """Run a scenario (object or file path) and write its run directory.

    ``overrides`` replace dotted keys (``{"system.width": 256}``); a list
    value makes that key a sweep axis.

    The directory gets ``scenario.toml`` (first), ``results.nc``,
    ``provenance.json`` and figures; a sweep also gets ``points/`` (each
    point's results, written as soon as the point finishes) and
    ``summary.csv`` (final values, minima and the time of each minimum, per
    point). With ``sweep.reference`` the reference runs are solved first
    (``reference/``) and every point records ``ref_distance``. A failed
    solve still writes everything, with its status and failure time in the
    results.

    Interrupted (SIGINT, SIGTERM: :class:`mfsim.Interrupted`; or killed),
    the same call resumes: the points already written are read back, not
    solved again, and a single run continues from its last checkpoint
    (``output.checkpoint_every``); the results are bitwise those of an
    uninterrupted run. ``force`` discards what the directory holds (another
    scenario's results are never overwritten without it) and solves
    everything again.

    Before anything is built or written, ``memory_check`` compares an
    estimate of the memory the run needs (:mod:`mfsim._scenario.memory`)
    with the device's and refuses a run that cannot fit.
    """
    source = None
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario)
    scenario = apply_overrides(scenario, overrides or {}, source or "<scenario>")
    # a float64 run needs JAX's 64-bit mode: switched on for this call only
    with jax.enable_x64(True) if _needs_float64(scenario) else contextlib.nullcontext():
        return _run_scenario(scenario, source, out=out, progress=progress, force=force,
                             figures=figures, memory_check=memory_check)


def _needs_float64(scenario: Scenario) -> bool:
    s = scenario.sweep
    dtypes = {scenario.dtype, *s.grid.get("dtype", ()), *s.zip.get("dtype", ()),
              s.reference.get("dtype")}
    return "float64" in dtypes and not jax.config.jax_enable_x64


def _run_scenario(scenario: Scenario, source: str | None, *, out, progress: bool, force: bool,
                  figures: bool, memory_check: bool) -> RunResult:
    points, refs, ref_of = plan(scenario, source or "<scenario>", memory_check=memory_check)
    resolved_text = scenario_toml(scenario.model_dump(mode="json"))
    out_dir = output_dir(scenario, out)
    check_output_dir(out_dir, resolved_text, force=force)
    sweep = not scenario.sweep.empty

    jobs = _jobs(points)
    _prepare_dir(out_dir, resolved_text, sweep=sweep, refs=bool(refs), force=force)
    point_path = {p.flat_index: out_dir / POINTS_DIR / f"p{p.flat_index:06d}.nc"
                  for p in points}
    # a sweep's points written by an interrupted run of this scenario
    saved = _saved_results(point_path, points) if sweep else {}
    resumed = set(saved)

    pending = Counter(job.key[0] for job in jobs)  # solves left per point
    done: dict[int, dict[str, Trajectory]] = {p.flat_index: {} for p in points}
    point_ds: dict[int, xr.Dataset] = {}
    bar = _progress_bar(len(points), progress and sweep, initial=len(resumed))

    def on_done(job: Job, traj: Trajectory) -> None:
        flat, prefix = job.key
        done[flat][prefix] = traj
        pending[flat] -= 1
        if pending[flat]:
            return
        trajs = done[flat]
        point = points[flat]
        ds = _point_dataset(point.scenario, trajs[""],
                            {k: v for k, v in trajs.items() if k}, point if sweep else None)
        if refs:
            ref = refs[ref_of[flat]]
            ds = reference_distance(ds, ref_ds[ref_of[flat]], label=ref.label())
        point_ds[flat] = ds
        if sweep:  # persisted as soon as the point is complete, with its own provenance
            write_dataset(point_path[flat], ds.assign_attrs(
                sweep_point=point.label(),
                **provenance_attrs(scenario_text=_point_text(point), seed=point.scenario.seed,
                                   dtype=point.scenario.dtype)))
        if bar is not None:
            bar.update(1)

    CompileTimer.listen()
    compile_before, start = CompileTimer.total, time.perf_counter()
    every = scenario.output.checkpoint_every
    try:
        # the reference runs first: each point's distance to its reference is then
        # part of the point's results as soon as the point finishes
        ref_ds = _run_references(refs, out_dir, scenario.sweep.batch) if refs else []
        if sweep:
            run_jobs(jobs, on_done, batch=scenario.sweep.batch,
                     skip=frozenset(job.key for job in jobs if job.key[0] in resumed))
        else:
            for job in jobs:  # one run: the network shows a progress bar of its solve
                name = job.key[1].rstrip("_") or "network"
                on_done(job, simulate(
                    job.system, job.state0, job.settings, monitors=job.monitors,
                    progress=progress and job.key[1] == "", checkpoint_every=every,
                    checkpoint=CheckpointFile(out_dir / f"checkpoint-{name}.npz") if every else None,
                    checkpoint_tag=resolved_text))
    except KeyboardInterrupt:
        if sweep:
            what = f"{len(resumed) + len(point_ds)} of {len(points)} points saved"
        else:
            what = "solved segments checkpointed" if every else "nothing saved"
        raise Interrupted(f"{source or out_dir}: interrupted; {what} in {out_dir}; run the "
                          "same command again to resume") from None
    finally:
        if bar is not None:
            bar.close()
    solve_time = time.perf_counter() - start
    compile_time = CompileTimer.total - compile_before

    if sweep:  # every point as written: resumed and uninterrupted runs combine the same bits
        ordered = [_read_again(saved, point_path, p) for p in points]
    else:
        ordered = [point_ds[p.flat_index] for p in points]
    statuses = tuple({k.removesuffix("status"): str(v) for k, v in ds.attrs.items()
                      if k.endswith("status")} for ds in ordered)
    t_finals = tuple(float(ds.attrs["t_final"]) for ds in ordered)
    trajs = tuple(done[p.flat_index].get("") for p in points)
    if sweep:
        ax = axes(scenario)
        coords = {}
        for a in ax:
            for key, values in zip(a.keys, a.values):
                name = a.dim if key == a.keys[0] else key.split(".")[-1]
                coords[name] = (a.dim, values)
        ds = combine_points(ordered, [a.dim for a in ax], [a.size for a in ax], coords)
        write_csv(out_dir / SUMMARY_FILE,
                  summary_rows(ordered, [p.overrides for p in points]))
    else:
        ds = ordered[0]
    seed_swept = "seed" in scenario.sweep.grid or "seed" in scenario.sweep.zip
    ds = ds.assign_attrs(provenance_attrs(
        scenario_text=resolved_text, seed=None if seed_swept else scenario.seed,
        dtype=scenario.dtype))
    write_dataset(out_dir / RESULTS_FILE, ds)
    labels = tuple(p.label() for p in points)
    result = RunResult(dataset=ds, trajectories=trajs, labels=labels, out_dir=out_dir,
                       figures=(), statuses=statuses, t_finals=t_finals,
                       resumed=tuple(labels[i] for i in sorted(resumed)))
    failed = result.failed
    if sweep:
        status = "success" if not failed else f"{len(failed)} of {len(points)} points failed"
        stats = {"points": len(points), "failed_points": failed, "resumed_points": len(resumed),
                 "wall_time": solve_time, "compile_time": compile_time}
        t_final = min(t_finals)
    else:
        status, stats, t_final = statuses[0][""], trajs[0].stats, t_finals[0]
    write_json(
        out_dir / PROVENANCE_FILE,
        provenance(seed=scenario.seed, dtype=scenario.dtype, status=status, t_final=t_final,
                   stats=stats, scenario_text=resolved_text, source=source),
    )
    if figures:
        result = dataclasses.replace(
            result, figures=draw_figures(ds, out_dir, scenario.name, scenario.output.figures))
    for path in out_dir.glob(CHECKPOINT_GLOB):  # the results are complete: drop them
        path.unlink(missing_ok=True)
    return result


def run(scenario: Scenario | dict | str | os.PathLike, *, out: str | os.PathLike | None = None,
        progress: bool = False, force: bool = False, **overrides) -> xr.Dataset:
    """Run a scenario and return its results as one xarray Dataset.

    ``scenario``: a file path, a :class:`Scenario`, or a dict shaped like the
    TOML file. Keyword arguments override keys, ``__`` standing for the dot:
    ``mfsim.run("scenarios/quickstart.toml", system__width=[64, 256], seed=3)``
    (a list makes the key a sweep axis, exactly as ``--set`` does).

    With ``out`` the run directory (results, resolved scenario, provenance,
    figures) is written there, as by ``mfsim run --out``; without it nothing
    is kept on disk.
    """
    if isinstance(scenario, dict):
        from ._scenario.load import validate_scenario

        scenario = validate_scenario(scenario)
    dotted = {key.replace("__", "."): value for key, value in overrides.items()}
    if out is not None:
        return run_scenario(scenario, out=out, progress=progress, force=force,
                            overrides=dotted).dataset
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mfsim-run-") as tmp:
        return run_scenario(scenario, out=tmp, progress=progress, overrides=dotted,
                            figures=False).dataset


def inside(out_dir: Path, name: str) -> Path:
    """``out_dir / name`` for a plain file name (figure names come from
    variable and sweep-axis names): never a path that leaves ``out_dir``."""
    if not _FILE_NAME.fullmatch(name) or name.startswith("."):
        raise MfsimError(f"{out_dir}: refusing to write a file named {name!r}")
    return out_dir / name


_FILE_NAME = re.compile(r"[A-Za-z0-9_.=+-]+")


def draw_figures(ds: xr.Dataset, out_dir: Path, title: str, formats) -> tuple[Path, ...]:
    """The figures drawn after every run (and by ``mfsim plot``)."""
    from .plotting import (
        numeric_sweep_axes,
        phase_axes,
        plot_losses,
        plot_particles,
        plot_phase_diagram,
        plot_series,
        plot_spectral_bias,
        plot_sweep_summary,
        scalar_variables,
        series_variables,
    )

    figures = [plot_losses(ds, inside(out_dir, f"loss.{fmt}"), title=title) for fmt in formats]
    for name in scalar_variables(ds) + series_variables(ds):
        figures += [plot_series(ds, name, inside(out_dir, f"{name}.{fmt}"), title=title)
                    for fmt in formats]
    if "fourier_progress" in ds:
        figures += [plot_spectral_bias(ds, inside(out_dir, f"spectral_bias.{fmt}"), title=title)
                    for fmt in formats]
    if "particles" in ds:
        figures += [plot_particles(ds, inside(out_dir, f"particles.{fmt}"), title=title)
                    for fmt in formats]
    for dim in numeric_sweep_axes(ds):
        figures += [plot_sweep_summary(ds, dim, inside(out_dir, f"vs_{dim}.{fmt}"), title=title)
                    for fmt in formats]
    phase = phase_axes(ds)
    if len(phase) == 2:
        x, y = phase
        figures += [plot_phase_diagram(ds, x, y, inside(out_dir, f"phase_{x}_{y}.{fmt}"), title=title)
                    for fmt in formats]
    return tuple(figures)
