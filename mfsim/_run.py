"""Running a scenario: build, simulate, write the run directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ._errors import MfsimError
from ._results import (
    PROVENANCE_FILE,
    RESULTS_FILE,
    SCENARIO_FILE,
    TWIN_LABELS,
    atomic_write_text,
    provenance,
    scenario_toml,
    trajectory_to_dataset,
    write_dataset,
    write_json,
)
from ._scenario.build import build
from ._scenario.load import load_scenario
from ._scenario.schema import Scenario
from ._simulate import Trajectory, simulate


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_scenario` produced."""

    dataset: xr.Dataset
    trajectory: Trajectory
    out_dir: Path
    figures: tuple[Path, ...]

    @property
    def succeeded(self) -> bool:
        return self.trajectory.succeeded


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
    if out is not None:
        return Path(out)
    if scenario.output.dir is not None:
        return Path(scenario.output.dir)
    return Path("runs") / scenario.name


def check_output_dir(out_dir: Path, resolved_text: str, *, force: bool) -> None:
    """Refuse to overwrite a run directory that holds a different scenario."""
    if out_dir.exists() and not out_dir.is_dir():
        raise MfsimError(f"{out_dir}: exists and is not a directory")
    previous = out_dir / SCENARIO_FILE
    if force or not previous.exists():
        return
    if previous.read_text(encoding="utf-8", errors="replace") != resolved_text:
        raise MfsimError(
            f"{out_dir}: holds the results of a different scenario; "
            "choose another --out or pass --force to overwrite"
        )


def run_scenario(
    scenario: Scenario | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    force: bool = False,
) -> RunResult:
    """Run a scenario (object or file path) and write its run directory.

    The directory gets ``results.nc``, ``scenario.toml``, ``provenance.json``
    and the loss figure(s). A failed solve still writes everything, with the
    status and failure time in ``results.nc`` and ``provenance.json``.
    """
    source = None
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario)
    resolved = scenario.model_dump(mode="json")
    resolved_text = scenario_toml(resolved)
    out_dir = output_dir(scenario, out)
    check_output_dir(out_dir, resolved_text, force=force)

    built = build(scenario)
    traj = simulate(built.system, built.state0, monitors=built.monitors, progress=progress,
                    **built.simulate_kwargs)
    twin_trajs = {
        prefix: simulate(twin, twin_state0, monitors=built.monitors, **built.simulate_kwargs)
        for prefix, (twin, twin_state0) in built.twins.items()
    }

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MfsimError(f"{out_dir}: cannot create the output directory: {e.strerror}") from None
    ds = trajectory_to_dataset(
        traj, attrs={"scenario": scenario.name, "seed": scenario.seed, "dtype": scenario.dtype}
    )
    ds = merge_twins(ds, twin_trajs)
    write_dataset(out_dir / RESULTS_FILE, ds)
    atomic_write_text(out_dir / SCENARIO_FILE, resolved_text)
    write_json(
        out_dir / PROVENANCE_FILE,
        provenance(seed=scenario.seed, dtype=scenario.dtype, traj=traj,
                   scenario_text=resolved_text, source=source),
    )
    from .plotting import plot_losses, plot_series, series_variables

    figures = tuple(
        plot_losses(ds, out_dir / f"loss.{fmt}", title=scenario.name)
        for fmt in scenario.output.figures
    ) + tuple(
        plot_series(ds, name, out_dir / f"{name}.{fmt}", title=scenario.name)
        for name in series_variables(ds) for fmt in scenario.output.figures
    )
    return RunResult(dataset=ds, trajectory=traj, out_dir=out_dir, figures=figures)

