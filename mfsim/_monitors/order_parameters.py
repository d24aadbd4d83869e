"""The order parameters and the generalization error of a soft committee machine."""

from __future__ import annotations

from typing import ClassVar

from .._system import AbstractOrderParameterSystem
from .base import AbstractMonitor
from .variable import Variable, hidden


class OrderParametersMonitor(AbstractMonitor):
    r"""``generalization_error`` $\epsilon_g$ (closed form, over fresh inputs),
    ``overlap_Q`` $(K, K)$, ``overlap_R`` $(K, M)$ and ``second_layer`` $v$: of
    the network (from its weights) or of its order-parameter ODE twin."""

    requires: ClassVar = (AbstractOrderParameterSystem,)

    def __call__(self, t, state, ctx):
        p = ctx.system.order_parameters(state)
        return {"generalization_error": ctx.system.generalization_error(state),
                "overlap_Q": p.Q, "overlap_R": p.R, "second_layer": p.v}

    def variables(self):
        return {"generalization_error": Variable(
                    "generalization error eps_g = (1/2) E (phi - phi*)^2 (closed form over fresh "
                    "inputs)", "generalization error", "$\\epsilon_g$", scale="log",
                    role="metric", oracle=True, rank=0),
                "overlap_Q": hidden("student overlaps Q = W W^T / N", "student overlaps",
                                    symbol="$Q$"),
                "overlap_R": hidden("student-teacher overlaps R = W W*^T / N",
                                    "student-teacher overlaps", symbol="$R$"),
                "second_layer": hidden("second-layer weights v", "second-layer weights",
                                       symbol="$v$")}

    def dims(self):
        return {"overlap_Q": ("student", "student_2"), "overlap_R": ("student", "teacher"),
                "second_layer": ("student",)}
