r"""Where a recorded quantity crosses a level along one swept key, and how
that crossing point scales with another.

The lazy-to-feature crossover of Geiger, Spigler, Jacot & Wyart (2020): a
network in the NTK parameterization with output scale $\alpha$ and width
$h$, trained to a fixed loss, changes its kernel by
$\|\Theta_{stop}-\Theta_0\|/\|\Theta_0\|$; that change falls as $\alpha$
grows, and the $\alpha^*$ at which it crosses a fixed level scales as
$\alpha^* \propto h^{-1/2}$ (the mean-field scaling is $\alpha = 1/\sqrt h$).

:func:`crossover` reduces each sweep point to one value of the variable
(its final value: with a stopping rule, its value at the stop), finds for
every other point of the sweep the first value of the ``along`` key at
which it crosses ``level`` (interpolated linearly in log-log between the
two grid values that bracket the crossing; NaN where the grid does not
bracket one), and fits $\log x^* = s \log a + c$ against the ``across``
key over every crossing found (seeds included) by least squares, with the
95% interval of the slope from Student's t on $n - 2$ degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._monitors.variable import Variable
from .analysis import point_value, power_law_interval
from .lazy_xarray import xr

#: the figure kind that draws a crossover variable (:mod:`mfsim.plotting.crossover`)
CROSSOVER_FIGURE = "crossover"


@dataclass(frozen=True)
class CrossoverSpec:
    """What :func:`crossover` computes: where ``variable`` (reduced by
    ``how``: ``"final"`` or ``"min"``) crosses ``level`` along the sweep
    dimension ``along``, scaled against the sweep dimension ``across``;
    ``predicted_slope`` (or None): the slope theory predicts, drawn beside
    the fit."""

    variable: str
    along: str
    across: str
    level: float
    how: str = "final"
    predicted_slope: float | None = None

    def __post_init__(self):
        if self.along == self.across:
            raise ValueError(f"crossover: along and across are both {self.along!r}")
        if not (math.isfinite(self.level) and self.level > 0):
            raise ValueError(f"crossover: level {self.level!r} must be finite and > 0")


def crossing_point(x, y, level: float) -> float:
    """The first ``x`` (in increasing order) at which ``y`` crosses
    ``level``, either way, interpolated linearly in ``log x`` and ``log y``
    between the bracketing pair (a pair with a non-finite or non-positive
    entry brackets nothing); NaN when no pair brackets the level."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    for k in range(len(x) - 1):
        (x0, x1), (y0, y1) = x[k:k + 2], y[k:k + 2]
        if not (np.all(np.isfinite([x0, x1, y0, y1])) and min(x0, x1, y0, y1) > 0):
            continue
        if y0 == level:
            return float(x0)
        if (y0 - level) * (y1 - level) <= 0 and y0 != y1:
            f = math.log(y0 / level) / math.log(y0 / y1)
            return float(math.exp(math.log(x0) + f * math.log(x1 / x0)))
    return float("nan")


def crossover(ds: xr.Dataset, spec: CrossoverSpec) -> xr.Dataset:
    """The crossing points of ``spec`` over the sweep ``ds`` as a dataset
    holding one variable, ``<along>_star``, over the other sweep
    dimensions, its attributes the spec and the fit: ``crossover_slope``,
    ``crossover_slope_half`` (half-width of its 95% interval; NaN with
    fewer than three crossings), ``crossover_prefactor`` ($e^c$),
    ``crossover_r2`` and ``crossover_found`` (crossings found)."""
    for dim in (spec.along, spec.across):
        if dim not in ds.dims:
            raise ValueError(f"crossover: {dim!r} is not a sweep dimension of the results "
                             f"(dimensions: {', '.join(map(str, ds.dims))})")
    if spec.variable not in ds:
        raise ValueError(f"crossover: the results record no {spec.variable!r}")
    values = point_value(ds, spec.variable, spec.how)
    rest = [d for d in values.dims if d != spec.along]
    grid = np.asarray(ds[spec.along].values, float)
    flat = np.asarray(values.transpose(*rest, spec.along).values, float)
    shape = flat.shape[:-1]
    stars = np.array([crossing_point(grid, row, spec.level)
                      for row in flat.reshape(-1, grid.size)]).reshape(shape)
    star = xr.DataArray(stars, dims=rest, coords={d: ds[d] for d in rest if d in ds.coords})
    across = np.asarray(star[spec.across].broadcast_like(star).values, float)
    fit = power_law_interval(across, stars)
    slope, half, r2, c = fit if fit is not None else (math.nan,) * 4
    name = f"{spec.along}_star"
    along_var = Variable.of(spec.along, ds[spec.along].attrs)
    var = Variable(
        f"{along_var.long_name} at which {spec.variable} ({spec.how} value) crosses "
        f"{spec.level:g}, against {spec.across}", f"crossover {along_var.long_name}",
        symbol=_starred(along_var.symbol), scale="log", role="hidden",
        figure=CROSSOVER_FIGURE)
    star.attrs = {**var.attrs(), "crossover_variable": spec.variable,
                  "crossover_along": spec.along, "crossover_across": spec.across,
                  "crossover_level": float(spec.level), "crossover_how": spec.how,
                  "crossover_predicted_slope": (math.nan if spec.predicted_slope is None
                                                else float(spec.predicted_slope)),
                  "crossover_slope": slope, "crossover_slope_half": half,
                  "crossover_r2": r2, "crossover_prefactor": math.exp(c),
                  "crossover_found": int(np.isfinite(stars).sum())}
    return xr.Dataset({name: star})


def crossover_spec(ds: xr.Dataset, name: str) -> CrossoverSpec:
    """The spec a crossover variable of a results file was computed with."""
    a = ds[name].attrs
    predicted = float(a.get("crossover_predicted_slope", math.nan))
    return CrossoverSpec(str(a["crossover_variable"]), str(a["crossover_along"]),
                         str(a["crossover_across"]), float(a["crossover_level"]),
                         str(a.get("crossover_how", "final")),
                         None if math.isnan(predicted) else predicted)


def _starred(symbol: str) -> str:
    r"""``$\alpha$`` -> ``$\alpha^*$``; no symbol: none."""
    if symbol.startswith("$") and symbol.endswith("$") and len(symbol) > 2:
        return f"${symbol[1:-1]}^*$"
    return symbol
