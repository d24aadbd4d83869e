"""``[[monitors]] name = "order_parameters"``: :class:`mfsim.OrderParametersMonitor`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.order_parameters import OrderParametersMonitor
from ..entry import MonitorEntry
from ..solvers.optax import OptaxTable
from ..table import Table


class OrderParametersConfig(Table):
    """Generalization error (closed form) and overlaps Q, R, v of a committee machine."""

    name: Literal["order_parameters"]
    plateau: bool = Field(
        False, description="also draw the height of the symmetric plateau: the fixed point with "
        "identical students of the order-parameter ODE at the run's online learning rate and "
        "batch (Newton, once per run)")


def _build(cfg, ctx) -> OrderParametersMonitor:
    """The plateau at online SGD's learning rate eta = tau dt and batch (0 otherwise)."""
    solver = ctx.scenario.solver
    eta, batch = 0.0, 1
    if isinstance(solver, OptaxTable) and solver.online:
        eta = float(ctx.system.time_scale()) * float(solver.dt)
        batch = solver.batch_size or 1
    return OrderParametersMonitor(plateau=cfg.plateau, eta=eta, batch_size=batch)


ENTRY = MonitorEntry(OrderParametersConfig, OrderParametersMonitor, _build, twin=True)
