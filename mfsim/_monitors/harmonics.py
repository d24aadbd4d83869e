r"""Energy per spherical-harmonic degree, on a held-out sample of the sphere.

For a function $g$ on $S^{d-1}$ write $g = \sum_\ell g_\ell$ with $g_\ell$ in
the space $H_\ell$ of degree-$\ell$ harmonics. On a sample $x_1..x_n$ (the
test inputs, uniform on a sphere), mfsim decomposes the vector $g(x_i)$ by
least squares on $H_0 \oplus \dots \oplus H_L$ restricted to the sample, and
records $E_\ell = \frac1n\sum_i g_\ell(x_i)^2$ for $\ell \le L$: the residual's
($g = f - y$) and the prediction's ($g = f$). The restriction of $H_\ell$ to
the sample is the column space of its reproducing kernel
$N(d,\ell)P_\ell(x_i\cdot x_j/|x_i||x_j|)$ (addition theorem); its
$N(d,\ell)$ leading eigenvectors are the basis used, so no basis of
harmonics is ever written down. Needs $n \ge \sum_{\ell\le L} N(d,\ell)$.
The bases and the least-squares pseudo-inverse are computed once, on the
host, in float64.

With ``mu`` (the eigenvalues $\mu_\ell$ of the kernel $K$ driving the
infinite-width flow $\dot f = -\frac1n K(f-y)$, e.g. from
:func:`mfsim.sphere_eigenvalues` of ``system.analytic_ntk()``), the monitor
also records the kernel-flow prediction
``theory_harmonic_residual`` $= E_\ell(0)\,e^{-2\mu_\ell t}$ from the
residual's energies at the start: each degree is learned on the time scale
$1/\mu_\ell$ (the spectral bias on the sphere).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._kernels.sphere import gegenbauer, harmonic_multiplicity
from .._system import AbstractRegressionSystem, AbstractScalarOutputSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable, reference


def harmonic_bases(x, max_degree: int) -> list[np.ndarray]:
    """Per degree l <= max_degree, an orthonormal basis (columns) of the
    degree-l harmonics restricted to the rows of ``x`` (directions taken)."""
    u = np.asarray(x, np.float64)
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    n, d = u.shape
    need = sum(harmonic_multiplicity(d, k) for k in range(max_degree + 1))
    if n < need:
        raise ValueError(f"{n} sample points cannot resolve degrees up to {max_degree} in "
                         f"d = {d}: they need {need} (the harmonics of those degrees)")
    t = np.clip(u @ u.T, -1.0, 1.0)
    bases = []
    for k in range(max_degree + 1):
        lam, vec = np.linalg.eigh(gegenbauer(k, d, t))
        bases.append(vec[:, -harmonic_multiplicity(d, k):])
    return bases


class HarmonicEnergy(AbstractMonitor):
    """``harmonic_residual`` and ``harmonic_prediction`` per degree 0..L on
    the held-out sample ``x`` (targets ``y``): see the module."""

    basis: Float[Array, "n m"]
    solve: Float[Array, "m n"]
    y: Float[Array, " n"]
    x: Float[Array, "n d"]
    sizes: tuple[int, ...] = eqx.field(static=True)
    mu: Float[Array, " L"] | None = None

    requires: ClassVar = (AbstractRegressionSystem, AbstractScalarOutputSystem)

    def __init__(self, x, y, max_degree: int, mu=None):
        bases = harmonic_bases(x, int(max_degree))
        basis = np.concatenate(bases, axis=1)
        dtype = jnp.asarray(y).dtype
        self.basis = jnp.asarray(basis, dtype)
        self.solve = jnp.asarray(np.linalg.pinv(basis), dtype)
        self.y, self.x = jnp.asarray(y, dtype), jnp.asarray(x, dtype)
        self.sizes = tuple(b.shape[1] for b in bases)
        if mu is not None:
            mu = np.asarray(mu, np.float64)
            if mu.shape != (len(bases),):
                raise ValueError(f"mu needs one eigenvalue per degree 0..{max_degree}; "
                                 f"got shape {mu.shape}")
            mu = jnp.asarray(mu, dtype)
        self.mu = mu

    def energies(self, g) -> Float[Array, " L"]:
        """E_l of the values ``g`` on the sample, per degree."""
        coef = self.solve @ g
        out, start = [], 0
        for size in self.sizes:
            part = self.basis[:, start:start + size] @ coef[start:start + size]
            out.append(jnp.mean(part**2))
            start += size
        return jnp.stack(out)

    def for_twin(self) -> HarmonicEnergy:
        """Twins record the energies, not the theory (the network's limit, kept once)."""
        return eqx.tree_at(lambda m: m.mu, self, None, is_leaf=lambda x: x is None)

    def prepare(self, system, state0):
        if self.mu is None:
            return None
        return self.energies(system.predict(state0, self.x) - self.y)

    def __call__(self, t, state, ctx: MonitorContext):
        f = ctx.system.predict(state, self.x)
        out = {"harmonic_residual": self.energies(f - self.y),
               "harmonic_prediction": self.energies(f)}
        if self.mu is not None:
            out["theory_harmonic_residual"] = ctx.data * jnp.exp(-2.0 * self.mu * t)
        return out

    def variables(self):
        out = {"harmonic_residual": Variable(
                   "energy of the residual f - y in each spherical-harmonic degree (held-out "
                   "sample)", "residual energy per degree", "$E_\\ell(t)$", scale="log",
                   figure="learning_times"),
               "harmonic_prediction": Variable(
                   "energy of the prediction f in each spherical-harmonic degree (held-out "
                   "sample)", "prediction energy per degree", "$\\|P_\\ell f\\|^2$",
                   scale="log")}
        if self.mu is not None:
            out["theory_harmonic_residual"] = reference(
                "infinite-width kernel-flow prediction E_l(0) exp(-2 mu_l t) of "
                "harmonic_residual", "residual energy per degree", "harmonic_residual",
                "kernel flow $E_\\ell(0)e^{-2\\mu_\\ell t}$", symbol="$E_\\ell(t)$",
                scale="log")
        return out

    def dims(self):
        return {name: ("degree",) for name in self.variables()}

    def coords(self):
        return {"degree": np.arange(len(self.sizes))}
