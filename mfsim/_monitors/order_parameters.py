"""The order parameters and the generalization error of a soft committee machine."""

from __future__ import annotations

from typing import ClassVar

from .._system import AbstractOrderParameterSystem
from .base import AbstractMonitor


class OrderParametersMonitor(AbstractMonitor):
    r"""``generalization_error`` $\epsilon_g$ (closed form, over fresh inputs),
    ``overlap_Q`` $(K, K)$, ``overlap_R`` $(K, M)$ and ``second_layer`` $v$: of
    the network (from its weights) or of its order-parameter ODE twin."""

    requires: ClassVar = (AbstractOrderParameterSystem,)

    def __call__(self, t, state, ctx):
        p = ctx.system.order_parameters(state)
        return {"generalization_error": ctx.system.generalization_error(state),
                "overlap_Q": p.Q, "overlap_R": p.R, "second_layer": p.v}

    def descriptions(self):
        return {"generalization_error": "generalization error eps_g = (1/2) E (phi - phi*)^2 "
                                        "(closed form over fresh inputs)",
                "overlap_Q": "student overlaps Q = W W^T / N",
                "overlap_R": "student-teacher overlaps R = W W*^T / N",
                "second_layer": "second-layer weights v"}

    def dims(self):
        return {"overlap_Q": ("student", "student_2"), "overlap_R": ("student", "teacher"),
                "second_layer": ("student",)}
