"""The results store: one directory per run.

- ``results.nc``: netCDF-4 (xarray-readable) with every monitor over the time
  coordinate ``t``, a ``description`` attribute on each variable, and the
  run's status in the global attributes;
- ``scenario.toml``: the fully resolved scenario (defaults filled in);
- ``provenance.json``: versions, device, seed, dtype, git commit, timings.

Every file is written to a temporary name in the same directory and renamed
into place, so a killed run never leaves a file that looks complete but is not.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import typing
from importlib import metadata
from pathlib import Path

import numpy as np
import tomli_w

from .io import atomic_write, atomic_write_text
from .lazy_xarray import xr

if typing.TYPE_CHECKING:  # imported where used: reading a run needs no JAX
    from .._solve.core import Trajectory

RESULTS_FILE = "results.nc"
# the time coordinate of gradient flow (gradient descent adds ``step``)
TIME_ATTRS = {"description": "time of the gradient flow", "long_name": "time",
              "symbol": "$t$", "units": "1"}
STEP_ATTRS = {"description": "gradient-descent steps taken", "long_name": "gradient-descent step",
              "symbol": "$k$", "units": "1"}
SCENARIO_FILE = "scenario.toml"
SUBMISSION_FILE = "submission.json"  # what mfsim submit asked (mfsim._runner.submit)
PROVENANCE_FILE = "provenance.json"


# names of the non-time axes of known monitor variables
POINT_DIMS = {
    "train_outputs": ("train_point",),
    "test_outputs": ("test_point",),
    "singular_values": ("mode",),
    "kernel_eigenvalues": ("eigen_index",),
    "kernel_top_share": ("eigen_index",),
}


def _variable(name: str):
    from .._monitors.variable import Variable

    return Variable(name, name)


def trajectory_to_dataset(traj: Trajectory, attrs: dict | None = None, *,
                          prefix: str = "", label: str = "", system: str = "") -> xr.Dataset:
    """Monitors over the save times actually reached, as an xarray Dataset,
    each variable with its :class:`~mfsim.Variable` as attributes
    (``long_name``, ``units``, ``symbol``, ``scale``, ``role``, ...).

    ``prefix`` is put before every variable and run attribute (a twin's
    ``lin_train_loss``, ``lin_status``); ``label`` before each description;
    a twin's variables also name the twin (``system``, its legend entry) and
    the network variable they are drawn with (``network_variable``).
    """
    ts = np.asarray(traj.ts)
    reached = np.isfinite(ts)
    data_vars, coords = {}, {"t": ("t", ts[reached], TIME_ATTRS)}
    for name, value in traj.values.items():
        value = np.asarray(value)
        if name in traj.value_ts:  # saved at times of its own (particle snapshots)
            own = np.asarray(traj.value_ts[name])
            tdim = f"{prefix}{name}_t"
            value = value[np.isfinite(own)]
            coords[tdim] = (tdim, own[np.isfinite(own)],
                            {**TIME_ATTRS, "description": f"save times of {name}"})
        else:
            tdim, value = "t", value[reached]
        known = (traj.dims.get(name) or POINT_DIMS.get(name, ()))[: value.ndim - 1]
        extra = known + tuple(f"{prefix}{name}_dim{i}" for i in range(1 + len(known), value.ndim))
        var = traj.variables.get(name) or _variable(name)
        if prefix:
            var = var.renamed(prefix, label.rstrip(": "))
        var_attrs = var.attrs()
        if prefix:
            var_attrs.update(system=system or label.rstrip(": "), network_variable=name)
        data_vars[prefix + name] = xr.Variable((tdim,) + extra, value, attrs=var_attrs)
    used = {d for v in data_vars.values() for d in v.dims}
    coords.update({dim: (dim, np.asarray(values)) for dim, values in traj.coords.items()
                   if dim in used})
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update({
        f"{prefix}status": traj.status,
        f"{prefix}t_final": float(traj.t_final),
        f"{prefix}num_steps": int(traj.stats.get("num_steps", -1)),
    })
    if traj.t_stop is not None:  # ended by its stopping rule: when
        ds.attrs[f"{prefix}t_stop"] = traj.t_stop
    ds.attrs.update(attrs or {})
    return ds


def _git_commit() -> str | None:
    src = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
            timeout=5,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        )
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


PROVENANCE_PACKAGES = ("mfsim", "jax", "jaxlib", "diffrax", "equinox", "ott-jax", "numpy",
                       "xarray")


@functools.lru_cache(maxsize=1)
def _environment() -> dict:
    """What the results were computed with (computed once per process)."""
    import jax

    device = jax.devices()[0]
    return {
        "versions": {name: _version(name) for name in PROVENANCE_PACKAGES},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": {"platform": device.platform, "kind": device.device_kind,
                   "count": jax.device_count()},
        "git_commit": _git_commit(),
    }


def scenario_sha256(scenario_text: str) -> str:
    return hashlib.sha256(scenario_text.encode()).hexdigest()


def provenance(*, seed: int, dtype: str, status: str, t_final: float, stats: dict,
               scenario_text: str, source: str | None) -> dict:
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **copy.deepcopy(_environment()),
        "seed": seed,
        "dtype": dtype,
        "scenario_file": source,
        "scenario_sha256": scenario_sha256(scenario_text),
        "status": status,
        "t_final": t_final,
        "stats": stats,
    }


def provenance_attrs(*, scenario_text: str, seed: int | None, dtype: str) -> dict:
    """Provenance as netCDF global attributes, carried by every results file:
    package versions (``<package>_version``), device, git commit, seed, dtype,
    the resolved scenario (``resolved_scenario``, TOML) and its SHA-256.
    ``seed=None`` (a sweep over seeds: the ``seed`` coordinate says it) leaves
    the seed out."""
    env = _environment()
    attrs = {f"{name.replace('-', '_')}_version": version or "unknown"
             for name, version in env["versions"].items()}
    attrs.update({
        "python_version": env["python"],
        "device_platform": env["device"]["platform"],
        "device_kind": env["device"]["kind"],
        "device_count": env["device"]["count"],
        "git_commit": env["git_commit"] or "unknown",
        "dtype": dtype,
        "scenario_sha256": scenario_sha256(scenario_text),
        "resolved_scenario": scenario_text,
    })
    if seed is not None:
        attrs["seed"] = seed
    return attrs


def scenario_toml(resolved: dict) -> str:
    """TOML text of a resolved scenario (keys whose value is None are left out)."""

    def drop_none(x):
        if isinstance(x, dict):
            return {k: drop_none(v) for k, v in x.items() if v is not None}
        if isinstance(x, list):
            return [drop_none(v) for v in x]
        return x

    return tomli_w.dumps(drop_none(resolved))


def write_dataset(path: Path, ds: xr.Dataset) -> None:
    atomic_write(path, bytes(ds.to_netcdf(engine="h5netcdf")))  # serialized in memory


def write_csv(path: Path, rows: list[dict]) -> None:
    """Rows (dicts) as CSV; the columns are the union of the rows' keys, in order."""
    import csv
    import io

    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def write_json(path: Path, obj: dict) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def open_results(run_dir: str | os.PathLike) -> xr.Dataset:
    """Open the results of a run directory (loaded into memory, file closed)."""
    with xr.open_dataset(Path(run_dir) / RESULTS_FILE, engine="h5netcdf") as ds:
        return ds.load()
