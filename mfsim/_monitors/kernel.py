r"""Monitors of the neural tangent kernel $\Theta_t$ on a fixed subsample.

The kernel is the system's ``ntk(state, x, x)`` (the $\Theta$ of its
function-space flow, $\dot f = -\frac{\tau}{n}\Theta (f - y)$) on the first
``subsample`` training inputs (the training inputs are i.i.d. draws, so these
are a random subsample, the same at every save time). $\Theta_0$ and its top
eigenvectors are computed once at the start of the solve.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp

from .._system import AbstractScalarOutputSystem, AbstractSupervisedSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable

KERNEL_QUANTITIES = ("drift", "alignment", "alignment_centered", "ortiz_alignment",
                     "eigenvalues", "lambda_min", "energy", "angles")
_SPECTRAL = ("eigenvalues", "lambda_min", "energy", "angles")

# quantity -> (variable, what it is); each recorded on ``subsample`` training inputs
_VARIABLES = {
    "drift": ("kernel_drift", Variable(
        "relative kernel drift ||Theta_t - Theta_0||_F / ||Theta_0||_F", "kernel drift",
        "$\\|\\Theta_t - \\Theta_0\\|_F / \\|\\Theta_0\\|_F$", scale="log", rank=10)),
    "alignment": ("kernel_alignment", Variable(
        "kernel-target alignment y^T Theta y / (||Theta||_F ||y||^2)", "kernel-target alignment",
        "$A(\\Theta_t, y)$", bounds=(0.0, 1.0), rank=30)),
    "alignment_centered": ("kernel_alignment_centered", Variable(
        "centred kernel-target alignment (H Theta H, H y; H = I - 11^T/n)",
        "centred kernel-target alignment", "$A(H\\Theta_t H, Hy)$", bounds=(0.0, 1.0),
        rank=30)),
    "ortiz_alignment": ("ortiz_alignment", Variable(
        "Ortiz-Jimenez alignment ||sum_i y_i grad f(x_i)||^2 / ||y||^2", "Ortiz-Jimenez alignment",
        "$\\|\\sum_i y_i \\nabla f(x_i)\\|^2 / \\|y\\|^2$", scale="log", rank=30)),
    "eigenvalues": ("kernel_eigenvalues", Variable(
        "top eigenvalues of Theta_t (descending)", "NTK eigenvalues", "$\\lambda_i(\\Theta_t)$",
        scale="log", rank=35)),
    "lambda_min": ("kernel_lambda_min", Variable(
        "smallest eigenvalue of Theta_t", "smallest NTK eigenvalue",
        "$\\lambda_{min}(\\Theta_t)$", scale="log", rank=35)),
    "energy": ("kernel_energy", Variable(
        "share of ||y||^2 on the top-K eigenvectors of Theta_t, K = 1..k",
        "label energy on the top eigenvectors", "$\\|P_K y\\|^2 / \\|y\\|^2$",
        bounds=(0.0, 1.0), rank=35)),
    "angles": ("kernel_angles", Variable(
        "principal angles (radians, ascending) between the top-k eigenspaces of Theta_t and "
        "Theta_0", "principal angle to the initial eigenspace", "$\\theta_i$", units="rad",
        bounds=(0.0, 1.5707963267948966), rank=35)),
}


def _top_eigh(kernel, k: int):
    lam, vec = jnp.linalg.eigh(kernel)
    return lam[::-1][:k], vec[:, ::-1][:, :k], lam[0]


def alignment(kernel, y):
    r"""$y^\top K y / (\|K\|_F \|y\|^2)$."""
    return (y @ kernel @ y) / (jnp.linalg.norm(kernel) * jnp.sum(y**2))


def centered_alignment(kernel, y):
    """Alignment of the centred kernel $HKH$ with the centred target $Hy$."""
    kc = kernel - kernel.mean(0, keepdims=True)
    kc = kc - kc.mean(1, keepdims=True)
    return alignment(kc, y - y.mean())


class KernelMonitor(AbstractMonitor):
    r"""Kernel drift, alignments and spectrum of $\Theta_t$ on a subsample.

    **Arguments:**

    - ``subsample``: number of training inputs the kernel is computed on
      (the first ones; at most ``n``).
    - ``k``: eigenpairs kept (top eigenvalues, energy concentration, angles).
    - ``quantities``: a subset of ``KERNEL_QUANTITIES``; the eigendecomposition
      of $\Theta_t$ is computed only if a spectral quantity is asked for.

    Outputs (per quantity): ``kernel_drift``
    $\|\Theta_t-\Theta_0\|_F/\|\Theta_0\|_F$; ``kernel_alignment``
    $y^\top\Theta y/(\|\Theta\|_F\|y\|^2)$ and its centred version;
    ``ortiz_alignment`` $\|\sum_i y_i\nabla_\theta f(x_i)\|^2/\|y\|^2$
    (computed by one reverse-mode pass, not from $\Theta$);
    ``kernel_eigenvalues`` (top ``k``), ``kernel_lambda_min``;
    ``kernel_energy`` $\sum_{j\le K}(u_j^\top y)^2/\|y\|^2$ for $K = 1..k$;
    ``kernel_angles``, the principal angles between the top-``k``
    eigenspaces of $\Theta_t$ and $\Theta_0$.
    """

    subsample: int = eqx.field(static=True, default=256)
    k: int = eqx.field(static=True, default=10)
    quantities: tuple[str, ...] = eqx.field(static=True, default=KERNEL_QUANTITIES)

    requires = (AbstractSupervisedSystem, AbstractScalarOutputSystem)

    def __check_init__(self):
        unknown = set(self.quantities) - set(KERNEL_QUANTITIES)
        if unknown:
            raise ValueError(f"unknown kernel quantities {sorted(unknown)}; "
                             f"allowed: {', '.join(KERNEL_QUANTITIES)}")
        if self.subsample < 2 or self.k < 1:
            raise ValueError("subsample must be >= 2 and k >= 1")

    def _inputs(self, system):
        s = min(self.subsample, system.x_train.shape[0])
        return system.x_train[:s], system.y_train[:s]

    def _k(self, system) -> int:
        return min(self.k, self._inputs(system)[0].shape[0])

    def prepare(self, system, state0):
        x, _ = self._inputs(system)
        theta0 = system.ntk(state0, x, x)
        top0 = _top_eigh(theta0, self._k(system))[1] if "angles" in self.quantities else None
        return {"kernel": theta0, "norm": jnp.linalg.norm(theta0), "top": top0}

    def __call__(self, t, state, ctx: MonitorContext):
        system, q = ctx.system, self.quantities
        x, y = self._inputs(system)
        theta = system.ntk(state, x, x)
        out = {}
        if "drift" in q:
            out["kernel_drift"] = jnp.linalg.norm(theta - ctx.data["kernel"]) / ctx.data["norm"]
        if "alignment" in q:
            out["kernel_alignment"] = alignment(theta, y)
        if "alignment_centered" in q:
            out["kernel_alignment_centered"] = centered_alignment(theta, y)
        if "ortiz_alignment" in q:
            grad = jax.grad(lambda s: y @ system.predict(s, x))(state)
            sq = sum(jnp.sum(g**2) for g in jax.tree.leaves(grad))
            out["ortiz_alignment"] = sq / jnp.sum(y**2)
        if any(name in q for name in _SPECTRAL):
            lam, vec, lam_min = _top_eigh(theta, self._k(system))
            if "eigenvalues" in q:
                out["kernel_eigenvalues"] = lam
            if "lambda_min" in q:
                out["kernel_lambda_min"] = lam_min
            if "energy" in q:
                out["kernel_energy"] = jnp.cumsum((vec.T @ y) ** 2) / jnp.sum(y**2)
            if "angles" in q:
                cos = jnp.linalg.svd(vec.T @ ctx.data["top"], compute_uv=False)
                out["kernel_angles"] = jnp.arccos(jnp.clip(cos, -1.0, 1.0))
        return out

    def variables(self):
        out = {}
        for name in self.quantities:
            var, what = _VARIABLES[name]
            out[var] = dataclasses.replace(
                what, description=f"{what.description} (on {self.subsample} training inputs)")
        return out

    def dims(self):
        return {"kernel_eigenvalues": ("eigen_index",), "kernel_energy": ("eigen_index",),
                "kernel_angles": ("angle_index",)}
