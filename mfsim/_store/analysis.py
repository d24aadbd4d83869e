"""Reducing results over time: oracle early stopping, final values, power-law fits.

These work on a results dataset (a single run or a sweep): time is the
dimension ``t`` (or ``save`` when a sweep's points have different save
times, with ``t`` a coordinate over the sweep and ``save``).
"""

from __future__ import annotations

import numpy as np

from .._monitors.variable import Variable
from .lazy_xarray import xr


def time_dim(ds: xr.Dataset) -> str:
    return "t" if "t" in ds.dims else "save"


def sweep_dims(ds: xr.Dataset) -> tuple[str, ...]:
    """The sweep dimensions of a results dataset (empty for a single run)."""
    return tuple(d for d in ds.attrs.get("sweep_dims", "").split(",") if d)


def scalar_series(ds: xr.Dataset) -> list[str]:
    """Variables that are one number per save time (losses, risk, gaps)."""
    head = sweep_dims(ds) + (time_dim(ds),)
    return [name for name, var in ds.data_vars.items() if tuple(var.dims) == head]


def oracle_stopping(ds: xr.Dataset, name: str = "risk") -> xr.Dataset:
    """The best save point of ``ds[name]`` at every sweep point: its value
    (``name``) and its time (``t``): early stopping by an oracle that knows
    the metric, the standard way to compare estimators at their best."""
    tdim = time_dim(ds)
    var = ds[name]
    filled = var.fillna(np.inf)
    idx = filled.argmin(tdim)
    best = var.isel({tdim: idx})
    t = ds["t"] if "t" in ds.coords else ds[tdim]
    t_best = (t.isel({tdim: idx}) if tdim in t.dims else t)
    out = xr.Dataset({name: best.drop_vars("t", errors="ignore"),
                      "t": t_best.drop_vars("t", errors="ignore")})
    return out.where(np.isfinite(var).any(tdim))


def final_value(ds: xr.Dataset, name: str) -> xr.DataArray:
    """The last finite value of ``ds[name]`` over time, at every sweep point."""
    tdim = time_dim(ds)

    def last_finite(a):
        finite = np.isfinite(a)
        idx = a.shape[-1] - 1 - np.argmax(finite[..., ::-1], axis=-1)
        out = np.take_along_axis(a, idx[..., None], -1)[..., 0]
        return np.where(finite.any(-1), out, np.nan)

    return xr.apply_ufunc(last_finite, ds[name].drop_vars("t", errors="ignore"),
                          input_core_dims=[[tdim]])


def point_value(ds: xr.Dataset, name: str, how: str) -> xr.DataArray:
    """A sweep point's one value of ``name``: its minimum over time
    (``how = "min"``), its last finite value (``"final"``), or the value
    itself of a per-point variable (``"point"``: the time to a stopping rule)."""
    if how == "point":
        return ds[name]
    return oracle_stopping(ds, name)[name] if how == "min" else final_value(ds, name)


def power_law_fit(x, y) -> tuple[float, float]:
    """Least-squares fit of ``log y = slope * log x + c`` over the finite,
    positive pairs; returns ``(slope, c)`` (NaN with fewer than two pairs)."""
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2 or np.ptp(x[keep]) == 0:
        return float("nan"), float("nan")
    slope, c = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(slope), float(c)


def power_law_interval(x, y) -> tuple[float, float, float, float] | None:
    """``(slope, half, r2, c)`` of the least-squares fit of ``log y = slope *
    log x + c`` over the finite, positive pairs: ``half`` the half-width of
    the slope's 95% interval (Student's t on n - 2 degrees of freedom; NaN
    with two pairs), ``r2`` the fraction of the variance of ``log y`` it
    explains. None with fewer than two pairs or one ``x``."""
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2 or np.ptp(x[keep]) == 0:
        return None
    lx, ly = np.log(x[keep]), np.log(y[keep])
    if keep.sum() == 2:
        slope, c = np.polyfit(lx, ly, 1)
        return float(slope), float("nan"), 1.0, float(c)
    (slope, c), cov = np.polyfit(lx, ly, 1, cov="unscaled")
    resid = ly - (slope * lx + c)
    dof = keep.sum() - 2
    total = np.sum((ly - ly.mean()) ** 2)
    r2 = 1.0 - np.sum(resid**2) / total if total > 0 else 0.0
    from scipy.special import stdtrit  # Student's t quantile (scipy.stats takes ~1 s to import)

    variance = np.sum(resid**2) / dof * cov[0, 0]
    half = float(stdtrit(dof, 0.975) * np.sqrt(max(variance, 0.0)))
    return float(slope), half, float(r2), float(c)


