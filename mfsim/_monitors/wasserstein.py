r"""Wasserstein distances of the particle measure $\mu_t = \frac1m\sum_j\delta_{p_j(t)}$.

Entropic optimal transport with ott-jax at an **absolute** regularization
$\varepsilon$ (the squared Euclidean ground cost, so that the costs are
$W_2^2$-like): the debiased Sinkhorn divergence

$$S_\varepsilon(\mu,\nu) = OT_\varepsilon(\mu,\nu) - \tfrac12 OT_\varepsilon(\mu,\mu)
- \tfrac12 OT_\varepsilon(\nu,\nu),$$

which tends to $W_2^2(\mu,\nu)$ as $\varepsilon\to 0$, the entropic cost
$OT_\varepsilon(\mu,\nu)$ itself, and whether Sinkhorn converged to its
threshold. The reference's self-term $OT_\varepsilon(\nu,\nu)$ is computed once
at the start. ``exact=True`` adds the exact $W_2$ (an assignment problem for
equal sizes, a transport linear program otherwise, solved by scipy on the
host through ``jax.pure_callback``): the reference path, for small $m$.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._system import AbstractParticleSystem
from .base import AbstractMonitor, MonitorContext


def squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """$|x_i - y_j|^2$ as $|x_i|^2 + |y_j|^2 - 2 x_i\\cdot y_j$ (one matmul, an
    ``(m, k)`` array: never the ``(m, k, d)`` differences), clipped at 0
    against cancellation."""
    cost = np.sum(x**2, axis=1)[:, None] + np.sum(y**2, axis=1)[None, :] - 2.0 * (x @ y.T)
    return np.maximum(cost, 0.0, out=cost)


def exact_w2_squared(x, y) -> float:
    """Exact $W_2^2$ between the uniform measures on the rows of ``x`` and ``y``
    (numpy, on the host, float64): Hungarian assignment when the sizes are
    equal (its cost then summed from the matched pairs' differences, free of
    the cost matrix's cancellation), the transport linear program (HiGHS)
    otherwise. Memory: the ``(m, k)`` cost matrix (:func:`squared_distances`)."""
    from scipy.optimize import linear_sum_assignment, linprog

    x, y = np.asarray(x, float), np.asarray(y, float)
    cost = squared_distances(x, y)
    m, k = cost.shape
    if m == k:
        rows, cols = linear_sum_assignment(cost)
        return float(np.mean(np.sum((x[rows] - y[cols]) ** 2, axis=1)))
    # couplings P (m x k) with row sums 1/m and column sums 1/k
    rows = np.kron(np.eye(m), np.ones((1, k)))
    cols = np.kron(np.ones((1, m)), np.eye(k))
    res = linprog(cost.ravel(), A_eq=np.vstack([rows, cols]),
                  b_eq=np.concatenate([np.full(m, 1 / m), np.full(k, 1 / k)]),
                  bounds=(0, None), method="highs")
    if not res.success:
        return float("nan")
    return float(res.fun)


@functools.cache
def _gaussian_initializer():
    """ott's Gaussian initializer (Thornton & Cuturi 2022), its potential cast to
    the problem's dtype (ott computes it in float64 when x64 is on, which breaks
    float32 solves)."""
    import jax.tree_util
    from ott.initializers.linear.initializers import GaussianInitializer

    @jax.tree_util.register_pytree_node_class
    class CastGaussianInitializer(GaussianInitializer):
        def init_fu(self, ot_prob, lse_mode, rng=None):
            return super().init_fu(ot_prob, lse_mode, rng).astype(ot_prob.a.dtype)

    return CastGaussianInitializer()


def _exact_w2_squared_jax(x, y):
    def host(x, y):
        return np.asarray(exact_w2_squared(x, y), x.dtype)

    out = jax.ShapeDtypeStruct((), x.dtype)
    return jax.pure_callback(host, out, x, y, vmap_method="sequential")


# defaults shared with the scenario schema
EPSILON, THRESHOLD, MAX_ITERATIONS = 1e-2, 1e-3, 2000


class Wasserstein(AbstractMonitor):
    r"""Distances between the particle measure $\mu_t$ and a target measure $\nu$.

    **Arguments:**

    - ``target``: ``None`` for $\mu_0$ (the particles at the start), or an
      array ``(k, p)`` of reference particles (the teacher's neurons, the
      final particles of another run), with the row layout of
      ``system.particles``.
    - ``name``: the suffix of the output variables (``init``, ``teacher``, ...).
    - ``epsilon``: the absolute entropic regularization (in units of squared
      distance).
    - ``threshold``, ``max_iterations``: Sinkhorn's stopping rule (marginal
      error) and iteration cap.
    - ``exact``: also compute the exact $W_2$ (host-side, float64: scipy's
      assignment solver for equal sizes; its time depends on the data: 0.08 s
      for 4,000 particles near their start, 6 s for two independent clouds).
    - ``sinkhorn``: the Sinkhorn divergence and its companions (``False``:
      only the exact $W_2$, which then needs ``exact=True``).
    - ``subsample``: use only the first ``subsample`` particles (``None``: all).
      Particles are i.i.d. at initialization, so these are a random
      subsample, the same at every save time: $W_2$ of their empirical
      measure, for widths where the $m \times m$ cost matrix would not fit.

    Outputs: ``w2_<name>`` $=\sqrt{\max(S_\varepsilon, 0)}$,
    ``sinkhorn_<name>`` $S_\varepsilon$, ``entropic_ot_<name>``
    $OT_\varepsilon(\mu_t,\nu)$, ``sinkhorn_converged_<name>`` (1 if both
    Sinkhorn solves met the threshold), and ``w2_exact_<name>``.
    """

    target: jax.Array | None = None
    name: str = eqx.field(static=True, default="init")
    epsilon: float = eqx.field(static=True, default=EPSILON)
    threshold: float = eqx.field(static=True, default=THRESHOLD)
    max_iterations: int = eqx.field(static=True, default=MAX_ITERATIONS)
    exact: bool = eqx.field(static=True, default=False)
    subsample: int | None = eqx.field(static=True, default=None)
    sinkhorn: bool = eqx.field(static=True, default=True)

    requires = (AbstractParticleSystem,)

    def __check_init__(self):
        if self.subsample is not None and self.subsample < 2:
            raise ValueError(f"subsample must be >= 2 particles; got {self.subsample}")
        if not (self.sinkhorn or self.exact):
            raise ValueError("Wasserstein with sinkhorn=False needs exact=True (nothing to "
                             "compute otherwise)")

    def _particles(self, system, state):
        x = system.particles(state)
        return x if self.subsample is None else x[: self.subsample]

    def _ot(self, x, y, *, symmetric: bool = False):
        """ott-jax's Sinkhorn between the uniform measures on the rows of x and y."""
        # imported here: ott-jax takes seconds to import, and only this monitor uses it
        from ott.geometry import pointcloud
        from ott.solvers import linear
        from ott.solvers.linear import acceleration

        kwargs = {"threshold": self.threshold, "max_iterations": self.max_iterations}
        if symmetric:  # the updates ott uses for the self-terms of a divergence
            kwargs.update(parallel_dual_updates=True, anderson=None,
                          momentum=acceleration.Momentum(start=0, value=0.5))
        else:  # start from the potentials between Gaussian fits of the two measures
            kwargs.update(initializer=_gaussian_initializer())
        a = jnp.full(x.shape[0], 1.0 / x.shape[0], x.dtype)
        b = jnp.full(y.shape[0], 1.0 / y.shape[0], x.dtype)
        return linear.solve(pointcloud.PointCloud(x, y, epsilon=self.epsilon), a=a, b=b,
                            **kwargs)

    def prepare(self, system, state0):
        x0 = self._particles(system, state0)
        y = x0 if self.target is None else jnp.asarray(self.target, x0.dtype)
        if not self.sinkhorn:
            return {"particles": y}
        return {"particles": y, "self_cost": self._ot(y, y, symmetric=True).reg_ot_cost}

    def __call__(self, t, state, ctx: MonitorContext):
        x = self._particles(ctx.system, state)
        y = ctx.data["particles"]
        values = {}
        if self.sinkhorn:
            xy, xx = self._ot(x, y), self._ot(x, x, symmetric=True)
            div = xy.reg_ot_cost - 0.5 * (xx.reg_ot_cost + ctx.data["self_cost"])
            values = {
                f"w2_{self.name}": jnp.sqrt(jnp.maximum(div, 0.0)),
                f"sinkhorn_{self.name}": div,
                f"entropic_ot_{self.name}": xy.reg_ot_cost,
                f"sinkhorn_converged_{self.name}": jnp.logical_and(
                    xy.converged, xx.converged).astype(x.dtype),
            }
        if self.exact:
            values[f"w2_exact_{self.name}"] = jnp.sqrt(_exact_w2_squared_jax(x, y))
        return values

    def descriptions(self):
        what = {"init": "mu_0"}.get(self.name, f"the {self.name} measure")
        eps = f"epsilon = {self.epsilon:g}" + (
            f", first {self.subsample} particles" if self.subsample else "")
        out = {
            f"w2_{self.name}": f"W2(mu_t, {what}) from the debiased Sinkhorn divergence ({eps})",
            f"sinkhorn_{self.name}": f"debiased Sinkhorn divergence S_eps(mu_t, {what}) ({eps})",
            f"entropic_ot_{self.name}": f"entropic OT cost OT_eps(mu_t, {what}) ({eps})",
            f"sinkhorn_converged_{self.name}": "1 if Sinkhorn reached its threshold, else 0",
        } if self.sinkhorn else {}
        if self.exact:
            out[f"w2_exact_{self.name}"] = f"exact W2(mu_t, {what}) (host-side OT)"
        return out
