"""Spreading a solve over every JAX device with ``jax.sharding``.

Two layouts, chosen by ``shard`` in :func:`mfsim.simulate` /
:func:`mfsim.simulate_batch` (``[solver] shard`` in a scenario):

- ``"particles"``: every state array whose leading axis is the particle axis
  (length ``system.width``) is split along it over a 1-D mesh of all devices;
  everything else (data, scalars) is replicated. The compiled solve then runs
  each device's neurons locally, and XLA inserts the all-reduce of the output
  sum over neurons.
- ``"sweep"``: the problems of a batched solve are split over the devices
  along the batch axis (the batch is padded to a multiple of the device count).

Sharding changes where the numbers live, not what they are: results equal
single-device ones up to the order of floating-point reductions. On several
hosts, call ``jax.distributed.initialize()`` first on every host; the mesh
then spans every host's devices (``jax.devices()``).
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .._system import AbstractParticleSystem

Shard = Literal["none", "particles", "sweep"]
SHARD_MODES = ("none", "particles", "sweep")
AXIS = "devices"


def device_mesh() -> Mesh:
    """A 1-D mesh over every device (of every host)."""
    return Mesh(np.asarray(jax.devices()), (AXIS,))


def _split_leading(tree, length: int | None, mesh: Mesh):
    """``tree`` with arrays whose leading axis has ``length`` (any length if
    None; none if -1) divisible by the device count split along it; the rest
    replicated."""
    n = mesh.devices.size
    split = NamedSharding(mesh, PartitionSpec(AXIS))
    whole = NamedSharding(mesh, PartitionSpec())

    def place(x):
        if not eqx.is_array(x):
            return x
        lead = x.shape[0] if x.ndim else None
        ok = (lead is not None and length != -1 and lead % n == 0
              and (length is None or lead == length))
        return jax.device_put(x, split if ok else whole)

    return jax.tree.map(place, tree)


def check_shard(shard: str) -> None:
    if shard not in SHARD_MODES:
        raise ValueError(f"unknown shard {shard!r}; allowed: {', '.join(SHARD_MODES)}")


def shard_particles(system, state):
    """``(system, state)`` laid out for ``shard="particles"``."""
    if not isinstance(system, AbstractParticleSystem):
        raise ValueError(f"shard='particles' needs a particle system (AbstractParticleSystem); "
                         f"{type(system).__name__} is not one")
    width = system.width
    mesh = device_mesh()
    if width % mesh.devices.size:
        raise ValueError(f"shard='particles': width {width} is not divisible by the "
                         f"{mesh.devices.size} devices")
    return _split_leading(system, -1, mesh), _split_leading(state, width, mesh)


def shard_batch(stacked):
    """Stacked problems (leading batch axis) split over the devices."""
    return _split_leading(stacked, None, device_mesh())


def sweep_multiple() -> int:
    """Batches of a sweep-sharded solve are padded to a multiple of this."""
    return len(jax.devices())
