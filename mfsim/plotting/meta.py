"""What the results say about their variables, read for figures.

Every question a figure asks of a variable (its label, scale, role, which
variables are its twins' and which references are drawn over it, which time
unit the run uses) is answered from the variable's attributes
(:class:`mfsim.Variable`, written by the monitor that recorded it) and the
run's, never from the variable's name.
"""

from __future__ import annotations

import weakref

import numpy as np

from .._monitors.variable import Variable
from .._store.analysis import scalar_series, sweep_dims, time_dim
from .style import fmt


def variable(ds, name: str) -> Variable:
    """The variable's metadata."""
    return Variable.of(name, ds[name].attrs)


def is_twin(ds, name: str) -> bool:
    """A twin's variable, drawn on its network counterpart's axes (when the
    network recorded that counterpart)."""
    counterpart = ds[name].attrs.get("network_variable")
    return bool(counterpart) and counterpart in ds


def twins(ds, name: str) -> list[tuple[str, str]]:
    """``(variable, legend label)`` of every twin's ``name``, in the order recorded."""
    return list(_overlays(ds)[0].get(name, ()))


def references(ds, name: str) -> list[tuple[str, str]]:
    """``(variable, legend label)`` of the closed forms and references drawn over ``name``."""
    return list(_overlays(ds)[1].get(name, ()))


_OVERLAYS: dict[int, tuple] = {}


def _overlays(ds) -> tuple[dict, dict]:
    """Per drawn variable, its twins' and its references' (variable, label),
    read from every variable's attributes once per dataset (a figure asks
    for each of its variables; a rescan per question was quadratic)."""
    names = tuple(ds.data_vars)
    held = _OVERLAYS.get(id(ds))
    if held is not None and held[0]() is ds and held[1] == names:
        return held[2]
    by_twin: dict[str, list] = {}
    by_reference: dict[str, list] = {}
    for other, var in ds.data_vars.items():
        counterpart = var.attrs.get("network_variable")
        if counterpart:
            by_twin.setdefault(counterpart, []).append((other, str(var.attrs.get("system", other))))
        meta = Variable.of(other, var.attrs)
        if meta.role == "reference" and meta.over:
            by_reference.setdefault(meta.over, []).append((other, meta.legend or meta.long_name))
    found = (by_twin, by_reference)
    for key in [k for k, v in _OVERLAYS.items() if v[0]() is None]:
        del _OVERLAYS[key]
    _OVERLAYS[id(ds)] = (weakref.ref(ds), names, found)
    return found


def drawn_on_its_own(ds, name: str) -> bool:
    """Drawn on a figure of its own: not hidden, not a twin's variable (drawn
    with the network's), not a reference whose target is present (drawn over it)."""
    meta = variable(ds, name)
    if meta.role == "hidden" or meta.figure == "loss" or is_twin(ds, name):
        return False
    return not (meta.role == "reference" and meta.over in ds)


def save_times_drawn(ds, name: str) -> int:
    """At how many save times ``name`` has a value a time series can draw
    (finite; positive where it is read on a log scale, a movement from
    init being 0 at the start). Fewer than two is no time series: the value
    is read against the sweep, or from the summary."""
    values = np.asarray(ds[name].values, float)
    t_axis = ds[name].dims.index(time_dim(ds)) if time_dim(ds) in ds[name].dims else None
    if t_axis is None:
        return 0
    drawable = np.isfinite(values)
    if variable(ds, name).scale == "log":
        drawable &= values > 0
    other = tuple(a for a in range(values.ndim) if a != t_axis)
    return int(drawable.any(axis=other).sum()) if other else int(drawable.sum())


def series_index(ds, name: str) -> str | None:
    """For a variable with one axis besides the sweep and the time (modes,
    degrees, eigenvalues), that axis; else None."""
    head = sweep_dims(ds) + (time_dim(ds),)
    dims = ds[name].dims
    if dims[: len(head)] == head and len(dims) == len(head) + 1:
        return dims[-1]
    return None


def scalar_variables(ds) -> list[str]:
    """Variables with one number per save time drawn on their own figure."""
    return [n for n in scalar_series(ds) if drawn_on_its_own(ds, n)]


def series_variables(ds) -> list[str]:
    """Variables with one line per index drawn on their own figure."""
    return [n for n in ds.data_vars if series_index(ds, n) and drawn_on_its_own(ds, n)]


def label(ds, name: str) -> str:
    """The axis label of a variable or a coordinate: name, symbol, units."""
    if name in ds.data_vars:
        return variable(ds, name).label()
    attrs = ds[name].attrs
    text = str(attrs.get("long_name") or attrs.get("key") or name)
    symbol = str(attrs.get("symbol", ""))
    return text + (f" {symbol}" if symbol else "")


def short(ds, dim: str) -> str:
    """A sweep axis as written in a legend: its symbol, or its name."""
    attrs = ds[dim].attrs
    return str(attrs.get("symbol") or attrs.get("long_name") or dim)


def point_label(ds, sel: dict) -> str:
    """A sweep point as a legend entry: "$m$ = 64, ntk" (a numeric axis by
    its symbol and value, a categorical one by its value)."""
    return ", ".join(f"{short(ds, d)} = {fmt(ds[d].values[i])}" if is_ordered(ds, d)
                     else fmt(ds[d].values[i]) for d, i in sel.items())


def point_values(ds, sel: dict) -> str:
    """A sweep point by its values alone ("ntk, 64")."""
    return ", ".join(fmt(ds[d].values[i]) for d, i in sel.items())


def time_axis(ds) -> tuple[str, str]:
    """The coordinate time series are drawn against and its label: the one
    unit the run's dynamics define (``time_axis`` attribute: steps for
    gradient descent and SGD, t for flows and online SGD), the same in every
    figure of the run."""
    unit = ds.attrs.get("time_axis") or ("step" if "step" in ds.coords else "t")
    if unit in ("step", "sgd_step") and "step" in ds.coords:
        return "step", ("SGD step $k$" if unit == "sgd_step" else "gradient-descent step $k$")
    if unit == "eta_alpha":
        return "t", "time $t = \\eta\\alpha$ ($\\alpha$ = examples / input dim.)"
    return "t", "time $t$"


def steps_per_time(ds) -> float | None:
    """For a run drawn against steps, steps per unit of t (to draw a time
    read off by analysis, e.g. a learning time, in steps); None otherwise."""
    if time_axis(ds)[0] != "step":
        return None
    t = np.asarray(ds["t"].values, float).ravel()
    k = np.asarray(ds["step"].values, float).ravel()
    ok = np.isfinite(t) & (t > 0) & (k > 0)
    return float(np.median(k[ok] / t[ok])) if ok.any() else None


def is_ordered(ds, dim: str) -> bool:
    """A numeric sweep axis (width, learning rate, temperature): ordered."""
    return np.issubdtype(np.asarray(ds[dim].values).dtype, np.number)


def reduced(ds, how: str) -> str:
    """How a sweep point's one value was taken, for a label: " (final)",
    " (at the stop)" where the runs ended by a stopping rule (the final
    value is the value there), " (min over time)"; "" for a per-point
    variable."""
    final = " (at the stop)" if "t_stop" in ds or "t_stop" in ds.attrs else " (final)"
    return {"min": " (min over time)", "final": final, "point": ""}[how]

