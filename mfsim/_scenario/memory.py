"""Pre-flight memory estimate: refuse a scenario that cannot fit before
anything is built or written.

The estimate is arithmetic on the scenario's sizes (no array is allocated):
the data, the state times the solver's working copies, the vector field's
intermediates, each monitor's working arrays and saved values, the kernel
twins and, for a sweep, every point's built problem (all points are built
before the first solve) plus the batch solved at once. It is meant as an
order of magnitude (tests compare it with XLA's own memory analysis of the
compiled solve, within a factor of 4), enough to tell a run that needs a
terabyte from one that fits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .._errors import ScenarioError
from . import registry, twins
from .entry import DataSizes, MemoryContext, MemoryTerm, SystemMemory, SystemSizes
from .schema import Scenario
from .shapes import system_shapes


@dataclass(frozen=True)
class MemoryEstimate:
    terms: tuple[MemoryTerm, ...]

    @property
    def total(self) -> float:
        return sum(t.bytes for t in self.terms)

    @property
    def largest(self) -> MemoryTerm:
        return max(self.terms, key=lambda t: t.bytes)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError


def estimate(scenario: Scenario, *, platform: str = "cpu", points: int = 1,
             batch: int = 1) -> MemoryEstimate:
    """Bytes one solve of ``scenario`` needs, with ``points`` points built and
    ``batch`` of them solved at once. Each term comes from the registry's
    entries (task, system, monitors), the solver table and the twins."""
    task_e = registry.TASKS[scenario.task.kind]
    data = task_e.sizes(scenario.task)
    sizes = system_sizes(scenario, data, platform)
    solver_e = registry.SOLVERS[scenario.solver.name]
    copies = solver_e.copies[scenario.solver.name]
    m = MemoryContext(8 if scenario.dtype == "float64" else 4, data, sizes, scenario.save.n,
                      points, batch, copies, platform)
    b, p, skey = m.bytes_per_element, sizes.params, sizes.key
    terms = list(task_e.memory(scenario.task, m))
    # every built point's initial state, and per point solved at once the
    # solver's working copies and the final state
    terms.append(MemoryTerm(skey, f"the state ({p:,} parameters) and the solver's {copies} "
                      "copies", b * p * (points + (copies + 1) * batch)))
    terms.append(MemoryTerm(sizes.field_key or skey, "the vector field's intermediates",
                            b * sizes.field * batch))
    if solver_e.implicit:  # the implicit stages' Jacobian and its LU
        terms.append(MemoryTerm(skey, "the implicit solver's Jacobian", 2 * b * p * p * batch))
    saved = 8  # losses and other scalars, per save time
    for i, cfg in enumerate(scenario.monitors):
        mem = registry.MONITORS[cfg.name].memory(cfg, m, f"monitors[{i}]")
        saved += mem.saved
        terms.extend(mem.terms)
    selected = twins.selected(scenario.compare)
    saved += data.n_train if selected else 0  # twins record the training outputs
    terms.append(MemoryTerm("save.n", "the saved values", b * saved * m.t_save * batch * points))
    terms.extend(twin.memory(m) for twin in selected)
    return MemoryEstimate(tuple(terms))


def system_sizes(scenario: Scenario, data: DataSizes, platform: str) -> SystemSizes:
    """The state's elements and particles from the system's shapes
    (:func:`.shapes.system_shapes`); the field's intermediates and the keys
    to name from the entry's :class:`SystemMemory` where it gives them."""
    entry = registry.SYSTEMS[scenario.system.kind]
    shapes = system_shapes(scenario.system, data, scenario.dtype)
    said = entry.memory(scenario.system, data, platform) if entry.memory else SystemMemory()
    # an entry's field is its intermediates beyond the gradient and its
    # cotangent; XLA's account of the compiled field holds everything
    field = (said.field + 2 * shapes.params if said.field is not None
             else shapes.field_elements())
    return SystemSizes(shapes.params, field, said.key, shapes.particles, said.gram,
                       said.field_key)


def available_bytes(platform: str) -> float:
    """Memory of the device the run uses: the accelerator's limit, or the
    host's physical memory."""
    if platform != "cpu":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        if "bytes_limit" in stats:
            return float(stats["bytes_limit"])
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def default_platform() -> str:
    """The platform runs use: JAX's default backend (``cpu``, ``gpu``...)."""
    import jax

    return jax.default_backend()


def point_estimates(points, *, batch: int | str, platform: str) -> list[tuple]:
    """(point, :class:`MemoryEstimate`) for each of ``points`` (a sweep's
    points and reference runs), the largest first: each with all of them
    built and ``batch`` solved at once."""
    count = len(points)
    at_once = min(batch, count) if isinstance(batch, int) else 1
    found = [(p, estimate(p.scenario, platform=platform, points=count, batch=at_once))
             for p in points]
    return sorted(found, key=lambda pe: -pe[1].total)


def preflight(points, *, batch: int | str, source: str, platform: str | None = None,
              available: float | None = None) -> None:
    """Raise a :class:`ScenarioError` naming the key that dominates when the
    largest point of a sweep needs more memory than there is."""
    platform = platform or default_platform()
    limit = available_bytes(platform) if available is None else available
    (point, worst), *_ = point_estimates(points, batch=batch, platform=platform)
    where = f"sweep point {point.label()}: " if point.overrides else ""
    if worst.total > limit:
        big = worst.largest
        raise ScenarioError(
            f"{source}: {where}{big.key}: the run needs an estimated "
            f"{format_bytes(worst.total)} of memory ({big.what}: {format_bytes(big.bytes)}), "
            f"more than the {format_bytes(limit)} of this {platform} device; reduce it "
            "(or pass --no-memory-check)")
