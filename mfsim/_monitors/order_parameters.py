"""The order parameters and the generalization error of a soft committee
machine; optionally the height of its symmetric plateau."""

from __future__ import annotations

from typing import ClassVar

from .._system import AbstractOrderParameterSystem
from .._systems.order_parameters import OrderParameterODE
from .base import AbstractMonitor
from .variable import Variable, hidden, reference


class OrderParametersMonitor(AbstractMonitor):
    r"""``generalization_error`` $\epsilon_g$ (closed form, over fresh inputs),
    ``overlap_Q`` $(K, K)$, ``overlap_R`` $(K, M)$ and ``second_layer`` $v$: of
    the network (from its weights) or of its order-parameter ODE twin.

    ``plateau=True`` also records ``plateau_error``: $\epsilon_g$ at the
    symmetric plateau of the order-parameter ODE built from the initial
    overlaps, at learning rate ``eta`` and batch ``batch_size`` of online SGD
    (0: the population flow) — :meth:`mfsim.OrderParameterODE.plateau`,
    solved once per run inside the compiled solve and drawn over
    $\epsilon_g$ (the network's record only; the students' initial $v_i$ must
    be equal)."""

    requires: ClassVar = (AbstractOrderParameterSystem,)
    plateau: bool = False
    eta: float = 0.0
    batch_size: int = 1

    def prepare(self, system, state0):
        if not self.plateau:
            return None
        twin = OrderParameterODE.twin_of(system, state0, eta=self.eta, batch_size=self.batch_size)
        return twin.generalization_error(twin.plateau_state())

    def __call__(self, t, state, ctx):
        p = ctx.system.order_parameters(state)
        out = {"generalization_error": ctx.system.generalization_error(state),
               "overlap_Q": p.Q, "overlap_R": p.R, "second_layer": p.v}
        if self.plateau:
            out["plateau_error"] = ctx.data
        return out

    def for_twin(self) -> OrderParametersMonitor:
        return OrderParametersMonitor()

    def variables(self):
        out = {"generalization_error": Variable(
                   "generalization error eps_g = (1/2) E (phi - phi*)^2 (closed form over fresh "
                   "inputs)", "generalization error", "$\\epsilon_g$", scale="log",
                   role="metric", oracle=True, rank=0),
               "overlap_Q": hidden("student overlaps Q = W W^T / N", "student overlaps",
                                   symbol="$Q$"),
               "overlap_R": hidden("student-teacher overlaps R = W W*^T / N",
                                   "student-teacher overlaps", symbol="$R$"),
               "second_layer": hidden("second-layer weights v", "second-layer weights",
                                      symbol="$v$")}
        if self.plateau:
            out["plateau_error"] = reference(
                f"eps_g at the symmetric plateau: the fixed point with identical students of the "
                f"order-parameter ODE at eta = {self.eta:g} (Newton)", "generalization error",
                "generalization_error", "symmetric plateau (fixed point of the ODE)",
                symbol="$\\epsilon^*$", scale="log")
        return out

    def dims(self):
        return {"overlap_Q": ("student", "student_2"), "overlap_R": ("student", "teacher"),
                "second_layer": ("student",)}