def reference_distance(ds: xr.Dataset, ref: xr.Dataset, label: str = "") -> xr.Dataset:
    """``ds`` with ``ref_distance``: the RMS over the test inputs (or, without
    ``test_outputs``, the training inputs) of ``f(t) - f_ref(t)``, the
    distance of a run's function to a reference run's at each save time (NaN
    where either did not reach it). Both runs must share their save times."""
    name = "test_outputs" if "test_outputs" in ds and "test_outputs" in ref else "train_outputs"
    t, t_ref = np.asarray(ds["t"]), np.asarray(ref["t"])
    n = min(t.size, t_ref.size)
    if not np.allclose(t[:n], t_ref[:n], rtol=1e-12, atol=0):
        raise ValueError("a run and its reference must share their save times")
    f, f_ref = np.asarray(ds[name], float), np.full(ds[name].shape, np.nan)
    f_ref[:n] = np.asarray(ref[name], float)[:n]
    dist = np.sqrt(np.mean((f - f_ref) ** 2, axis=tuple(range(1, f.ndim))))
    inputs = {"test_outputs": "test"}.get(name, "training")
    desc = f"RMS over the {inputs} inputs of f - f_reference" + (f" ({label})" if label else "")
    return ds.assign(ref_distance=xr.Variable(("t",), dist, attrs=Variable(
        desc, "distance to the reference run", "$\\|f - f_{ref}\\|_{rms}$", scale="log",
        rank=6).attrs()))


def first_passage_time(t, values, level: float) -> float:
    """The first time at which ``values`` (along ``t``) falls to ``level`` times
    its first value, interpolated linearly in log(value) between the two save
    times around the crossing; NaN if it never does, or if the first value is
    not positive."""
    t, v = np.asarray(t, np.float64), np.asarray(values, np.float64)
    if v.size == 0 or not np.isfinite(v[0]) or v[0] <= 0:
        return float("nan")
    target = level * v[0]
    below = np.nonzero(np.isfinite(v) & (v <= target))[0]
    if below.size == 0:
        return float("nan")
    i = int(below[0])
    if i == 0:
        return float(t[0])
    a, b = v[i - 1], v[i]
    if b <= 0 or a <= 0:
        return float(t[i])
    s = (np.log(target) - np.log(a)) / (np.log(b) - np.log(a))
    return float(t[i - 1] + s * (t[i] - t[i - 1]))


def learning_times(ds: xr.Dataset, name: str = "harmonic_residual",
                   fraction: float = float(np.exp(-2.0)), floor: float = 1e-10
                   ) -> xr.DataArray:
    r"""Per mode (e.g. per spherical-harmonic ``degree``) and sweep point, the
    first time the energy ``ds[name]`` has fallen to ``fraction`` of its
    initial value (:func:`first_passage_time`). The default $e^{-2}$ (the
    residual's amplitude down by $e$) makes a mode decaying as
    $e^{-2\mu t}$ take $1/\mu$: the prediction of the kernel flow
    (:func:`mfsim.predicted_learning_times`). Modes that start with less
    than ``floor`` times the largest initial energy of their run (rounding
    only: nothing to learn) get NaN."""
    tdim = time_dim(ds)
    t = ds["t"] if "t" in ds.coords else ds[tdim]
    var = ds[name]
    out = xr.apply_ufunc(first_passage_time, t, var, kwargs={"level": fraction},
                         input_core_dims=[[tdim], [tdim]], vectorize=True)
    start = var.isel({tdim: 0}, drop=True)
    modes = [d for d in start.dims if d not in sweep_dims(ds)]
    out = out.where(start > floor * start.max(modes))
    return out.rename(f"{name}_learning_time")


