r"""Which $W_2$ the :class:`mfsim.Wasserstein` monitor computes, as objects:
:class:`W2Exact` (exact optimal transport, on the host in float64),
:class:`W2Sinkhorn` (the debiased Sinkhorn divergence, on the device),
:class:`W2Both`, and :class:`W2Auto`, which becomes one of the first two per
solve by the rule of :func:`auto_method`. Names (``"exact"``, ...) become
these objects in :func:`w2_method`.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax

from .._named import named


class AbstractW2Method(eqx.Module):
    """What a Wasserstein monitor computes: the Sinkhorn divergence, the
    exact $W_2$, or both."""

    name: ClassVar[str]
    sinkhorn: ClassVar[bool] = False
    exact: ClassVar[bool] = False


class W2Exact(AbstractW2Method):
    """The exact $W_2$: scipy's assignment solver for equal sizes, the
    transport LP otherwise (host, float64)."""

    name = "exact"
    exact = True


class W2Sinkhorn(AbstractW2Method):
    r"""$\sqrt{\max(S_\varepsilon, 0)}$ from the debiased Sinkhorn divergence (ott-jax)."""

    name = "sinkhorn"
    sinkhorn = True


class W2Both(AbstractW2Method):
    """The Sinkhorn divergence, and the exact $W_2$ beside it."""

    name = "both"
    sinkhorn = True
    exact = True


class W2Auto(AbstractW2Method):
    """:class:`W2Exact` where it was measured cheaper than one save point's
    Sinkhorn divergence, else :class:`W2Sinkhorn` (:func:`auto_method`),
    decided once per solve."""

    name = "auto"


W2_METHODS: dict[str, AbstractW2Method] = {
    m.name: m for m in (W2Auto(), W2Sinkhorn(), W2Exact(), W2Both())}


def w2_method(spec: str | AbstractW2Method) -> AbstractW2Method:
    """A method object, or its name (``"auto"``, ``"sinkhorn"``, ``"exact"``, ``"both"``)."""
    return named(spec, AbstractW2Method, W2_METHODS, "method")


# W2Auto: the exact W2 where it was measured cheaper than one save point's
# Sinkhorn divergence at the requested accuracy (bench/w2_method.py; the
# figures in bench/RESULTS.md, "w2_method"). On CPU: for equal sizes, scipy's
# assignment solver, up to EXACT_MAX_PARTICLES (past it the float64 cost matrix
# alone passes 512 MiB and the assignment's worst case grows as m^3); for
# unequal sizes (a teacher's neurons), the transport LP up to
# EXACT_LP_MAX_PAIRS pairs. On a GPU Sinkhorn runs on the device and the exact
# solve on the host, not measured there: accelerators take exact only for
# problems of at most EXACT_ACCELERATOR_MAX_PAIRS pairs (a fraction of a second
# on the host in the CPU worst case).
EXACT_MAX_PARTICLES = 8192
EXACT_LP_MAX_PAIRS = 2**16
EXACT_ACCELERATOR_MAX_PAIRS = 2**20


def auto_method(n: int, k: int, platform: str | None = None) -> AbstractW2Method:
    """:class:`W2Exact` or :class:`W2Sinkhorn`: what :class:`W2Auto` runs for
    ``n`` particles against ``k`` target particles on ``platform`` (default:
    JAX's default backend)."""
    platform = platform or jax.default_backend()
    if platform != "cpu":
        exact = n * k <= EXACT_ACCELERATOR_MAX_PAIRS
    elif n == k:
        exact = n <= EXACT_MAX_PARTICLES
    else:
        exact = n * k <= EXACT_LP_MAX_PAIRS
    return W2Exact() if exact else W2Sinkhorn()


def auto_rule(n: int, k: int, platform: str | None = None) -> str:
    """The rule :func:`auto_method` applied, in words (the same for every size
    it covers, so that the points of a sweep that chose alike say alike)."""
    platform = platform or jax.default_backend()
    if platform != "cpu":
        return f"exact up to {EXACT_ACCELERATOR_MAX_PAIRS} particle pairs on an accelerator"
    if n == k:
        return f"exact up to {EXACT_MAX_PARTICLES} particles against as many on cpu"
    return f"exact up to {EXACT_LP_MAX_PAIRS} particle pairs for unequal sizes on cpu"
