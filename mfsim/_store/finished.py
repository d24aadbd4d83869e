"""A finished run directory, read back without solving anything, and what
a run produced (:class:`RunResult`).

``provenance.json`` is written last, once the results, summary and figures
are in place: it marks a finished directory, and it records what a rerun
says without reading every point (each point's label, each solve's status
and where it stopped). A rerun of the same scenario finds it by the
scenario's resolved text (``scenario_sha256``) or, before the scenario is
even validated (the command's quick path, without importing JAX), by its
input (``input_sha256``: the scenario file's bytes, the ``--set`` values and
mfsim's own code).

This module imports neither JAX nor the registry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass
from pathlib import Path

from .._solve.statuses import completed
from .results import PROVENANCE_FILE, RESULTS_FILE

if typing.TYPE_CHECKING:
    import xarray as xr

    from .._solve.core import Trajectory

MISSING = "missing"  # a merge's placeholder for a point not solved yet


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
    ``reused``: (point label, solve) for each solve of a point left
    unfinished by an interrupted run that was read back, not solved again
    (``network`` or a twin's name). ``ends``: per point, where each solve
    stopped. ``complete``: the directory held this run, finished, and it was
    read back (nothing solved). ``sweep``: the scenario has a sweep (of one
    point, perhaps). ``solve_labels``: what to call each solve (``lin_`` ->
    ``linearized twin``).
    """

    dataset: xr.Dataset
    trajectories: tuple[Trajectory | None, ...]
    labels: tuple[str, ...]
    out_dir: Path
    figures: tuple[Path, ...]
    statuses: tuple[dict[str, str], ...]
    t_finals: tuple[float, ...]
    resumed: tuple[str, ...] = ()
    reused: tuple[tuple[str, str], ...] = ()
    ends: tuple[dict[str, str], ...] = ()
    complete: bool = False
    sweep: bool = False
    solve_labels: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def trajectory(self) -> Trajectory | None:
        """The trajectory of a single run (the first point of a sweep)."""
        return self.trajectories[0]

    @property
    def failed(self) -> list[str]:
        """Labels of the points whose network solve failed (a twin's failure
        is a result about the twin: :attr:`failures` names it)."""
        return [label for label, statuses in zip(self.labels, self.statuses)
                if not completed(statuses[""])]

    @property
    def succeeded(self) -> bool:
        """Every point's network solve succeeded."""
        return not self.failed

    @property
    def failures(self) -> dict[str, list[SolveFailure]]:
        """The solves that did not succeed, by solve (``network``, then each
        twin in the order solved): which point, why and where it stopped."""
        found: dict[str, list[SolveFailure]] = {}
        for k, (label, statuses) in enumerate(zip(self.labels, self.statuses)):
            for prefix, status in statuses.items():
                if not completed(status):
                    where = self.ends[k].get(prefix, "") if self.ends else ""
                    found.setdefault(prefix, []).append(SolveFailure(label, status, where))
        return {self.solve_label(p): found[p]
                for p in sorted(found, key=lambda p: (p != "", p))}

    def solve_label(self, prefix: str) -> str:
        """``network``, or the twin's name (``linearized twin``)."""
        return "network" if not prefix else self.solve_labels.get(prefix, prefix.rstrip("_"))


@dataclass(frozen=True)
class SolveFailure:
    """One solve that did not succeed: its point's label, its status and
    where it stopped (``step k`` for gradient descent, ``t = x`` for a flow)."""

    point: str
    status: str
    where: str

    @property
    def reason(self) -> str:
        """The status without its explanation: ``diverged``, ``non-finite``..."""
        return self.status.split(" (")[0]


def solve_ends(ds: xr.Dataset, fixed: bool) -> dict[str, str]:
    """Where each solve of a point (``""`` the network, a twin's prefix)
    stopped: at ``step k`` for a fixed-step solver, else at ``t = x``."""
    ends = {}
    for prefix in point_statuses(ds):
        steps, t = ds.attrs.get(f"{prefix}num_steps"), ds.attrs.get(f"{prefix}t_final")
        if fixed and steps is not None:
            ends[prefix] = f"step {int(steps)}"
        elif t is not None:
            ends[prefix] = f"t = {float(t):.6g}"
    return ends


