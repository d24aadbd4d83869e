r"""The clock of a fixed-step solve: every step exactly ``dt`` long, all
``n`` of them taken.

diffrax keeps a solve's time in the run's dtype, and in float32 two things go
wrong on long fixed-step runs (gradient descent for $10^5$ steps is common):

- each step's length is a difference of two rounded times, $t_{k+1} - t_k$,
  off by up to $\mathrm{ulp}(t)$: $\pm 0.5\%$ of ``dt`` at $10^5$ steps of
  $10^{-3}$, $\pm 2.3\%$ at $4\cdot 10^5$; gradient descent's learning rate
  $\tau\,dt$ jitters by as much from step to step;
- diffrax ends a solve as soon as its next time lies within 100 ulps of
  $t_1$ (against too-short last intervals of adaptive solves): at $4\cdot
  10^5$ steps of $10^{-3}$ the last four steps were taken as one of $4\,dt$,
  a final GD step at four times the learning rate.

Here a fixed-step solve runs on diffrax's clock $s = t - t_1$, which ends at
$0$, where 100 ulps are below $10^{-40}$; each ODE term's control (the step
diffrax multiplies the field by) is the nominal ``dt`` itself, not a
difference of times; the Brownian increments of a fixed-step SDE are drawn
for ``dt`` as well (:class:`~mfsim._solve.brownian.StepIncrements`). The
field is evaluated at $s + t_1$ (rounded as $t$ itself is); the monitors see
the requested save times exactly, and the solution reports them.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array


class StepTerm(diffrax.ODETerm):
    """An ODE term whose control over a step is the nominal step ``dt``."""

    dt: Array

    def contr(self, t0, t1, **kwargs):
        return jnp.asarray(self.dt, jnp.result_type(t0, t1))


class _Shifted(eqx.Module):
    """A vector field ``f(t, y, args)`` called on diffrax's clock ``s``."""

    field: object
    offset: Array

    def __call__(self, s, y, args):
        return self.field(s + self.offset, y, args)


class _Labelled(eqx.Module):
    """A save function called on diffrax's clock at the shifted save times,
    given the requested time itself."""

    fn: object
    shifted: Array
    ts: Array

    def __call__(self, s, y, args):
        i = jnp.clip(jnp.searchsorted(self.shifted, s), 0, self.ts.shape[0] - 1)
        return self.fn(self.ts[i], y, args)


class StepClock(eqx.Module):
    """diffrax's clock for a fixed-step solve of ``[t0, t1]`` with steps
    ``dt``: $s = t - t_1$."""

    t0: Array
    t1: Array
    dt: Array

    @property
    def span(self) -> tuple:
        """``(t0, t1)`` on diffrax's clock."""
        return self.t0 - self.t1, jnp.zeros_like(self.t1)

    def shift(self, t):
        return t - self.t1

    def terms(self, terms):
        """``terms`` on this clock: every ODE term a :class:`StepTerm` of the
        shifted field; other terms (noise) as they are: their Brownian motion
        is built on this clock (:meth:`span`) and knows ``dt``."""
        if isinstance(terms, diffrax.MultiTerm):
            return diffrax.MultiTerm(*(self.terms(t) for t in terms.terms))
        if isinstance(terms, diffrax.ODETerm):
            return StepTerm(_Shifted(terms.vector_field, self.t1), self.dt)
        return terms

    def shifted(self, fn):
        """``fn(t, y, args)`` called on diffrax's clock."""
        return _Shifted(fn, self.t1)

    def save(self, ts, fn) -> diffrax.SubSaveAt:
        """Save ``fn``'s values at ``ts`` (requested times)."""
        shifted = self.shift(ts)
        return diffrax.SubSaveAt(ts=shifted, fn=_Labelled(fn, shifted, ts))

    def restore(self, sol, requested: list):
        """``sol`` with its save times back on the run's clock: each
        ``SubSaveAt`` of ``ts`` reports the requested times where reached
        (``inf`` where not), the others ``s + t1``. ``requested``: per
        ``SubSaveAt``, its ``ts`` or ``None``."""
        ts = [jnp.where(jnp.isfinite(got), self.t1 + got if times is None else times, got)
              for got, times in zip(sol.ts, requested)]
        return eqx.tree_at(lambda s: s.ts, sol, ts)
