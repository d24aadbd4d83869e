"""Brownian increments drawn afresh at each step of a fixed-step solve."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray, PyTree


class StepIncrements(diffrax.AbstractBrownianPath):
    r"""The Brownian motion of a fixed-step solve, one step at a time: the
    increment over the step $[t_k, t_k + h]$ of a run started at ``start``
    is $\sqrt h\,\xi_k$ with $\xi_k \sim N(0, I)$ drawn from
    ``fold_in(key, k)``, $k = \mathrm{round}((t_k - \mathrm{start})/h)$
    (and, for ``levy_area = diffrax.SpaceTimeLevyArea``, the space-time Lévy
    area $\sqrt{h/12}\,\eta_k$, $\eta_k$ independent of $\xi_k$). Steps are
    independent and exactly Gaussian, so an Euler–Maruyama or SRK solve on
    this grid has the law of one on a ``diffrax.VirtualBrownianTree``, at
    the cost of one draw per step (the tree bisects about 20 times per step).
    The step index, not the floating-point time, picks the draw: a
    checkpointed segment, whose times are rounded differently, meets the
    same increments. Only increments over one step of the grid are
    meaningful, and they are drawn for the step ``step`` itself, not for the
    difference of the rounded times (:mod:`.step_clock`): a different step
    size sees a different path (strong-order studies across step sizes use
    the tree)."""

    shape: PyTree[jax.ShapeDtypeStruct] = eqx.field(static=True)
    levy_area: type[diffrax.BrownianIncrement | diffrax.SpaceTimeLevyArea] = eqx.field(
        static=True)
    key: PRNGKeyArray
    start: Array
    step: Array

    @property
    def t0(self):
        return self.start

    @property
    def t1(self):
        return jnp.inf

    def evaluate(self, t0, t1=None, left: bool = True, use_levy: bool = False):
        if t1 is None:
            raise ValueError("StepIncrements gives increments over a step only (t0 and t1)")
        h = jnp.asarray(self.step, jnp.result_type(t0, t1))  # the step itself, not t1 - t0 rounded
        k = jnp.round((t0 - self.start) / self.step).astype(jnp.int32)
        leaves, treedef = jax.tree.flatten(self.shape)
        # two keys per leaf whether or not the Lévy area is asked for: W is the same draw either way
        keys = jax.random.split(jax.random.fold_in(self.key, k), 2 * len(leaves))
        w = [jnp.sqrt(h).astype(s.dtype) * jax.random.normal(keys[i], s.shape, s.dtype)
             for i, s in enumerate(leaves)]
        w = jax.tree.unflatten(treedef, w)
        if not use_levy:
            return w
        if self.levy_area is diffrax.SpaceTimeLevyArea:
            hh = [jnp.sqrt(h / 12).astype(s.dtype) * jax.random.normal(
                keys[len(leaves) + i], s.shape, s.dtype) for i, s in enumerate(leaves)]
            return diffrax.SpaceTimeLevyArea(dt=h, W=w, H=jax.tree.unflatten(treedef, hh))
        return diffrax.BrownianIncrement(dt=h, W=w)
