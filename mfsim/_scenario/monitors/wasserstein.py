"""``[[monitors]] name = "wasserstein"``: :class:`mfsim.Wasserstein`."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field

from ..._monitors import wasserstein as w2
from ..._monitors.w2_methods import EXACT_MAX_PARTICLES, W2_METHODS, W2Auto, auto_method
from ..._monitors.wasserstein import Wasserstein
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory, error
from ..table import PosFloat, Table
from ..tasks.capabilities import TeacherNeurons


class WassersteinMonitor(Table):
    """Sinkhorn divergence / W2 between the particle measure and a target measure (ott-jax)."""

    name: Literal["wasserstein"]
    target: Literal["init", "teacher"] = Field(
        "init", description="the target measure: mu_0, or the teacher's neurons (task teacher)")
    epsilon: PosFloat = Field(w2.EPSILON, description="absolute entropic regularization")
    threshold: PosFloat = Field(w2.THRESHOLD, description="Sinkhorn's marginal-error threshold")
    max_iterations: Annotated[int, Field(ge=10, le=1_000_000)] = Field(
        w2.MAX_ITERATIONS, description="Sinkhorn iterations at most")
    method: Literal[tuple(W2_METHODS)] = Field(  # type: ignore[valid-type]
        "auto", description="sinkhorn (the debiased Sinkhorn divergence), exact (exact W2, "
        "host-side, float64), both, or auto: exact where measured cheaper (on CPU: up to "
        f"{EXACT_MAX_PARTICLES} particles against as many; the descriptions in the results "
        "name the method run); replaces `exact` and `sinkhorn`")
    subsample: Optional[Annotated[int, Field(ge=2)]] = Field(
        None, description="only the first this many particles (a random subsample: "
        "i.i.d. at init); unset: all")


def build(cfg: WassersteinMonitor, ctx) -> Wasserstein:
    target = ctx.data.teacher_particles if cfg.target == "teacher" else None
    return Wasserstein(target=target, name=cfg.target, epsilon=cfg.epsilon,
                       threshold=cfg.threshold, max_iterations=cfg.max_iterations,
                       method=W2_METHODS[cfg.method], subsample=cfg.subsample)


def check(cfg: WassersteinMonitor, scenario, where: str):
    if cfg.target == "teacher":  # TeacherNeurons (task_needs)
        if scenario.system.model_dump().get("bias", False):
            return error("monitor", "target teacher needs a system without bias (the "
                         "teacher's neurons have none)", f"{where}.target")
    return None


def task_needs(cfg: WassersteinMonitor) -> dict[str, tuple[type, ...]]:
    return {"target": (TeacherNeurons,)} if cfg.target == "teacher" else {}


def memory(cfg: WassersteinMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    s = min(cfg.subsample or m.system.particles, m.system.particles)
    k = m.data.teacher_width if cfg.target == "teacher" else s
    method = W2_METHODS[cfg.method]
    if isinstance(method, W2Auto):
        method = auto_method(s, k, m.platform)
    terms = []
    if method.sinkhorn:  # cost and kernel matrices of the three solves
        terms.append(MemoryTerm(f"{key}.subsample", "the Sinkhorn cost matrices",
                                6 * m.bytes_per_element * s * max(s, k) * m.batch))
    if method.exact:  # the float64 cost matrix on the host, the solver's copy
        terms.append(MemoryTerm(f"{key}.method", "the exact W2's cost matrix (host, float64)",
                                2 * 8 * s * k))
    return MonitorMemory(terms=tuple(terms))


ENTRY = MonitorEntry(WassersteinMonitor, Wasserstein, build, memory=memory, check=check,
                     task_needs=task_needs)
