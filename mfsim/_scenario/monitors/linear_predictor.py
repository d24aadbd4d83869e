"""``[[monitors]] name = "linear_predictor"``: :class:`mfsim.LinearPredictor`."""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from pydantic import Field

from ..._monitors.linear import LinearPredictor
from ..._systems.interpolants import min_l1_interpolant, min_l2_interpolant
from ..entry import MonitorEntry, error
from ..table import Table
from ..tasks.capabilities import LinearRegression


class LinearPredictorMonitor(Table):
    """Norms and recovery error of the linear predictor beta."""

    name: Literal["linear_predictor"]
    interpolants: bool = Field(
        False, description="also record the minimum-l1 and minimum-l2 norm interpolants' "
        "norms, recovery errors and test losses (min_l1_*, min_l2_*; drawn as references): "
        "task sparse_regression with n_train < d")


def _build(cfg, ctx) -> LinearPredictor:
    data = ctx.data
    teacher = data.teacher_particles  # a sparse task stores beta* as a (d, 1) column
    beta_star = None if teacher is None else teacher[:, 0]
    if not cfg.interpolants:
        return LinearPredictor(beta_star)
    dtype = data.x_train.dtype
    found = {"min_l1": min_l1_interpolant(data.x_train, data.y_train),
             "min_l2": min_l2_interpolant(data.x_train, data.y_train)}
    return LinearPredictor(beta_star, {k: jnp.asarray(v, dtype) for k, v in found.items()},
                           data.x_test, data.y_test)


def check(cfg: LinearPredictorMonitor, scenario, where: str):
    if not cfg.interpolants:
        return None
    if not scenario.task.underdetermined():  # LinearRegression (task_needs)
        return error("monitor", "interpolants need an under-determined regression: task.n_train "
                     "< task.d", f"{where}.interpolants")
    return None


ENTRY = MonitorEntry(LinearPredictorMonitor, LinearPredictor, _build, check=check,
                     task_needs=lambda cfg: {"interpolants": (LinearRegression,)}
                     if cfg.interpolants else {})
