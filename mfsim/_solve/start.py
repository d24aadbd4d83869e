"""Where a run starts: its initial state and the key of its later randomness."""

from __future__ import annotations

from typing import Any

import equinox as eqx


class Start(eqx.Module):
    """An initial ``state`` with ``noise_key`` (a JAX key or an integer seed),
    the randomness a run draws after its start: a stochastic optimizer's
    batches (:func:`mfsim.sgd` with mini-batches or online samples) and
    Langevin noise. :func:`mfsim.simulate` starts from a key or seed (the
    state is ``system.init(key)``, the noise key ``jax.random.fold_in(key,
    1)``), from a state (a run without randomness), or from a ``Start``
    (a given state and noise key)."""

    state: Any
    noise_key: Any
