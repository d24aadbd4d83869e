"""``[[monitors]] name = "singular_values"``: :class:`mfsim.SingularValues`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._monitors.movement import SingularValues
from ..._systems.deep_linear import DeepLinearNetwork
from ..entry import MonitorEntry, error
from ..table import Table
from ..tasks.capabilities import WhitenedInputs


class SingularValuesMonitor(Table):
    """Singular values of the end-to-end map W_L ... W_1."""

    name: Literal["singular_values"]
    theory: bool = Field(
        False, description="also record Saxe et al.'s closed form for each mode "
        "(theory_singular_values, drawn over the measured ones): a deep_linear system with "
        "one hidden layer, init = \"aligned\", on task linear_teacher with whiten = true")


def check(cfg: SingularValuesMonitor, scenario, where: str):
    if not cfg.theory:
        return None
    system, task = scenario.system, scenario.task  # DeepLinearNetwork, WhitenedInputs
    if len(system.widths) != 1:
        return error("monitor", "Saxe's closed form needs one hidden layer "
                     "(system.widths with one entry)", f"{where}.theory")
    if system.init != "aligned":
        return error("monitor", "Saxe's closed form is exact from system.init = \"aligned\"",
                     f"{where}.theory")
    if not task.whitened():
        return error("monitor", "Saxe's closed form needs whitened inputs (task.whiten = "
                     "true)", f"{where}.theory")
    return None


ENTRY = MonitorEntry(SingularValuesMonitor, SingularValues,
                     lambda cfg, ctx: SingularValues(theory=cfg.theory), check=check,
                     needs=lambda cfg: {"theory": (DeepLinearNetwork,)} if cfg.theory else {},
                     task_needs=lambda cfg: {"theory": (WhitenedInputs,)} if cfg.theory else {})
