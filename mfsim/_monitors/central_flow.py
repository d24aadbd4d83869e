"""What the central flow predicts of gradient descent at the edge of stability."""

from __future__ import annotations

from typing import ClassVar

from .._systems.central_flow import CentralFlow
from .base import AbstractMonitor
from .variable import Variable, hidden, reference


class CentralFlowMonitor(AbstractMonitor):
    r"""Recorded by a :class:`mfsim.CentralFlow` (:mod:`mfsim._systems.central_flow`):

    - ``mean_objective``: $\mathcal J(\bar\theta) + \frac12\langle X, \Lambda\rangle$,
      the time-averaged objective of gradient descent;
    - ``mean_train_loss`` (``loss=True``, a system with a training loss): the
      time-averaged training loss, drawn over the network's ``train_loss``;
    - ``oscillation``: $E|\delta\theta|^2$, the mean square of GD's oscillation
      about $\bar\theta$ (0 below the edge);
    - ``edge_ratio``: $dt\,\lambda_i(A)/2$ of the tracked eigenvalues (1: at the edge);
      ``eigen_residual``: their eigenpairs' relative residual.
    """

    requires: ClassVar = (CentralFlow,)
    loss: bool = False

    def __call__(self, t, state, ctx):
        system = ctx.system
        osc = system.oscillation(state)
        out = {"mean_objective": osc.mean_objective(), "oscillation": osc.mean_square(),
               "edge_ratio": osc.eigenvalues * (system.dt / 2),
               "eigen_residual": osc.residual}
        if self.loss:
            out["mean_train_loss"] = system.mean_loss(state, osc)
        return out

    def variables(self):
        out = {"mean_objective": hidden(
                   "time-averaged objective J(theta) + (1/2) <X, Lambda> (central flow)",
                   "time-averaged objective", symbol="$\\bar{\\mathcal{J}}$"),
               "oscillation": Variable(
                   "mean square of gradient descent's oscillation about the central flow, "
                   "E|delta theta|^2 = sum_ij X_ij (S u_i).(S u_j) (0 below the edge)",
                   "oscillation mean square (central flow)", "$E|\\delta\\theta|^2$", scale="log"),
               "edge_ratio": hidden(
                   "dt lambda_i(A) / 2 of the eigenvalues the central flow tracks (1: the edge "
                   "of stability)", "stability ratio", symbol="$\\eta\\lambda_i / 2$"),
               "eigen_residual": hidden(
                   "max_i |A u_i - lambda_i u_i| / lambda_1 of the tracked eigenpairs (block "
                   "Krylov; their accuracy)", "eigenpair residual")}
        if self.loss:
            out["mean_train_loss"] = reference(
                "time-averaged training loss L(theta) + (1/2) sum_ij X_ij (S u_i)^T H_L (S u_j) "
                "predicted by the central flow", "training loss", "train_loss",
                "central flow: time-averaged loss", symbol="$\\bar L$", scale="log",
                predicts=True)
        return out

    def dims(self):
        return {"edge_ratio": ("edge_index",)}
