"""Which solve statuses mean the solve ran as asked (light: no JAX import,
read by the store and the figures)."""

from __future__ import annotations

#: a solve ended by its stopping rule (:class:`mfsim.StopWhen`)
STATUS_STOPPED = "stopped"
#: the statuses of a solve that ran as asked: to t1, or to its stopping rule
COMPLETED = ("success", STATUS_STOPPED)


def completed(status) -> bool:
    """Whether ``status`` is a completed solve's (not a failure)."""
    return str(status) in COMPLETED
