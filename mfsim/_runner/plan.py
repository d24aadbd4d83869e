"""Plan a run: resolve, expand, pre-flight; no solve, nothing written."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import jax

from .._errors import MfsimError, RedirectedOutputWarning, show
from .._scenario import registry
from .._scenario.memory import preflight
from .._scenario.schema import Scenario
from .._scenario.sweep import SweepPoint, expand, reference_points
from .._store.finished import input_digest
from .._store.results import SCENARIO_FILE, scenario_toml
from .manifest import MANIFEST_FILE

POINTS_DIR = "points"
PARTS_DIR = "parts"
LOCK_FILE = ".mfsim.lock"
REFERENCE_DIR = "reference"


@dataclass(frozen=True)
class RunPlan:
    """What a run will do: its scenario (``source``: the file, for messages),
    the sweep points, the reference runs and each point's reference, the
    resolved scenario text (what marks the run directory) and the output
    directory."""

    scenario: Scenario
    source: str | None
    points: list[SweepPoint]
    refs: list[SweepPoint]
    ref_of: list[int]
    resolved_text: str
    out_dir: Path
    # what the run was asked for (its file, --set values, mfsim's code): a rerun
    # finds the finished run by it before validating anything (.finished)
    input_sha256: str | None = None

    @property
    def sweep(self) -> bool:
        return not self.scenario.sweep.empty

    @property
    def where(self) -> str:
        return self.source or "<scenario>"

    def point_path(self, point: SweepPoint) -> Path:
        return self.out_dir / POINTS_DIR / f"p{point.flat_index:06d}.nc"

    def reference_path(self, ref: SweepPoint) -> Path:
        return self.out_dir / REFERENCE_DIR / f"r{ref.flat_index:03d}.nc"

    def part_path(self, point: SweepPoint, prefix: str) -> Path:
        """Where one finished solve of a point with twins waits for the
        point's other solves (``prefix``: ``""`` the network, else a twin's)."""
        return self.out_dir / PARTS_DIR / f"p{point.flat_index:06d}-{solve_name(prefix)}.nc"


def solve_name(prefix: str) -> str:
    """``network``, or a twin's name (its variable prefix without the ``_``)."""
    return prefix.rstrip("_") or "network"


def solve_label(prefix: str) -> str:
    """What progress lines call a solve: ``network``, ``linearized twin``..."""
    from .._scenario.twins import TWIN_LEGENDS
    return TWIN_LEGENDS.get(prefix, solve_name(prefix)) if prefix else "network"


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
        raise MfsimError(f"{show(str(path))} leads outside the working directory "
                         f"({path.resolve()}); use mfsim run --out")
    return path


def output_key(scenario: Scenario, out) -> str:
    """The key that chose the output directory, named in every refusal."""
    if out is not None:
        return "--out"
    return "output.dir" if scenario.output.dir is not None else "name"


def check_output_dir(out_dir: Path, resolved_text: str, *, force: bool,
                     source: str | None = None) -> None:
    """Refuse an output directory that cannot or must not be written: a file
    (the scenario file itself, say), a path under a file, a directory holding
    another scenario's results or files that are not a run's."""
    if source is not None and out_dir.exists() and out_dir.resolve() == Path(source).resolve():
        raise MfsimError(f"{out_dir}: is the scenario file itself")
    for parent in out_dir.parents:
        if parent.exists() and not parent.is_dir():
            raise MfsimError(f"{out_dir}: lies under {parent}, which is a file")
    if out_dir.exists() and not out_dir.is_dir():
        raise MfsimError(f"{out_dir}: exists and is not a directory")
    previous = out_dir / SCENARIO_FILE
    if force:
        return
    if not previous.exists():
        if out_dir.is_dir() and any(p.name != LOCK_FILE and not p.name.startswith(MANIFEST_FILE)
                                    for p in out_dir.iterdir()):
            raise MfsimError(
                f"{out_dir}: exists, is not empty and is not an mfsim run directory (no "
                f"{SCENARIO_FILE}); choose a new or empty directory with --out")
        return
    if previous.read_text(encoding="utf-8", errors="replace") != resolved_text:
        raise MfsimError(
            f"{out_dir}: holds the results of a different scenario; "
            "choose another --out or pass --force to overwrite"
        )


def override_dir(scenario: Scenario, overrides: dict) -> Path:
    """Where a run with ``--set`` overrides can go beside the plain one:
    ``runs/<name>+key=value+...`` (characters other than letters, digits and
    ``._=,+-`` become ``-``; a long name is shortened with a hash)."""
    import hashlib
    import re

    parts = "+".join(f"{key}={value}" for key, value in overrides.items())
    tail = re.sub(r"[^A-Za-z0-9._=,+-]+", "-", parts.replace(" ", ""))
    if len(tail) > 80:
        tail = tail[:60] + "-" + hashlib.sha256(parts.encode()).hexdigest()[:8]
    return Path("runs") / f"{scenario.name}+{tail}"


def make_plan(scenario: Scenario, source: str | None, *, out, force: bool,
              memory_check: bool, overrides: dict | None = None) -> RunPlan:
    """Everything decided before anything is built or written; raises a
    one-line error for a scenario that cannot run or a directory that must
    not be written into. With ``--set`` ``overrides`` and no ``out``, a
    default directory holding the run without them is left alone: the run
    goes to :func:`override_dir` (a :class:`RedirectedOutputWarning` says
    so), so changing one value needs no new output directory by hand."""
    where = source or "<scenario>"
    points, refs, ref_of = plan(scenario, where, memory_check=memory_check)
    resolved_text = scenario_toml(scenario.model_dump(mode="json"))
    try:
        out_dir = output_dir(scenario, out)
        try:
            check_output_dir(out_dir, resolved_text, force=force, source=source)
        except MfsimError as e:
            if not (overrides and out is None and not force and "different scenario" in str(e)):
                raise
            derived = override_dir(scenario, overrides)
            check_output_dir(derived, resolved_text, force=False, source=source)
            warnings.warn(RedirectedOutputWarning(
                f"{where}: {out_dir} holds the run without these --set values; writing to "
                f"{derived} (--out chooses another directory)"), stacklevel=2)
            out_dir = derived
    except MfsimError as e:  # one path for every output-directory refusal
        raise MfsimError(f"{where}: {output_key(scenario, out)}: {e}") from None
    # only mfsim's own entries: a plugin's could change what the same input means
    asked = input_digest(source, overrides) if source and registry.built_in_only() else None
    return RunPlan(scenario, source, points, refs, ref_of, resolved_text, out_dir, asked)


def needs_float64(scenario: Scenario) -> bool:
    s = scenario.sweep
    dtypes = {scenario.dtype, *s.grid.get("dtype", ()), *s.zip.get("dtype", ()),
              s.reference.get("dtype")}
    return "float64" in dtypes and not jax.config.jax_enable_x64
