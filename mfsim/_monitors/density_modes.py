r"""The residual on the eigenfunctions of a kernel's operator under the data
density: spectral bias when the inputs are not uniform.

With $\phi_1..\phi_k$ the top eigenfunctions of $T_p$ (orthonormal in
$L^2(p)$, eigenvalues $\lambda_1\ge\dots\ge\lambda_k$; e.g. Nyström estimates,
:class:`mfsim.NystromEigenfunctions`) and held-out points $x_j\sim p$, the
monitor records the residual's energy on each,
$c_i^2$ with $c_i = \frac1n\sum_j\phi_i(x_j)\,(f(x_j) - y_j)$ (a Monte Carlo
$L^2(p)$ inner product), as ``mode_residual`` (dims ``mode``, largest
eigenvalue first). With ``theory``, also the infinite-width kernel flow's
prediction ``theory_mode_residual`` $= c_i(0)^2 e^{-2\lambda_i t}$.
The eigenfunctions at the held-out points are computed once, when the
monitor is built.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._system import AbstractRegressionSystem, AbstractScalarOutputSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable, reference


class DensityModes(AbstractMonitor):
    """``mode_residual`` (and ``theory_mode_residual`` with ``eigenvalues``):
    see the module. ``phi``: the eigenfunctions at the rows of ``x``, ``(n, k)``."""

    x: Float[Array, "n d"]
    y: Float[Array, " n"]
    phi: Float[Array, "n k"]
    eigenvalues: Float[Array, " k"] | None = None

    requires: ClassVar = (AbstractRegressionSystem, AbstractScalarOutputSystem)

    def __init__(self, x, y, phi, eigenvalues=None):
        dtype = jnp.asarray(y).dtype
        self.x, self.y = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
        phi = np.asarray(phi, np.float64)
        if phi.ndim != 2 or phi.shape[0] != self.x.shape[0]:
            raise ValueError(f"phi must be (n, k) with n = {self.x.shape[0]} held-out points; "
                             f"got {phi.shape}")
        self.phi = jnp.asarray(phi, dtype)
        if eigenvalues is not None:
            eigenvalues = np.asarray(eigenvalues, np.float64)
            if eigenvalues.shape != (phi.shape[1],):
                raise ValueError(f"eigenvalues must be ({phi.shape[1]},); "
                                 f"got {eigenvalues.shape}")
            eigenvalues = jnp.asarray(eigenvalues, dtype)
        self.eigenvalues = eigenvalues

    def energies(self, g) -> Float[Array, " k"]:
        return (self.phi.T @ g / self.x.shape[0]) ** 2

    def for_twin(self) -> DensityModes:
        return eqx.tree_at(lambda m: m.eigenvalues, self, None, is_leaf=lambda v: v is None)

    def prepare(self, system, state0):
        if self.eigenvalues is None:
            return None
        return self.energies(system.predict(state0, self.x) - self.y)

    def __call__(self, t, state, ctx: MonitorContext):
        r = ctx.system.predict(state, self.x) - self.y
        out = {"mode_residual": self.energies(r)}
        if self.eigenvalues is not None:
            out["theory_mode_residual"] = ctx.data * jnp.exp(-2.0 * self.eigenvalues * t)
        return out

    def variables(self):
        out = {"mode_residual": Variable(
            "residual energy on each eigenfunction of the kernel's operator under the data "
            "density (held-out points)", "residual energy per mode", "$c_i(t)^2$",
            scale="log", figure="learning_times")}
        if self.eigenvalues is not None:
            out["theory_mode_residual"] = reference(
                "infinite-width kernel-flow prediction c_i(0)^2 exp(-2 lambda_i t) of "
                "mode_residual", "residual energy per mode", "mode_residual",
                "kernel flow $c_i(0)^2 e^{-2\\lambda_i t}$", symbol="$c_i(t)^2$", scale="log")
        return out

    def dims(self):
        return {name: ("mode",) for name in self.variables()}

    def coords(self):
        return {"mode": np.arange(self.phi.shape[1])}
