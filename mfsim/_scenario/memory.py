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
from .schema import Scenario

# copies of the state a solve holds: initial, current, next and final state,
# the stages and the error estimate
SOLVER_COPIES = {"euler": 5, "heun": 7, "tsit5": 12, "dopri5": 12, "dopri8": 18, "kvaerno5": 14}


@dataclass(frozen=True)
class Term:
    key: str  # the scenario key that drives this term (named in the error)
    what: str
    bytes: float


@dataclass(frozen=True)
class MemoryEstimate:
    terms: tuple[Term, ...]

    @property
    def total(self) -> float:
        return sum(t.bytes for t in self.terms)

    @property
    def largest(self) -> Term:
        return max(self.terms, key=lambda t: t.bytes)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError


def _data_sizes(task) -> tuple[int, int, int, int]:
    """(n_train, n_test, input dimension, output dimension)."""
    kind = task.kind
    if kind == "sinusoids":
        return task.n_train, task.n_test, 1 if task.domain == "interval" else 2, 1
    if kind == "linear_teacher":
        return task.n_train, task.n_test, task.d, task.d_out
    if kind == "sequence":
        return 0, 0, 0, 0
    return task.n_train, task.n_test, task.d, 1


def _system_sizes(scenario: Scenario, n: int, d: int, d_out: int, platform: str
                  ) -> tuple[int, int, str]:
    """(parameters P, vector-field intermediates in elements, driving key)."""
    s = scenario.system
    if s.kind == "two_layer":
        from .._systems.two_layer import auto_block

        m = s.width
        block = s.block if s.block is not None else auto_block(n, m, platform)
        p = m * (d + 1 + int(s.bias))
        # pre-activations, activations, derivatives and the gradient's cotangents
        return p, 4 * n * (min(block, m) if block else m) + 2 * p, "system.width"
    if s.kind == "mlp":
        dims = [d, *s.widths, 1]
        p = sum(a * b + b * int(s.bias) for a, b in zip(dims[:-1], dims[1:]))
        return p, 4 * n * sum(s.widths) + 2 * p, "system.widths"
    if s.kind == "deep_linear":
        dims = [d, *s.widths, d_out]
        p = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
        return p, 2 * n * sum(dims) + 2 * p, "system.widths"
    if s.kind == "diagonal_linear":
        return 2 * d, 2 * n * d, "task.d"
    big_n = scenario.task.N
    if s.kind == "adaptive_sequence":  # A (N x N) and d; products and QR of N x N
        return big_n * big_n + big_n, 4 * big_n * big_n, "task.N"
    p = big_n if s.kind == "vanilla_sequence" else 2 * big_n
    return p, 3 * p, "task.N"


