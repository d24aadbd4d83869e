"""What a recorded variable is, for a reader and for a figure.

Each monitor declares, for each variable it writes, a :class:`Variable`: its
one-line description, a name and units for an axis (CF conventions:
``long_name``, ``units``, ``"1"`` for a pure number), a mathtext symbol, the
scale it is read on, its natural range, its role (a metric, a diagnostic, a
closed form or reference drawn over another variable, or recorded but not
drawn) and whether the indices of its non-time axes are ordered (modes,
degrees, eigenvalues) or categorical. The run writes them as attributes of
the variable in ``results.nc`` (:meth:`Variable.attrs`), so xarray users read
``ds.train_loss.attrs["long_name"]`` and figures are chosen and labelled from
the results alone (:meth:`Variable.of`), never from the variable's name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

Scale = Literal["linear", "log", "symlog"]
Role = Literal["metric", "diagnostic", "reference", "hidden"]
ROLES = ("metric", "diagnostic", "reference", "hidden")
SCALES = ("linear", "log", "symlog")


@dataclass(frozen=True)
class Variable:
    """Display metadata of one recorded variable.

    - ``description``: one line, what it is and how it is computed.
    - ``long_name``: a short name for an axis ("training loss").
    - ``symbol``: mathtext, with its dollar signs (``r"$\\lambda_1$"``).
    - ``units``: CF units (``"1"``: a pure number; ``"rad"``).
    - ``scale``: the y axis it is read on: ``"log"`` for quantities that
      decay or grow over decades (losses, distances, eigenvalues; a log axis
      is used where its values are positive), ``"symlog"`` for signed ones
      spanning decades, else ``"linear"`` (a linear quantity whose positive
      values span more than 100x is still drawn on a log axis).
    - ``bounds``: its natural range (an accuracy's ``(0, 1)``): no power law is
      fitted to it, and an axis over a small part of the range says so.
    - ``role``: ``"metric"`` (what a run is judged by: losses, accuracy, risk;
      summarized first over a sweep), ``"diagnostic"`` (drawn on its own),
      ``"reference"`` (a closed form or reference drawn over ``over``, in
      black), ``"hidden"`` (recorded, not drawn: constants, solver
      diagnostics, near-duplicates of a drawn variable).
    - ``over``: for a reference, the variable it is drawn over; ``legend``
      its legend entry there ("closed form"). ``predicts``: a twin's
      prediction of the network's ``over`` (the central flow's time-averaged
      loss): recorded by a twin, it stays over the network's variable.
    - ``oracle``: its minimum over time is meaningful (early stopping: test
      loss, risk) and is summarized beside its final value.
    - ``index``: whether the entries of its non-time axes are ``"ordered"``
      (modes, degrees, eigenvalues: a sequential colormap) or
      ``"categorical"``.
    - ``rank``: its order among a sweep summary's panels (lower first).
    - ``figure``: a figure kind that draws it: ``"loss"`` (instead of a
      figure of its own: the training and test losses share one),
      ``"particle_measure"`` and ``"stability"`` (for a hidden variable),
      ``"spectral_bias"``, ``"learning_times"`` (besides its own).
    - ``family``: variables of one family (each hidden layer's feature
      movement) are drawn as the panels of one figure, named after it,
      instead of a figure each.
    """

    description: str
    long_name: str
    symbol: str = ""
    units: str = "1"
    scale: Scale = "linear"
    bounds: tuple[float, float] | None = None
    role: Role = "diagnostic"
    over: str = ""
    legend: str = ""
    oracle: bool = False
    index: Literal["ordered", "categorical"] = "ordered"
    rank: int = 50
    figure: str = ""
    family: str = ""
    predicts: bool = False

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"Variable role {self.role!r}: allowed {', '.join(ROLES)}")
        if self.scale not in SCALES:
            raise ValueError(f"Variable scale {self.scale!r}: allowed {', '.join(SCALES)}")
        if (self.role == "reference") != bool(self.over):
            raise ValueError("a reference names the variable it is drawn over (over=...), "
                             "and only a reference does")

    def label(self) -> str:
        """An axis label: name, symbol and units ("training loss $L$")."""
        text = self.long_name + (f" {self.symbol}" if self.symbol else "")
        return text + (f" [{self.units}]" if self.units not in ("1", "") else "")

    def attrs(self) -> dict:
        """As netCDF attributes (no None: absent fields are left out)."""
        out = {"description": self.description, "long_name": self.long_name,
               "units": self.units, "symbol": self.symbol, "scale": self.scale,
               "role": self.role, "index": self.index, "rank": self.rank,
               "oracle": int(self.oracle), "figure": self.figure, "family": self.family}
        if self.bounds is not None:
            out["valid_range"] = np.asarray(self.bounds, dtype=float)
        if self.over:
            out["over"] = self.over
            out["legend"] = self.legend
        return out

    def renamed(self, prefix: str, system: str) -> Variable:
        """The same variable recorded by a twin (``prefix`` before its name,
        ``system`` before its description)."""
        over = self.over if self.predicts or not self.over else prefix + self.over
        return dataclasses.replace(self, description=f"{system}: {self.description}", over=over)

    @classmethod
    def plain(cls, descriptions: dict[str, str]) -> dict[str, Variable]:
        """Variables known only by a description each (named by it, drawn on
        their own on a linear axis): for a quick monitor of one's own."""
        return {name: cls(desc or name, desc or name) for name, desc in descriptions.items()}

    @classmethod
    def of(cls, name: str, attrs) -> Variable:
        """From a variable's attributes in a results file. Results written
        before variables described themselves have only a description: the
        variable is then drawn on its own, on a linear axis, labelled by it."""
        attrs = dict(attrs)
        description = str(attrs.get("description", "") or name)
        bounds = attrs.get("valid_range")
        role = str(attrs.get("role", "diagnostic"))
        over = str(attrs.get("over", ""))
        if role not in ROLES or (role == "reference") != bool(over):
            role, over = "diagnostic", ""
        scale = str(attrs.get("scale", "linear"))
        return cls(
            description=description,
            long_name=str(attrs.get("long_name", "") or name),
            symbol=str(attrs.get("symbol", "")),
            units=str(attrs.get("units", "1")),
            scale=scale if scale in SCALES else "linear",
            bounds=None if bounds is None else tuple(float(b) for b in np.ravel(bounds)[:2]),
            role=role, over=over, legend=str(attrs.get("legend", "")),
            oracle=bool(int(attrs.get("oracle", 0))),
            index="categorical" if attrs.get("index") == "categorical" else "ordered",
            rank=int(attrs.get("rank", 50)), figure=str(attrs.get("figure", "")),
            family=str(attrs.get("family", "")),
        )


def loss(description: str, long_name: str, symbol: str, **kw) -> Variable:
    """A loss: a metric on a log axis."""
    return Variable(description, long_name, symbol, scale="log", role="metric", **kw)


def reference(description: str, long_name: str, over: str, legend: str, **kw) -> Variable:
    """A closed form or reference value, drawn over ``over``."""
    return Variable(description, long_name, role="reference", over=over, legend=legend, **kw)


def hidden(description: str, long_name: str, **kw) -> Variable:
    """Recorded, not drawn."""
    return Variable(description, long_name, role="hidden", **kw)
