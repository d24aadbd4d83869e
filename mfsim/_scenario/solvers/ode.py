"""``[solver] name = "tsit5"`` (and ``heun``, ``bosh3``, ``dopri5``, ``dopri8``,
``kvaerno5``): diffrax's Runge-Kutta solvers with an error estimate,
adaptive under a PID controller by default, or fixed-step with
``adaptive = false``."""

from __future__ import annotations

from typing import Literal

import diffrax
from pydantic import Field

from ..entry import SolverEntry
from .base import AdaptiveTable, solver_settings

SOLVERS = {
    "heun": (diffrax.Heun, 9, "Heun's 2nd-order method (adaptive, embedded Euler error "
             "estimate)"),
    "bosh3": (diffrax.Bosh3, 12, "Bogacki-Shampine 3(2) Runge-Kutta: the default for kinked "
              "(ReLU) flows at rtol >= 1e-5, where higher orders reject steps at the kinks"),
    "tsit5": (diffrax.Tsit5, 12, "Tsitouras 5(4) Runge-Kutta: the default for non-stiff flows"),
    "dopri5": (diffrax.Dopri5, 17, "Dormand-Prince 5(4) Runge-Kutta"),
    "dopri8": (diffrax.Dopri8, 19, "Dormand-Prince 8(7) Runge-Kutta: tight tolerances, smooth "
               "flows"),
}


class ODETable(AdaptiveTable):
    """An explicit Runge-Kutta solver of the flow (of the SDE, with a [noise] table)."""

    name: Literal[tuple(SOLVERS)] = Field(  # type: ignore[valid-type]
        "tsit5", description="the solver (mfsim list solvers)")


class ImplicitTable(AdaptiveTable):
    """An implicit solver, for stiff flows (large output scales)."""

    name: Literal["kvaerno5"] = Field("kvaerno5", description="the solver (mfsim list solvers)")


ENTRY = SolverEntry(
    ODETable, lambda cfg, ctx: solver_settings(cfg, SOLVERS[cfg.name][0](), ctx),
    descriptions={n: s[2] for n, s in SOLVERS.items()},
    copies={n: s[1] for n, s in SOLVERS.items()})
IMPLICIT = SolverEntry(
    ImplicitTable, lambda cfg, ctx: solver_settings(cfg, diffrax.Kvaerno5(), ctx),
    descriptions={"kvaerno5": "Kvaerno 5(4) implicit ESDIRK: stiff flows (large output scales)"},
    copies={"kvaerno5": 14}, implicit=True, noise="none")