def estimate(scenario: Scenario, *, platform: str = "cpu", points: int = 1,
             batch: int = 1) -> MemoryEstimate:
    """Bytes one solve of ``scenario`` needs, with ``points`` points built and
    ``batch`` of them solved at once."""
    b = 8 if scenario.dtype == "float64" else 4
    task = scenario.task
    n, n_test, d, d_out = _data_sizes(task)
    p, field, skey = _system_sizes(scenario, n, d, d_out, platform)
    copies = SOLVER_COPIES[scenario.solver.name]

    def gram_work(k: int) -> int:
        """Elements of the working arrays of a k x k NTK Gram matrix: the
        structured kernels of the two-layer network and the MLP use k x width
        features per layer, the others per-input gradients (k x P)."""
        if scenario.system.kind == "two_layer":
            return 3 * k * scenario.system.width
        if scenario.system.kind == "mlp":
            return 4 * k * sum(scenario.system.widths)
        return k * p

    terms = []
    if task.kind == "sequence":
        data = 4 * task.N
        terms.append(Term("task.N", "the sequence data", b * data * points))
    else:
        data = (n + n_test) * (d + d_out)
        terms.append(Term("task.n_train", "the data", b * data * points))
    if task.kind == "ntk_eigenfunction":  # the Gram matrix of the pooled inputs, eigh
        pooled = n + n_test
        terms.append(Term("task.n_train", "the eigenfunction task's NTK Gram matrix",
                          b * (3 * pooled * pooled + gram_work(pooled))))
    terms.append(Term(skey, f"the state ({p:,} parameters) and the solver's {copies} copies",
                      b * p * (copies * batch + max(points - batch, 0))))
    terms.append(Term(skey, "the vector field's intermediates", b * field * batch))
    if scenario.solver.name == "kvaerno5":  # the implicit stages' Jacobian and its LU
        terms.append(Term(skey, "the implicit solver's Jacobian", 2 * b * p * p * batch))
    t_save = scenario.save.n
    saved = 8 * t_save  # losses and other scalars
    for i, cfg in enumerate(scenario.monitors):
        key = f"monitors[{i}]"
        if cfg.name == "train_outputs":
            saved += t_save * n * d_out
        elif cfg.name in ("test_outputs", "fourier"):
            saved += t_save * n_test
        elif cfg.name in ("param_distance", "invariants"):
            terms.append(Term(key, f"monitor {cfg.name}'s initial state", b * p * batch))
        elif cfg.name == "particle_snapshots":
            terms.append(Term(f"{key}.times", "the particle snapshots",
                              b * p * len(cfg.times) * batch))
        elif cfg.name == "kernel":
            k = min(cfg.subsample, n)
            # Gram at init, at t and its eigendecomposition; per-input gradients
            terms.append(Term(f"{key}.subsample", "the kernel monitor's Gram matrices",
                              b * (4 * k * k + gram_work(k)) * batch))
        elif cfg.name == "residual_modes":
            terms.append(Term(f"{key}", "the NTK eigenvectors of residual_modes",
                              b * (3 * n * n + gram_work(n))))
        elif cfg.name == "wasserstein":
            m = getattr(scenario.system, "width", 1)
            s = min(cfg.subsample or m, m)
            # cost and kernel matrices of the three solves of a Sinkhorn divergence
            terms.append(Term(f"{key}.subsample", "the Sinkhorn cost matrices",
                              6 * b * s * s * batch))
        elif cfg.name == "learned_kernel":
            terms.append(Term("task.N", "the learned kernel", 3 * b * task.N ** 2 * batch))
    saved += t_save * n if scenario.compare.linearized or scenario.compare.kernels else 0
    terms.append(Term("save.n", "the saved values", b * saved * batch * points))
    if scenario.compare.linearized:
        terms.append(Term("compare.linearized", "the linearized twin",
                          b * p * (copies + 3) * points))
    for kind in scenario.compare.kernels:
        gram = n * n + n_test * n + (gram_work(n) if kind == "empirical" else 0)
        terms.append(Term("compare.kernels", f"the {kind} constant-kernel twin",
                          b * (gram + 2 * n * n) * points))
    return MemoryEstimate(tuple(terms))


def available_bytes(platform: str) -> float:
    """Memory of the device the run uses: the accelerator's limit, or the
    host's physical memory."""
    if platform != "cpu":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        if "bytes_limit" in stats:
            return float(stats["bytes_limit"])
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def preflight(points, *, batch: int | str, source: str, platform: str | None = None,
              available: float | None = None) -> None:
    """Raise a :class:`ScenarioError` naming the key that dominates when the
    largest point of a sweep needs more memory than there is."""
    if platform is None:
        import jax

        platform = jax.default_backend()
    limit = available_bytes(platform) if available is None else available
    count = len(points)
    at_once = min(batch, count) if isinstance(batch, int) else 1
    worst, where = None, ""
    for point in points:
        est = estimate(point.scenario, platform=platform, points=count, batch=at_once)
        if worst is None or est.total > worst.total:
            worst, where = est, (f"sweep point {point.label()}: " if point.overrides else "")
    if worst.total > limit:
        big = worst.largest
        raise ScenarioError(
            f"{source}: {where}{big.key}: the run needs an estimated "
            f"{format_bytes(worst.total)} of memory ({big.what}: {format_bytes(big.bytes)}), "
            f"more than the {format_bytes(limit)} of this {platform} device; reduce it "
            "(or pass --no-memory-check)")
