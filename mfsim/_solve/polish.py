r"""Exact critical points: polish a state to $\nabla\mathcal J = 0$ by Newton's
method (optimistix), and classify it by its Hessian spectrum.

A gradient flow approaches a critical point only asymptotically (and slowly
near a saddle or a flat minimum). :func:`polish` solves
$\nabla\mathcal J(\theta) = 0$ from the state it is given with Newton's
method (``optimistix.Newton``; each step a least-squares solve of
$\nabla^2\mathcal J\,\delta = -\nabla\mathcal J$ by SVD, so flat directions,
e.g. rescaling symmetries, do not break it), falling back to
Levenberg-Marquardt (a trust region on $|\nabla\mathcal J|^2$) when Newton
fails. Newton converges to the *nearest* critical point whatever its type,
which is what is wanted at the end of a flow stuck on a plateau.

Then the Hessian over the trainable arrays (``system.trainable``): dense
(``jax.hessian``) up to ``dense_max`` parameters, else the top and bottom
``k`` eigenvalues by Lanczos on Hessian-vector products. An eigenvalue is
*flat* when $|\lambda| \le$ ``flat_tol`` $\cdot \max|\lambda|$; the *index* is
the number of negative eigenvalues beyond that; ``kind`` is ``minimum``
(index 0), ``maximum`` (every non-flat eigenvalue negative) or ``saddle``.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
from jax.flatten_util import ravel_pytree

from .._monitors.sharpness import hessian_eigenvalues
from .._system import AbstractGradientFlowSystem


class CriticalPoint(eqx.Module):
    """What :func:`polish` found.

    - ``state``: the polished state; ``grad_norm``: $|\\nabla\\mathcal J|_2$ there
      (over the trainable arrays); ``start_grad_norm``: at the state given.
    - ``eigenvalues``: the Hessian's eigenvalues, ascending (all of them, or
      the bottom and top ``k`` when the state is large: ``dense`` says which).
    - ``index``: negative eigenvalues; ``flat``: eigenvalues within
      ``flat_tol`` of 0 (among those computed); ``kind``: minimum, saddle or
      maximum.
    - ``method``: ``newton`` or ``levenberg_marquardt``; ``steps``: its steps;
      ``converged``: whether ``grad_norm <= gtol``.
    """

    state: object
    grad_norm: float
    start_grad_norm: float
    eigenvalues: np.ndarray
    index: int
    flat: int
    kind: str
    dense: bool
    method: str
    steps: int
    converged: bool


def polish(system: AbstractGradientFlowSystem, state, *, gtol: float | None = None,
           max_steps: int = 100, k: int = 6, dense_max: int = 4096,
           flat_tol: float | None = None) -> CriticalPoint:
    """Polish ``state`` to a critical point of ``system.objective`` and
    classify it (module docstring). ``gtol``: the gradient norm to reach
    (default ``1e-10`` in float64, ``1e-4`` in float32); ``flat_tol``: relative
    size of a flat eigenvalue (default ``1e3 * sqrt(eps)``)."""
    if not isinstance(system, AbstractGradientFlowSystem):
        raise TypeError(f"polish needs a gradient-flow system (an objective), not "
                        f"{type(system).__name__}")
    mask = system.trainable(state)
    params, frozen = eqx.partition(state, mask)
    flat0, unravel = ravel_pytree(params)
    dtype = flat0.dtype
    eps = float(jnp.finfo(dtype).eps)
    gtol = (1e-10 if dtype == jnp.float64 else 1e-4) if gtol is None else float(gtol)
    flat_tol = 1e3 * np.sqrt(eps) if flat_tol is None else float(flat_tol)

    def objective(f):
        return system.objective(eqx.combine(unravel(f), frozen))

    grad = jax.jit(jax.grad(objective))

    def norm(f):
        return float(jnp.linalg.norm(grad(f)))

    start = norm(flat0)
    best, method, steps = flat0, "newton", 0
    # tolerances on the step, far below what the gradient criterion needs
    newton = optx.Newton(rtol=eps, atol=eps, linear_solver=lx.AutoLinearSolver(well_posed=False))
    sol = optx.root_find(lambda f, _: grad(f), newton, flat0, max_steps=max_steps, throw=False)
    candidate = sol.value
    if bool(jnp.all(jnp.isfinite(candidate))) and norm(candidate) < start:
        best, steps = candidate, int(sol.stats["num_steps"])
    if norm(best) > gtol:  # a trust region on |grad J|^2 from the start
        lm = optx.LevenbergMarquardt(rtol=eps, atol=eps)
        sol = optx.least_squares(lambda f, _: grad(f), lm, flat0, max_steps=10 * max_steps,
                                 throw=False)
        if bool(jnp.all(jnp.isfinite(sol.value))) and norm(sol.value) < norm(best):
            best, method, steps = sol.value, "levenberg_marquardt", int(sol.stats["num_steps"])
    g = norm(best)
    p = best.size
    if p <= dense_max:
        H = np.asarray(jax.hessian(objective)(best), np.float64)
        eigenvalues = np.linalg.eigvalsh((H + H.T) / 2)
        dense = True
    else:
        top = np.asarray(hessian_eigenvalues(objective, best, k=k))
        bottom = -np.asarray(hessian_eigenvalues(lambda f: -objective(f), best, k=k))
        eigenvalues = np.sort(np.concatenate([bottom, top]))
        dense = False
    scale = max(float(np.max(np.abs(eigenvalues))), np.finfo(np.float64).tiny)
    flat = np.abs(eigenvalues) <= flat_tol * scale
    index = int(np.sum(~flat & (eigenvalues < 0)))
    positive = int(np.sum(~flat & (eigenvalues > 0)))
    kind = "minimum" if index == 0 else ("maximum" if positive == 0 and dense else "saddle")
    return CriticalPoint(
        state=eqx.combine(unravel(best), frozen), grad_norm=g, start_grad_norm=start,
        eigenvalues=eigenvalues, index=index, flat=int(np.sum(flat)), kind=kind, dense=dense,
        method=method, steps=steps, converged=g <= gtol)
