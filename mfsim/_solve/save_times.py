"""Save times: where monitors are evaluated."""

from __future__ import annotations

import numpy as np


def save_times(
    t1: float,
    n: int,
    *,
    spacing: str = "linear",
    t0: float = 0.0,
    t_first: float | None = None,
) -> np.ndarray:
    """``n`` save times from ``t0`` to ``t1`` inclusive.

    ``spacing="linear"``: evenly spaced. ``spacing="log"``: ``t0`` followed by
    ``n - 1`` log-spaced times from ``t0 + t_first`` to ``t1`` (default
    ``t_first = (t1 - t0) * 1e-3``), the natural grid for loss curves spanning
    several decades of time.
    """
    if n < 2:
        raise ValueError(f"need at least 2 save times; got {n}")
    if not t1 > t0:
        raise ValueError(f"t1 must exceed t0; got t0={t0}, t1={t1}")
    if spacing == "linear":
        return np.linspace(t0, t1, n)
    if spacing == "log":
        span = t1 - t0
        t_first = span * 1e-3 if t_first is None else t_first
        if not 0 < t_first < span:
            raise ValueError(f"t_first must lie in (0, t1 - t0); got {t_first}")
        return np.concatenate([[t0], t0 + np.geomspace(t_first, span, n - 1)])
    raise ValueError(f"unknown spacing {spacing!r}; allowed: linear, log")


def snap_to_steps(ts: np.ndarray, t0: float, dt: float) -> np.ndarray:
    """Round save times to the fixed-step grid ``t0 + k dt`` (deduplicated),
    so a fixed-step solve saves exact iterates rather than interpolants."""
    k = np.unique(np.round((np.asarray(ts) - t0) / dt))
    return t0 + k * dt