def point_statuses(ds: xr.Dataset) -> dict[str, str]:
    """A point's status per solve: ``""`` the network, a twin's variable prefix."""
    return {k.removesuffix("status"): str(v) for k, v in ds.attrs.items() if k.endswith("status")}


def input_digest(source: str | Path, overrides: dict | None) -> str | None:
    """SHA-256 of what a run was asked for: the scenario file's bytes, the
    ``--set`` values and mfsim's code (:func:`mfsim._store.derived_cache.package_digest`);
    ``None`` when ``source`` is not a readable file."""
    from .derived_cache import package_digest

    try:
        data = Path(source).read_bytes()
    except (OSError, TypeError):
        return None
    h = hashlib.sha256(package_digest().encode())
    h.update(hashlib.sha256(data).digest())
    h.update(json.dumps(overrides or {}, sort_keys=True, default=repr).encode())
    return h.hexdigest()


def file_digests(out_dir: Path, names) -> dict[str, str]:
    """SHA-256 of each file ``out_dir / name`` as it is on disk."""
    return {name: hashlib.sha256((out_dir / name).read_bytes()).hexdigest() for name in names}


def points_record(result: RunResult) -> list[dict]:
    """What provenance.json keeps of each point for a rerun to report."""
    return [{"label": label, "statuses": statuses, "t_final": t_final,
             "ends": result.ends[k] if result.ends else {}}
            for k, (label, statuses, t_final) in enumerate(
                zip(result.labels, result.statuses, result.t_finals))]


def finished_run(out_dir: str | Path, *, scenario_sha256: str | None = None,
                 input_sha256: str | None = None) -> RunResult | None:
    """The run ``out_dir`` holds, when finished and of this scenario (its
    resolved text's or its input's digest, whichever is given), read back;
    else ``None`` (nothing there, another scenario's, interrupted, a merge
    with points missing, unreadable, or a file changed since it was written:
    each file's SHA-256 is in provenance.json, and the run path then finds
    the damage and solves that part again)."""
    import xarray as xr  # noqa: F811 (at run time, here only)

    out_dir = Path(out_dir)
    try:
        written = json.loads((out_dir / PROVENANCE_FILE).read_text(encoding="utf-8"))
        if not isinstance(written, dict):
            return None
        if not ((scenario_sha256 is not None
                 and written.get("scenario_sha256") == scenario_sha256)
                or (input_sha256 is not None and written.get("input_sha256") == input_sha256)):
            return None
        points = written["points"]
        labels = tuple(str(p["label"]) for p in points)
        statuses = tuple({str(k): str(v) for k, v in p["statuses"].items()} for p in points)
        if any(MISSING in s.values() for s in statuses):
            return None
        t_finals = tuple(float(p["t_final"]) for p in points)
        ends = tuple({str(k): str(v) for k, v in p["ends"].items()} for p in points)
        sweep, solve_labels = bool(written["sweep"]), dict(written.get("solve_labels", {}))
        files = dict(written["files"])  # results.nc and the points, as written: intact?
        if RESULTS_FILE not in files or file_digests(out_dir, files) != files:
            return None
        with xr.open_dataset(out_dir / RESULTS_FILE, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception:  # noqa: BLE001 (absent, unreadable, an older layout: not finished)
        return None
    if ds.attrs.get("scenario_sha256") != written.get("scenario_sha256"):
        return None  # results.nc of another run than provenance.json's
    return RunResult(dataset=ds, trajectories=tuple(None for _ in labels), labels=labels,
                     out_dir=out_dir, figures=(), statuses=statuses, t_finals=t_finals,
                     resumed=labels, ends=ends, complete=True, sweep=sweep,
                     solve_labels=solve_labels)
