"""A system's shapes and time scale before anything is built.

The scenario's system is built on data *shapes* (``Dataset.abstract``: the
task's sizes as ``jax.ShapeDtypeStruct`` leaves) and initialized under
:func:`jax.eval_shape`: nothing is allocated, yet the state's shapes and its
particle count are the built system's own. Its time scale $\tau$ is read
from the trace of ``build(...).time_scale()``: the operations it needs are
evaluated alone, when none of them reads the data (true of every shipped
system: a width, a dimension, a table's number), so nothing else of the
build (an ``N x N`` identity of a sequence model) is computed.

Where an entry gives no vector-field intermediates (:class:`SystemMemory`
``field``), XLA's account of the compiled vector field stands in for them
(a compile of the field alone, on shapes, once per configuration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.extend.core import Literal, Var

from .._system import AbstractParticleSystem, AbstractSystem
from . import registry
from .entry import DataSizes

_CACHE: dict[tuple, SystemShapes] = {}


@dataclass(frozen=True)
class SystemShapes:
    """``system`` (arrays as ``jax.ShapeDtypeStruct``) and ``state``
    (likewise), ``params`` (elements of the state), ``particles`` (rows of
    ``system.particles(state)``, 1 for other systems)."""

    system: AbstractSystem
    state: Any
    params: int
    particles: int

    def field_elements(self) -> int:
        """Elements of the vector field's temporaries, by XLA's memory
        analysis of the field compiled on these shapes (0 where the backend
        gives none)."""
        dtype = jax.tree.leaves(self.state)[0].dtype
        is_shape = lambda x: isinstance(x, jax.ShapeDtypeStruct)  # noqa: E731
        arrays, static = eqx.partition(self.system, is_shape, is_leaf=is_shape)

        def field(arrays, state):
            system = eqx.combine(arrays, static)
            return system.vector_field(jnp.zeros((), dtype), state, None)

        with jax.enable_x64(dtype == jnp.float64):
            stats = jax.jit(field).lower(arrays, self.state).compile().memory_analysis()
        return 0 if stats is None else int(stats.temp_size_in_bytes) // dtype.itemsize


def system_shapes(cfg, data: DataSizes, dtype: str) -> SystemShapes:
    """The :class:`SystemShapes` of ``[system]`` table ``cfg`` on data of
    ``data`` sizes, in ``dtype`` (a name: ``"float32"``); cached per table,
    sizes and dtype."""
    key = ("shapes", cfg.model_dump_json(), data, dtype)
    if key not in _CACHE:
        with jax.enable_x64(dtype == "float64"):
            _CACHE[key] = _shapes(cfg, data, jnp.dtype(dtype))
    return _CACHE[key]


def time_scale(cfg, data: DataSizes, dtype: str) -> float | None:
    """The time scale $\tau$ of the system of table ``cfg`` on data of
    ``data`` sizes: ``build(cfg, data).time_scale()`` evaluated without the
    data, or ``None`` where it depends on the data's values."""
    key = ("tau", cfg.model_dump_json(), data, dtype)
    if key not in _CACHE:
        entry = registry.SYSTEMS[cfg.kind]
        with jax.enable_x64(dtype == "float64"):
            _CACHE[key] = _constant(lambda d: entry.build(cfg, d).time_scale(),
                                    entry.data.abstract(data, jnp.dtype(dtype)))
    return _CACHE[key]


def _shapes(cfg, data: DataSizes, dtype) -> SystemShapes:
    entry = registry.SYSTEMS[cfg.kind]
    found: dict[str, int] = {}

    def problem(data, key):
        system = entry.build(cfg, data)
        state = system.init(key)
        found["particles"] = (system.particles(state).shape[0]
                              if isinstance(system, AbstractParticleSystem) else 1)
        return system, state

    system, state = eqx.filter_eval_shape(problem, entry.data.abstract(data, dtype),
                                          jax.random.key(0))
    return SystemShapes(system, state, sum(x.size for x in jax.tree.leaves(state)),
                        int(found["particles"]))


def _constant(fn, *args) -> float | None:
    """``fn(*args)`` (a scalar) where it does not depend on the values of
    ``args``: the equations of its trace that the output needs, evaluated
    alone; ``None`` where the output needs an input."""
    closed = jax.make_jaxpr(fn)(*args)
    jaxpr = closed.jaxpr
    (out,) = jaxpr.outvars
    needed = {out} if isinstance(out, Var) else set()
    used = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in needed for v in eqn.outvars):
            used.append(eqn)
            needed.update(v for v in eqn.invars if isinstance(v, Var))
    if needed & set(jaxpr.invars):
        return None
    env = dict(zip(jaxpr.constvars, closed.consts))
    read = lambda v: v.val if isinstance(v, Literal) else env[v]  # noqa: E731
    for eqn in reversed(used):
        result = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        env.update(zip(eqn.outvars, result if eqn.primitive.multiple_results else [result]))
    return float(read(out))
