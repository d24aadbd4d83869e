"""Merge a run directory that shards wrote, and report what it holds.

``mfsim merge RUN_DIR`` combines the points that are complete in
``points/`` into ``results.nc``, ``summary.csv``, ``provenance.json`` and the
figures, exactly as a whole run combines them (the same point files give
the same bits), and names the points still missing: their entries are NaN
and their ``status`` is ``missing`` until a rerun of their shard writes
them; merging again is idempotent. ``mfsim status RUN_DIR`` counts the
points done, failed and missing without combining anything.

A merge that finds shards still writing (the directory's lock is held
shared) combines what is complete and leaves their files alone; alone in
the directory, it also drops the parts and checkpoints a finished run no
longer needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import jax

from .._errors import MfsimError, ScenarioError, clean, listing
from .._runner.lock import run_lock
from .._runner.manifest import Manifest
from .._runner.plan import RunPlan, make_plan, needs_float64, solve_label
from .._runner.progress import Mode, Reporter
from .._runner.task_errors import failures
from .._scenario.load import load_scenario
from .._solve.statuses import completed
from .finished import MISSING, RunResult, point_statuses
from .io import recording
from .lazy_xarray import xr
from .points import (
    Outcome,
    point_text,
    read_saved,
    saved_results,
    store,
    write_error,
)
from .results import SCENARIO_FILE, SUBMISSION_FILE


def load_plan(run_dir: str | os.PathLike) -> RunPlan:
    """The plan of the sweep whose run directory is ``run_dir`` (from its
    resolved ``scenario.toml``)."""
    plan = run_plan(run_dir)
    if not plan.sweep:
        raise MfsimError(f"{run_dir}: holds one run, not a sweep: nothing to merge")
    return plan


def run_plan(run_dir: str | os.PathLike) -> RunPlan:
    """The plan of the run (one run or a sweep) whose run directory is
    ``run_dir``, from its resolved ``scenario.toml``."""
    run_dir = Path(run_dir)
    path = run_dir / SCENARIO_FILE
    if not path.is_file():
        raise MfsimError(f"{run_dir}: not an mfsim run directory (no {SCENARIO_FILE})")
    try:
        scenario = load_scenario(path)
    except ScenarioError as e:
        raise MfsimError(f"{run_dir}: its {SCENARIO_FILE} does not load: {e}") from None
    return make_plan(scenario, str(path), out=run_dir, force=False, memory_check=False)


def _placeholder(template: xr.Dataset, flat: int) -> xr.Dataset:
    """A missing point: no values (NaN once combined), status ``missing``."""
    attrs = {}
    for key, value in template.attrs.items():
        if key.endswith("status"):
            attrs[key] = MISSING
        elif key.endswith(("t_final", "num_steps", "t_stop", "step_stop")) or key == "point":
            continue
        else:
            attrs[key] = value
    attrs.update(point=flat, t_final=float("nan"))
    return xr.Dataset(coords={"t": ("t", template["t"].values[:0])}, attrs=attrs)


@dataclass(frozen=True)
class MergeResult:
    """The combined run (``result``) and the labels of the points done,
    failed (done, with a solve that did not succeed) and missing."""

    result: RunResult
    done: tuple[str, ...]
    failed: tuple[str, ...]
    missing: tuple[str, ...]


def incomplete(merged: MergeResult) -> tuple[int, list[str]]:
    """``mfsim merge``'s verdict (and the merge job's, after a job array):
    the exit status (4: points missing, 3: the network failed at some, 0:
    whole) and the lines for stderr naming them, with what completes the
    missing ones (``mfsim submit --resubmit-missing`` for a submitted run)."""
    where, n = clean(str(merged.result.out_dir)), len(merged.result.labels)
    lines = []
    if merged.failed:
        lines.append(f"mfsim: {where}: the network failed at {len(merged.failed)} points: "
                     f"{listing(merged.failed)}")
    if merged.missing:
        again = (f"mfsim submit --resubmit-missing {where} submits their shards again"
                 if (merged.result.out_dir / SUBMISSION_FILE).is_file()
                 else "rerun their shards, then merge again")
        lines.append(f"mfsim: {where}: {len(merged.missing)} of {n} points missing (NaN, "
                     f"status missing, in the results): {listing(merged.missing)}; {again}")
    return (4 if merged.missing else 3 if merged.failed else 0), lines


def merge(run_dir: str | os.PathLike, *, figures: bool = True,
          progress: Mode = "none") -> MergeResult:
    """Combine what the shards of a sweep completed in ``run_dir`` (module docstring)."""
    plan = load_plan(run_dir)
    x64 = jax.enable_x64(True) if needs_float64(plan.scenario) else contextlib.nullcontext()
    with x64:
        try:
            with run_lock(plan.out_dir, shared=True) as hold:
                manifest = Manifest(plan.out_dir,
                                    writer=None if hold.exclusive else f"merge-{os.getpid()}")
                if hold.exclusive:  # no shard is writing: one manifest again
                    manifest.fold()
                with recording(manifest.record):
                    return _merge(plan, manifest, figures=figures, progress=progress,
                                  cleanup=hold.exclusive)
        except OSError as e:
            raise write_error(e, plan.out_dir) from None


def _merge(plan: RunPlan, manifest: Manifest, *, figures: bool, progress: Mode,
           cleanup: bool) -> MergeResult:
    points = plan.points
    reporter = Reporter(plan.where, progress, points=len(points), solves=len(points),
                        sweep=True)
    reporter.set_phase("reading the points")
    saved = saved_results({p.flat_index: plan.point_path(p) for p in points}, points)
    if not saved:
        raise MfsimError(f"{plan.out_dir}: no point is complete yet (0 of {len(points)}); "
                         "run the shards first (mfsim run --shard i/n)")
    template = saved[min(saved)]
    ordered = [saved[p.flat_index] if p.flat_index in saved else
               _placeholder(template, p.flat_index) for p in points]
    outcome = Outcome(ordered, tuple(None for _ in points), frozenset(saved), frozenset(),
                      0.0, 0.0, reporter)
    try:
        result = store(plan, manifest, outcome, figures=figures, cleanup=cleanup)
    finally:
        reporter.close()
    missing = tuple(p.label() for p in points if p.flat_index not in saved)
    failed = tuple(label for label in result.failed if label not in missing)
    done = tuple(p.label() for p in points if p.flat_index in saved)
    return MergeResult(result, done, failed, missing)


@dataclass(frozen=True)
class RunStatus:
    """Points of a sweep's run directory: done (the network's solve
    succeeded), failed (written, the network's solve did not succeed) and
    missing, by label; ``twins_failed``: per twin (``linearized twin``...),
    the points written where its solve did not succeed; ``stopped``: the
    shards (``"1/4"``) whose process stopped with an error, and why
    (:mod:`mfsim._runner.task_errors`)."""

    out_dir: Path
    done: tuple[str, ...]
    failed: tuple[str, ...]
    missing: tuple[str, ...]
    twins_failed: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    stopped: dict[str, str] = dataclasses.field(default_factory=dict)


def run_status(run_dir: str | os.PathLike) -> RunStatus:
    """What ``run_dir`` holds (points read and checksummed, nothing written)."""
    plan = load_plan(run_dir)
    done, failed, missing = [], [], []
    twins: dict[str, list[str]] = {}
    for point in plan.points:
        ds = read_saved(plan.point_path(point), point_text(point))
        if ds is None:
            missing.append(point.label())
            continue
        statuses = point_statuses(ds)
        (done if completed(statuses[""]) else failed).append(point.label())
        for prefix, status in statuses.items():
            if prefix and not completed(status):
                twins.setdefault(solve_label(prefix), []).append(point.label())
    return RunStatus(plan.out_dir, tuple(done), tuple(failed), tuple(missing),
                     {twin: tuple(labels) for twin, labels in twins.items()},
                     failures(plan.out_dir) if missing else {})