# the regimes of gradient descent at a learning rate (Lewkowycz et al. 2020)
REGIMES = ("lazy", "catapult", "divergence", "not converged")


def _regime(values, status: str, rise: float) -> str:
    v = np.asarray(values, np.float64)
    if status.startswith(("diverged", "non-finite")):
        return "divergence"
    v = v[np.isfinite(v)]
    if v.size < 2 or not v[-1] < v[0]:
        return "not converged"
    return "catapult" if np.max(v) > rise * v[0] else "lazy"


def training_regimes(ds: xr.Dataset, name: str = "train_loss", *, prefix: str = "",
                     rise: float = 1.1) -> xr.DataArray:
    """Per sweep point, the regime of the run of ``ds[prefix + name]`` (``prefix``:
    a twin's, e.g. ``lin_``): ``divergence`` when the solve stopped diverged or
    non-finite (mfsim's divergence rule: a state entry beyond ``solver.divergence``
    = 1e8 times the initial scale; a catapult's excursion stays far below it);
    ``catapult`` when the loss rose above ``rise`` times its initial value and
    ended below it; ``lazy`` when it ended below its initial value without
    such a rise (gradient descent below 2/lambda on a near-quadratic loss
    decreases it monotonically); ``not converged`` otherwise. Just above
    2/lambda0 the unstable mode grows slowly and may not lift the total loss
    by ``rise`` before the sharpness falls: such a gentle catapult reads
    ``lazy`` (compare the ``sharpness`` monitor with 2/eta)."""
    tdim = time_dim(ds)
    var = ds[f"{prefix}{name}"]
    key = f"{prefix}status"
    status = ds[key] if key in ds.data_vars else xr.DataArray(str(ds.attrs.get(key, "success")))
    status = status.broadcast_like(var.isel({tdim: 0}, drop=True).drop_vars("t", errors="ignore"))
    out = xr.apply_ufunc(_regime, var.drop_vars("t", errors="ignore"), status,
                         kwargs={"rise": rise}, input_core_dims=[[tdim], []], vectorize=True,
                         output_dtypes=[object])
    return out.rename(f"{prefix}regime")


def w2_to_stationary(ds: xr.Dataset, name: str = "particles") -> xr.DataArray:
    r"""The exact $W_2$ between each seed's particle measure at each snapshot
    time and an independent sample of the stationary law: the last snapshot
    of the *next* seed (seeds in a cycle; same data, other initialization and
    noise), at every other sweep point (e.g. each temperature of a Langevin
    run). Its floor is the distance between two independent samples of the
    stationary law (finite width); the approach to it is the convergence of
    the particle measure to its stationary law. Needs a ``seed`` sweep axis
    of at least two seeds and particle snapshots (monitor
    ``particle_snapshots``); exact OT (Hungarian assignment) on the host."""
    from .._monitors.wasserstein import exact_w2_squared

    if "seed" not in sweep_dims(ds) or ds.sizes["seed"] < 2:
        raise ValueError("w2_to_stationary needs a sweep over at least two seeds")
    var = ds[name]
    tdim = f"{name}_t"
    final = var.isel({tdim: -1}).roll(seed=-1)  # the next seed's last snapshot

    def distance(x, y):
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            return np.nan
        return np.sqrt(exact_w2_squared(x, y))

    core = [d for d in var.dims if d not in sweep_dims(ds) and d != tdim]
    out = xr.apply_ufunc(distance, var, final, input_core_dims=[core, core], vectorize=True)
    desc = ("exact W2 of the particle measure to the last snapshot of the next seed "
            "(an independent sample of the stationary law)")
    return out.rename("w2_stationary").assign_attrs(description=desc)
