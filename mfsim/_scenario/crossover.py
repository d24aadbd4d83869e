"""The ``[crossover]`` table: where a recorded variable crosses a level
along one swept key, and how that point scales with another swept key
(:mod:`mfsim._store.crossover` computes it after the sweep)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .table import PosFloat, Table


class CrossoverConfig(Table):
    """After a sweep: the value of the swept key ``along`` at which a
    variable's final value (with a stopping rule: its value at the stop)
    crosses ``level``, for every value of the swept key ``across`` (and
    seed), fitted as a power law in ``across`` with its 95% interval;
    results.nc records it (``<along>_star``) and the crossover figure draws
    it. Both keys must be grid axes of numbers > 0."""

    variable: str | None = Field(
        None, description="the variable whose crossing is found, a scalar a monitor records "
        "(kernel_drift); unset: no crossover")
    along: str | None = Field(
        None, description="the swept key the crossing is found along (system.scale)")
    across: str | None = Field(
        None, description="the swept key the crossing point is fitted against (system.width)")
    level: PosFloat | None = Field(None, description="the level crossed")
    how: Literal["final", "min"] = Field(
        "final", description="each run's one value of the variable: its final value (at the "
        "stop, with a stopping rule) or its minimum over the saves")
    predicted_slope: float | None = Field(
        None, description="the slope of log along* against log across that theory predicts "
        "(Geiger et al. 2020: -0.5 for the lazy-feature crossover), drawn beside the fit")

    @model_validator(mode="after")
    def _complete(self):
        keys = ("along", "across", "level")
        if self.variable is None:
            for key in keys + ("predicted_slope",):
                if getattr(self, key) is not None:
                    raise PydanticCustomError("needs_variable", "is set without "
                                              "crossover.variable", {"key": key})
            return self
        for key in keys:
            if getattr(self, key) is None:
                raise PydanticCustomError("missing_key", "crossover.variable is set: set "
                                          "crossover.{k} too", {"k": key, "key": key})
        if self.along == self.across:
            raise PydanticCustomError("same_key", "must differ from crossover.along",
                                      {"key": "across"})
        return self

    def check_sweep(self, grid: dict) -> None:
        """``along`` and ``across`` are grid axes of positive numbers."""
        if self.variable is None:
            return
        for key in ("along", "across"):
            name = getattr(self, key)
            values = grid.get(name)
            if values is None:
                raise PydanticCustomError(
                    "not_swept", "{name} is not a sweep.grid axis (axes: {axes})",
                    {"name": name, "axes": ", ".join(grid) or "none",
                     "key": f"crossover.{key}"})
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                       for v in values):
                raise PydanticCustomError(
                    "not_positive", "the axis {name} must take numbers > 0 (a log scale)",
                    {"name": name, "key": f"crossover.{key}"})
