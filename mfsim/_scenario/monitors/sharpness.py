"""``[[monitors]] name = "sharpness"``: :class:`mfsim.Sharpness`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..._monitors.sharpness import Sharpness
from ..._system import AbstractSupervisedSystem
from ..entry import MemoryContext, MemoryTerm, MonitorEntry, MonitorMemory
from ..table import PosInt, Table


class SharpnessMonitor(Table):
    """Top eigenvalues of the objective's Hessian (Lanczos on Hessian-vector products)."""

    name: Literal["sharpness"]
    k: Annotated[int, Field(ge=1, le=100)] = Field(1, description="eigenvalues kept")
    iterations: PosInt | None = Field(
        None, description="the most Lanczos iterations (Hessian-vector products) per save "
        "(default max(2k + 20, 32), at most the parameter count: then exact)")
    rtol: Annotated[float, Field(ge=0)] | None = Field(
        None, description="stop Lanczos once each top-k Ritz residual is at most rtol x the "
        "largest of the k values: their relative error bound (default 1e-8 in float64, 1e-5 "
        "in float32; at least 4 eps of the dtype; 0: every iteration)")
    ntk: bool = Field(False, description="also ntk_sharpness = lambda_max(Theta_t(X, X)) / n, "
                      "the Gauss-Newton part's top eigenvalue (supervised systems)")


def needs(cfg: SharpnessMonitor) -> dict[str, tuple[type, ...]]:
    return {"ntk": (AbstractSupervisedSystem,)} if cfg.ntk else {}


def memory(cfg: SharpnessMonitor, m: MemoryContext, key: str) -> MonitorMemory:
    iterations = cfg.iterations or max(2 * cfg.k + 20, 32)
    elements = (iterations + 4) * m.system.params  # the Lanczos basis
    terms = [MemoryTerm(f"{key}.iterations", "the sharpness monitor's Lanczos basis",
                        m.bytes_per_element * elements * m.batch)]
    if cfg.ntk:
        n = m.data.n_train
        terms.append(MemoryTerm(f"{key}.ntk", "the sharpness monitor's NTK",
                                m.bytes_per_element * (2 * n * n + m.system.gram_work(n))
                                * m.batch))
    return MonitorMemory(saved=cfg.k, terms=tuple(terms))


ENTRY = MonitorEntry(
    SharpnessMonitor, Sharpness,
    lambda cfg, ctx: Sharpness(k=cfg.k, iterations=cfg.iterations, ntk=cfg.ntk,
                                  rtol=cfg.rtol),
    memory=memory, needs=needs)
