"""Combining the per-point datasets of a sweep into one labelled dataset.

The combined dataset has the sweep axes as leading dimensions, then time,
then each variable's own dimensions. Points whose save times are the same
(up to a failed point stopping early) share the coordinate ``t``; when the
save times differ between points (a swept ``solver.t1``, or ``dt`` snapping
the save grid), time becomes the dimension ``save`` and ``t`` a coordinate
over the sweep dimensions and ``save``. Entries a point does not have (not
reached, a variable that only some points record, a shorter axis) are NaN.
Run attributes that differ between points (status, t_final, ...) become
variables over the sweep dimensions. Gradient-descent points carry the
coordinate ``step``: over time alone when every point saves at the same
steps (a learning-rate sweep at fixed ``solver.steps``), else over the sweep
dimensions too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._monitors.variable import Variable, hidden
from .analysis import scalar_series
from .lazy_xarray import xr
from .results import STEP_ATTRS, TIME_ATTRS

#: run attributes that become variables over a sweep with what they are
#: (the others: "per-point run attribute <name>")
RUN_ATTRIBUTES = {
    "t_stop": Variable("time at which the stopping rule ([solver.stop]) was met (NaN: not "
                       "met by t1)", "time to target", "$t_{stop}$", scale="log",
                       role="metric", rank=1),
    "step_stop": hidden("gradient-descent step after which the stopping rule was met",
                        "steps to target", symbol="$k_{stop}$"),
}


def _time_grid(datasets: Sequence[xr.Dataset]) -> tuple[np.ndarray | None, int]:
    grids = [np.asarray(ds["t"]) for ds in datasets]
    longest = max(grids, key=len)
    shared = all(np.allclose(g, longest[: len(g)], rtol=1e-12, atol=0) for g in grids)
    return (longest if shared else None), len(longest)


def combine_points(datasets: Sequence[xr.Dataset], dims: Sequence[str],
                   shape: Sequence[int], coords: dict[str, tuple]) -> xr.Dataset:
    """Stack ``datasets`` (row-major over ``shape``) along the sweep ``dims``.

    ``coords``: coordinate name -> (dimension, values[, attrs]), for every
    sweep key (the runner's attrs name the key and describe it).
    """
    dims, shape = tuple(dims), tuple(shape)
    if len(datasets) != math.prod(shape):
        raise ValueError(f"{len(datasets)} datasets for a sweep of shape {shape}")
    grid, n_t = _time_grid(datasets)
    tdim = "t" if grid is not None else "save"
    names: dict[str, xr.DataArray] = {}
    for ds in datasets:
        for name, var in ds.data_vars.items():
            names.setdefault(name, var)
    data_vars = {name: _stacked(datasets, name, first, dims, shape, n_t, tdim)
                 for name, first in names.items()}
    all_coords = {name: (d, list(values), *attrs) for name, (d, values, *attrs) in coords.items()}
    all_coords.update(_time_coords(datasets, dims, shape, grid, n_t, tdim))
    # a monitor's own save times (particle snapshots): the same at every point
    # that reached them; a point stopped early has fewer (its values are NaN)
    for name in {c for ds in datasets for c in ds.coords if c != "t" and c in ds.dims}:
        if name in all_coords:
            continue
        values = [np.asarray(ds[name]) for ds in datasets if name in ds.coords]
        longest = max(values, key=len)
        if all(np.array_equal(v, longest[: len(v)]) for v in values):
            first = next(ds for ds in datasets if name in ds.coords)
            all_coords[name] = (name, longest, dict(first[name].attrs))
    out = xr.Dataset(data_vars, coords=all_coords)
    out.attrs["sweep_dims"] = ",".join(dims)
    _point_attrs(out, datasets, dims, shape)
    return out


def _stacked(datasets, name: str, first: xr.DataArray, dims: tuple, shape: tuple, n_t: int,
             tdim: str) -> xr.Variable:
    """Variable ``name`` of every point in one array (NaN where a point has
    none, or fewer saves)."""
    own = first.dims[1:] if first.dims[:1] == ("t",) else first.dims
    timed = first.dims[:1] == ("t",)
    sizes = [max((ds[name].sizes[d] for ds in datasets if name in ds), default=0)
             for d in own]
    full = np.full(shape + ((n_t,) if timed else ()) + tuple(sizes), np.nan)
    for flat, ds in enumerate(datasets):
        if name not in ds:
            continue
        value = np.asarray(ds[name], dtype=float)
        idx = np.unravel_index(flat, shape) + tuple(slice(0, n) for n in value.shape)
        full[idx] = value
    var_dims = dims + ((tdim,) if timed else ()) + tuple(own)
    attrs = dict(first.attrs)
    # a monitor that chose per point (Wasserstein's method "auto") may
    # describe points differently: say so, with each description once
    said = dict.fromkeys(ds[name].attrs.get("description", "") for ds in datasets
                         if name in ds)
    if len(said) > 1:
        attrs["description"] = "differs by point: " + " | ".join(said)
    return xr.Variable(var_dims, full, attrs=attrs)


def _time_coords(datasets, dims: tuple, shape: tuple, grid, n_t: int, tdim: str) -> dict:
    """The time coordinate (one grid, or each point's save times) and, for
    gradient descent, the step count at each save."""
    found = {}
    if grid is not None:
        found["t"] = ("t", grid, TIME_ATTRS)
    else:
        ts = np.full(shape + (n_t,), np.nan)
        for flat, ds in enumerate(datasets):
            t = np.asarray(ds["t"])
            ts[np.unravel_index(flat, shape) + (slice(0, len(t)),)] = t
        found["t"] = (dims + ("save",), ts,
                      {**TIME_ATTRS, "description": "time of the gradient flow at each save"})
    steps = [np.asarray(ds["step"]) for ds in datasets if "step" in ds.coords]
    if len(steps) == len(datasets):  # gradient descent: the step count at each save
        longest = max(steps, key=len)
        if grid is not None or all(np.array_equal(s, longest[: len(s)]) for s in steps):
            found["step"] = (tdim, longest, STEP_ATTRS)  # the same steps at every point
        else:
            full_steps = np.full(shape + (n_t,), -1, dtype=np.int64)
            for flat, s in enumerate(steps):
                full_steps[np.unravel_index(flat, shape) + (slice(0, len(s)),)] = s
            found["step"] = (dims + (tdim,), full_steps, STEP_ATTRS)
    return found


def _point_attrs(out: xr.Dataset, datasets, dims: tuple, shape: tuple) -> None:
    """The points' run attributes: one attribute where every point agrees,
    else a variable over the sweep (a swept key's is its coordinate)."""
    attr_names = dict.fromkeys(k for ds in datasets for k in ds.attrs)
    for key in attr_names:
        if key in out.coords:  # a swept key (seed): the coordinate says it
            continue
        # numpy scalars as Python's: a point read back from its file and one
        # still in memory combine alike
        values = [_plain(ds.attrs.get(key)) for ds in datasets]
        if all(_same(v, values[0]) for v in values):
            out.attrs[key] = values[0]
        else:
            strings = any(isinstance(v, str) for v in values)
            ints = all(isinstance(v, int) for v in values)
            arr = np.array(["" if v is None else str(v) for v in values] if strings else
                           values if ints else
                           [np.nan if v is None else float(v) for v in values],
                           dtype=object if strings else int if ints else float)
            known = RUN_ATTRIBUTES.get(key)
            out[key] = xr.Variable(dims, arr.reshape(shape), attrs=known.attrs() if known else
                                   {"description": f"per-point run attribute {key}"})


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def summary_rows(point_datasets: Sequence[xr.Dataset], overrides: Sequence[dict]
                 ) -> list[dict]:
    """One row per point: its sweep keys, run status, and for every scalar
    series the final value, the minimum over save times and when it was
    reached (the oracle early-stopping time)."""
    rows = []
    for flat, (ds, keys) in enumerate(zip(point_datasets, overrides)):
        row = {"point": flat, **keys}
        row.update({k: v for k, v in ds.attrs.items()
                    if k.endswith(("status", "t_final", "num_steps", "t_stop", "step_stop"))})
        t = np.asarray(ds["t"]) if "t" in ds.variables else None
        for name in scalar_series(ds):
            final, best, t_best = _point_summary(np.asarray(ds[name]), t)
            row.update({f"{name}_final": final, f"{name}_min": best, f"{name}_t_min": t_best})
        rows.append(row)
    return rows


def _point_summary(values: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """One point's series: its last finite value, its minimum over save times
    (NaN counted as +inf, the first of equal minima) and the time of that
    minimum: :func:`final_value` and :func:`oracle_stopping` on one point,
    in numpy (a merge of thousands of points summarizes each in microseconds)."""
    finite = np.isfinite(values)
    if not finite.any():
        return float("nan"), float("nan"), float("nan")
    last = values.shape[-1] - 1 - int(np.argmax(finite[::-1]))
    i = int(np.argmin(np.where(np.isnan(values), np.inf, values)))
    return float(values[last]), float(values[i]), float(t[i])
