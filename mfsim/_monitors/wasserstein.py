r"""Wasserstein distances of the particle measure $\mu_t = \frac1m\sum_j\delta_{p_j(t)}$.

Entropic optimal transport with ott-jax at an **absolute** regularization
$\varepsilon$ (the squared Euclidean ground cost, so that the costs are
$W_2^2$-like): the debiased Sinkhorn divergence

$$S_\varepsilon(\mu,\nu) = OT_\varepsilon(\mu,\nu) - \tfrac12 OT_\varepsilon(\mu,\mu)
- \tfrac12 OT_\varepsilon(\nu,\nu),$$

which tends to $W_2^2(\mu,\nu)$ as $\varepsilon\to 0$, the entropic cost
$OT_\varepsilon(\mu,\nu)$ itself, and whether Sinkhorn converged to its
threshold. The reference's self-term $OT_\varepsilon(\nu,\nu)$ is computed once
at the start. The exact $W_2$ is an assignment problem for equal sizes and a
transport linear program otherwise, solved by scipy on the host through
``jax.pure_callback`` in float64.

The method is an object (:mod:`.w2_methods`). :class:`W2Auto` (the default)
takes the exact $W_2$ where it was measured cheaper than Sinkhorn
(:func:`auto_method`): exact OT has no entropic bias, so it meets any
accuracy the Sinkhorn divergence could be asked for, and where it is also
cheaper it is the better answer. The choice is made once per solve, from the
particle counts and the device, and named in the outputs' descriptions (stored with the results).
"""

from __future__ import annotations

import dataclasses
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._system import AbstractParticleSystem
from .base import AbstractMonitor, MonitorContext
from .variable import Variable, hidden, reference
from .w2_methods import AbstractW2Method, W2Auto, auto_method, auto_rule, w2_method


def squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """$|x_i - y_j|^2$ as $|x_i|^2 + |y_j|^2 - 2 x_i\\cdot y_j$, clipped at 0
    against cancellation: one matmul into one ``(m, k)`` array, every other
    step in place (never the ``(m, k, d)`` differences, nor a second
    ``(m, k)`` temporary)."""
    cost = x @ y.T
    cost *= -2.0
    cost += np.sum(x**2, axis=1)[:, None]
    cost += np.sum(y**2, axis=1)[None, :]
    return np.maximum(cost, 0.0, out=cost)


def _load_exact(method: AbstractW2Method) -> None:
    """Import scipy's assignment and LP solvers now, before the solve, where
    the exact W2 will run: inside the solve their import (about a second)
    would land on the first save point."""
    if method.exact:
        import scipy.optimize  # noqa: F401
        import scipy.sparse  # noqa: F401


