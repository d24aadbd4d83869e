r"""Spectral-bias diagnostics: which components of the target are learned when.

- :class:`FourierCoefficients`: Fourier coefficients of the prediction on a
  regular 1-D grid $s_g$ of $[0, 1)$ (the interval, or the circle through an
  embedding), $c_k = \frac2G\sum_g f(x(s_g))\,e^{-2\pi i k s_g}$, compared with
  the target's coefficients $c_k^*$ on the same grid.
- :class:`ResidualModes`: the training residual $f_t(X) - y$ in the
  eigenbasis of $\Theta_0$; under the constant-kernel flow its $i$-th
  component decays as $e^{-(\tau/n)\lambda_i t}$.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._system import AbstractScalarOutputSystem, AbstractSupervisedSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable, hidden


def fourier_coefficients(values, positions, frequencies):
    r"""$c_k = \frac2G\sum_g v_g e^{-2\pi i k s_g}$ for each ``k`` in ``frequencies``."""
    phase = 2 * jnp.pi * positions[:, None] * frequencies[None, :]
    scale = 2.0 / positions.shape[0]
    return scale * (values @ jnp.cos(phase)), -scale * (values @ jnp.sin(phase))


class FourierCoefficients(AbstractMonitor):
    r"""Fourier coefficients of $f_t$ at integer ``frequencies`` on a regular grid.

    **Arguments:** ``x`` the network inputs at the grid positions ``s``
    (``(G, d)`` and ``(G,)``, $s_g$ equally spaced on $[0, 1)$), ``target``
    the target's values there, ``frequencies`` the integers $k$ (below $G/2$).

    Outputs, per frequency: ``fourier_amplitude`` $|c_k|$ and
    ``fourier_progress`` $\mathrm{Re}(c_k\bar c_k^*)/|c_k^*|^2$, the fraction of
    the target component learned (1 when $f$ matches it; 0 for $f = 0$).
    """

    x: jax.Array
    s: jax.Array
    target: jax.Array
    frequencies: tuple[int, ...] = eqx.field(static=True)

    requires = (AbstractScalarOutputSystem,)

    def __check_init__(self):
        g = self.s.shape[0]
        if any(int(k) != k or not 0 < k < g / 2 for k in self.frequencies):
            raise ValueError(f"frequencies must be integers in (0, {g / 2}) for a grid of "
                             f"{g} points; got {list(self.frequencies)}")

    def _coefficients(self, values):
        k = jnp.asarray(self.frequencies, self.s.dtype)
        return fourier_coefficients(values, self.s, k)

    def prepare(self, system, state0):
        re, im = self._coefficients(self.target)
        return {"re": re, "im": im}

    def __call__(self, t, state, ctx: MonitorContext):
        re, im = self._coefficients(ctx.system.predict(state, self.x))
        tre, tim = ctx.data["re"], ctx.data["im"]
        return {"fourier_amplitude": jnp.sqrt(re**2 + im**2),
                "fourier_progress": (re * tre + im * tim) / (tre**2 + tim**2)}

    def variables(self):
        return {"fourier_amplitude": hidden(
                    "amplitude |c_k| of the prediction's Fourier coefficient",
                    "Fourier amplitude", symbol="$|c_k|$"),
                "fourier_progress": Variable(
                    "fraction learned Re(c_k conj(c*_k)) / |c*_k|^2 of the target's Fourier "
                    "component", "fraction of the Fourier component learned",
                    "$Re(c_k \\bar c^*_k) / |c^*_k|^2$", figure="spectral_bias", rank=20)}

    def dims(self):
        return {"fourier_amplitude": ("frequency",), "fourier_progress": ("frequency",)}

    def coords(self):
        return {"frequency": np.asarray(self.frequencies, dtype=float)}


class ResidualModes(AbstractMonitor):
    r"""``residual_modes``: $u_i^\top(f_t(X) - y)$ for the top-``k`` eigenvectors
    $u_i$ of $\Theta_0$ on the training set (descending eigenvalues), and
    ``mode_eigenvalues`` the $\lambda_i$ (constant; saved for plots).

    The basis is computed at the start of the solve from ``system.ntk(state0)``
    unless ``basis`` = (eigenvalues ``(k,)``, eigenvectors ``(n, k)``) is given
    (:meth:`of` computes it eagerly: a network and its twins then share it).
    """

    k: int = eqx.field(static=True, default=10)
    basis: tuple[jax.Array, jax.Array] | None = None

    # a given basis needs only the training outputs; without one, prepare()
    # also needs the system's NTK (checked there)
    requires = (AbstractScalarOutputSystem,)

    @classmethod
    def of(cls, system, state0, k: int = 10) -> ResidualModes:
        return cls(k=k, basis=cls._basis(system, state0, k))

    @staticmethod
    def _basis(system, state0, k):
        if not isinstance(system, AbstractSupervisedSystem):
            raise TypeError(f"ResidualModes: {type(system).__name__} has no NTK; give the "
                            "basis (ResidualModes.of the network it twins)")
        x = system.x_train
        lam, vec = jnp.linalg.eigh(system.ntk(state0, x, x))
        k = min(k, lam.shape[0])
        return lam[::-1][:k], vec[:, ::-1][:, :k]

    def prepare(self, system, state0):
        return self._basis(system, state0, self.k) if self.basis is None else self.basis

    def __call__(self, t, state, ctx: MonitorContext):
        lam, vec = ctx.data
        residual = ctx.system.train_outputs(state) - ctx.system.y_train
        return {"residual_modes": vec.T @ residual, "mode_eigenvalues": lam}

    def variables(self):
        return {"residual_modes": Variable(
                    "training residual on the top eigenvectors of Theta_0, u_i^T (f(X) - y)",
                    "residual on NTK eigenvector", "$u_i^T (f(X) - y)$", scale="symlog",
                    rank=30),
                "mode_eigenvalues": hidden("eigenvalues lambda_i of Theta_0 for residual_modes",
                                           "NTK eigenvalue at init",
                                           symbol="$\\lambda_i(\\Theta_0)$", scale="log")}

    def dims(self):
        return {"residual_modes": ("mode",), "mode_eigenvalues": ("mode",)}
