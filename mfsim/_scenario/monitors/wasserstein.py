"""``[[monitors]] name = "wasserstein"``: :class:`mfsim.Wasserstein`."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field

from ..._monitors import wasserstein as w2
from ..._monitors.wasserstein import Wasserstein
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import PosFloat, Table


class WassersteinMonitor(Table):
    """Sinkhorn divergence / W2 between the particle measure and a target measure (ott-jax)."""

    name: Literal["wasserstein"]
    target: Literal["init", "teacher"] = Field(
        "init", description="the target measure: mu_0, or the teacher's neurons (task teacher); "
        "formerly `reference`")
    epsilon: PosFloat = Field(w2.EPSILON, description="absolute entropic regularization")
    threshold: PosFloat = Field(w2.THRESHOLD, description="Sinkhorn's marginal-error threshold")
    max_iterations: Annotated[int, Field(ge=10, le=1_000_000)] = Field(
        w2.MAX_ITERATIONS, description="Sinkhorn iterations at most")
    exact: bool = Field(False, description="also the exact W2 (host-side; small widths)")
    sinkhorn: bool = Field(True, description="the Sinkhorn divergence; false: only the exact "
                           "W2 (needs exact = true)")
    subsample: Optional[Annotated[int, Field(ge=2)]] = Field(
        None, description="only the first this many particles (a random subsample: "
        "i.i.d. at init); unset: all")


def build(cfg: WassersteinMonitor, ctx) -> Wasserstein:
    target = ctx.data.teacher_particles if cfg.target == "teacher" else None
    return Wasserstein(target=target, name=cfg.target, epsilon=cfg.epsilon,
                       threshold=cfg.threshold, max_iterations=cfg.max_iterations,
                       exact=cfg.exact, subsample=cfg.subsample, sinkhorn=cfg.sinkhorn)


def check(cfg: WassersteinMonitor, scenario, where: str):
    if not (cfg.sinkhorn or cfg.exact):
        return error("monitor", "sinkhorn = false needs exact = true (nothing to compute "
                     "otherwise)", f"{where}.sinkhorn")
    if cfg.target == "teacher":
        if scenario.task.kind != "teacher":
            return error("monitor", "target teacher needs task teacher", f"{where}.target")
        if scenario.system.model_dump().get("bias", False):
            return error("monitor", "target teacher needs a system without bias (the "
                         "teacher's neurons have none)", f"{where}.target")
    return None


def memory(cfg: WassersteinMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    s = min(cfg.subsample or m.system.particles, m.system.particles)
    terms = []
    if cfg.sinkhorn:  # cost and kernel matrices of the three solves of a Sinkhorn divergence
        terms.append(MemoryTerm(f"{key}.subsample", "the Sinkhorn cost matrices",
                                6 * m.bytes_per_element * s * s * m.batch))
    if cfg.exact:  # the float64 cost matrix on the host, and the solver's copy
        terms.append(MemoryTerm(f"{key}.exact", "the exact W2's cost matrix (host, float64)",
                                2 * 8 * s * s))
    return MonitorMemory(terms=tuple(terms))


ENTRY = MonitorEntry(WassersteinMonitor, Wasserstein, build, memory=memory, check=check,
                     renamed={"reference": "target"})