def assignment_costs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""The costs an equal-size assignment is solved on: $|x_i - y_j|^2$ less
    its column minima, as $|x_i|^2 - 2 x_i\cdot y_j - \min_l(|x_l|^2 - 2
    x_l\cdot y_j)$ ($|y_j|^2$ cancels). Shifting a column by a constant
    changes no assignment's ranking; starting every column at a zero is the
    column reduction that precedes the augmenting paths in Jonker-Volgenant,
    and makes scipy's solver 3-4x faster on independent clouds
    (``bench/w2.py``). One matmul into one ``(m, k)`` array, every other step
    in place."""
    cost = x @ (-2.0 * y).T
    cost += np.sum(x**2, axis=1)[:, None]
    cost -= cost.min(axis=0)
    return cost


def exact_w2_squared(x, y) -> float:
    """Exact $W_2^2$ between the uniform measures on the rows of ``x`` and ``y``
    (numpy, on the host, float64): Hungarian assignment when the sizes are
    equal (on :func:`assignment_costs`; the value summed from the matched
    pairs' differences, free of the cost matrix's cancellation), the transport
    linear program (HiGHS) otherwise (on :func:`squared_distances`). Memory:
    one ``(m, k)`` cost matrix."""
    from scipy.optimize import linear_sum_assignment, linprog
    from scipy.sparse import csr_array, eye_array, kron, vstack

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) == len(y):
        rows, cols = linear_sum_assignment(assignment_costs(x, y))
        return float(np.mean(np.sum((x[rows] - y[cols]) ** 2, axis=1)))
    cost = squared_distances(x, y)
    m, k = cost.shape
    # couplings P (m x k) with row sums 1/m and column sums 1/k; the constraint
    # matrix is sparse (2 m k nonzeros; dense it would be (m + k) x m k)
    rows = kron(eye_array(m), csr_array(np.ones((1, k))))
    cols = kron(csr_array(np.ones((1, m))), eye_array(k))
    # HiGHS's interior point (with its crossover to a vertex) beats its simplex
    # when one side has at most 32 points and loses for balanced sizes; both
    # give the same value (bench/RESULTS.md, "w2_method")
    res = linprog(cost.ravel(), A_eq=vstack([rows, cols]).tocsr(),
                  b_eq=np.concatenate([np.full(m, 1 / m), np.full(k, 1 / k)]),
                  bounds=(0, None), method="highs-ipm" if min(m, k) <= 32 else "highs")
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
    - ``method``: an :class:`AbstractW2Method`, or its name:
      ``W2Sinkhorn()`` (``"sinkhorn"``: the debiased Sinkhorn divergence, on
      the device), ``W2Exact()`` (``"exact"``: the exact $W_2$, on the host in
      float64: scipy's assignment solver for equal sizes, whose time depends
      on the data: 0.2-0.6 s for 4,096 particles near their start, 5 s for
      two independent clouds on CPU; the transport LP otherwise),
      ``W2Both()`` (``"both"``), or ``W2Auto()`` (``"auto"``): exact where
      :func:`auto_method` finds it cheaper, else Sinkhorn, decided once per
      solve by :meth:`specialize`.
    - ``epsilon``: the absolute entropic regularization (in units of squared
      distance).
    - ``threshold``, ``max_iterations``: Sinkhorn's stopping rule (marginal
      error) and iteration cap.
    - ``subsample``: use only the first ``subsample`` particles (``None``: all).
      Particles are i.i.d. at initialization, so these are a random
      subsample, the same at every save time: $W_2$ of their empirical
      measure, for widths where the $m \times m$ cost matrix would not fit.

    Outputs: ``w2_<name>``, the $W_2$ of the method run: exact, or
    $\sqrt{\max(S_\varepsilon, 0)}$ from the Sinkhorn divergence; with
    Sinkhorn also ``sinkhorn_<name>`` $S_\varepsilon$, ``entropic_ot_<name>``
    $OT_\varepsilon(\mu_t,\nu)$ and ``sinkhorn_converged_<name>`` (1 if both
    Sinkhorn solves met the threshold); ``"both"`` adds ``w2_exact_<name>``.
    Each description names the method (and, for ``"auto"``, why).
    """

    target: jax.Array | None = None
    name: str = eqx.field(static=True, default="init")
    epsilon: float = eqx.field(static=True, default=EPSILON)
    threshold: float = eqx.field(static=True, default=THRESHOLD)
    max_iterations: int = eqx.field(static=True, default=MAX_ITERATIONS)
    method: AbstractW2Method = eqx.field(static=True, default=W2Auto(), converter=w2_method)
    subsample: int | None = eqx.field(static=True, default=None)
    chosen: str = eqx.field(static=True, default="")  # why "auto" ran this method

    requires = (AbstractParticleSystem,)

    def __check_init__(self):
        if self.subsample is not None and self.subsample < 2:
            raise ValueError(f"subsample must be >= 2 particles; got {self.subsample}")

    @property
    def sinkhorn(self) -> bool:
        """Whether the Sinkhorn divergence is computed (:class:`W2Auto`: not decided yet)."""
        return self.method.sinkhorn

    @property
    def exact(self) -> bool:
        """Whether the exact $W_2$ is computed (:class:`W2Auto`: not decided yet)."""
        return self.method.exact

    def _particles(self, system, state):
        x = system.particles(state)
        return x if self.subsample is None else x[: self.subsample]

    def specialize(self, system, state0) -> Wasserstein:
        """:class:`W2Auto` resolved for this system's particle count, the
        target's size and the default device (:func:`auto_method`)."""
        if not isinstance(self.method, W2Auto):
            _load_exact(self.method)
            return self
        n = jax.eval_shape(lambda s: self._particles(system, s), state0).shape[0]
        k = n if self.target is None else int(jnp.shape(self.target)[0])
        method = auto_method(n, k)
        _load_exact(method)
        return dataclasses.replace(self, method=method, chosen=(
            f"method auto chose {method.name}: {auto_rule(n, k)}"))

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

    def _resolved(self) -> Wasserstein:
        # simulate() specializes its monitors; a monitor called directly must be
        # specialized first, so that its outputs are known before it runs
        if isinstance(self.method, W2Auto):
            raise ValueError("Wasserstein(method='auto') decides per system: call "
                             "monitor.specialize(system, state0) first (simulate does)")
        return self

    def prepare(self, system, state0):
        x0 = self._particles(system, state0)
        y = x0 if self.target is None else jnp.asarray(self.target, x0.dtype)
        if not self._resolved().sinkhorn:
            return {"particles": y}
        return {"particles": y, "self_cost": self._ot(y, y, symmetric=True).reg_ot_cost}

    def __call__(self, t, state, ctx: MonitorContext):
        self._resolved()
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
            key = f"w2_exact_{self.name}" if self.sinkhorn else f"w2_{self.name}"
            values[key] = jnp.sqrt(_exact_w2_squared_jax(x, y))
        return values

    def variables(self):
        self._resolved()
        what = {"init": "mu_0"}.get(self.name, f"the {self.name} measure")
        sym = {"init": "\\mu_0"}.get(self.name, "\\nu")
        target = {"init": "initial measure"}.get(self.name, f"{self.name} measure")
        eps = f"epsilon = {self.epsilon:g}" + (
            f", first {self.subsample} particles" if self.subsample else "")
        why = f"; {self.chosen}" if self.chosen else ""
        w2 = f"$W_2(\\mu_t, {sym})$"
        long_name = f"W2 distance to the {target}"
        out = {
            f"w2_{self.name}": Variable(
                f"W2(mu_t, {what}) from the debiased Sinkhorn divergence ({eps}{why})",
                long_name, w2, scale="log", rank=11),
            f"sinkhorn_{self.name}": hidden(
                f"debiased Sinkhorn divergence S_eps(mu_t, {what}) ({eps})",
                "Sinkhorn divergence", symbol=f"$S_\\epsilon(\\mu_t, {sym})$"),
            f"entropic_ot_{self.name}": hidden(
                f"entropic OT cost OT_eps(mu_t, {what}) ({eps})", "entropic OT cost",
                symbol=f"$OT_\\epsilon(\\mu_t, {sym})$"),
            f"sinkhorn_converged_{self.name}": hidden(
                "1 if Sinkhorn reached its threshold, else 0", "Sinkhorn converged",
                bounds=(0.0, 1.0)),
        } if self.sinkhorn else {}
        if self.exact:
            sub = f", first {self.subsample} particles" if self.subsample else ""
            desc = f"exact W2(mu_t, {what}) (host-side OT{sub}{why})"
            if self.sinkhorn:
                out[f"w2_exact_{self.name}"] = reference(
                    desc, long_name, f"w2_{self.name}", "exact OT", symbol=w2, scale="log")
            else:
                out[f"w2_{self.name}"] = Variable(desc, long_name, w2, scale="log", rank=11)
        return out
