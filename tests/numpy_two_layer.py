"""An independent NumPy implementation of the two-layer gradient flow.

Written from the formulas (THEORY.md; thesis eqs. 2.18-2.19), not from
mfsim's code: objective J = (1/alpha^2) (1/2n) sum_i (f(x_i) - y_i)^2 with
f = alpha (c_m sum_j v_j phi(w_j.x + b_j) - h0), and

  dJ/dv_j = c/(alpha n) sum_i r_i phi(z_ij)
  dJ/dw_j = c/(alpha n) sum_i r_i v_j phi'(z_ij) x_i
  dJ/db_j = c/(alpha n) sum_i r_i v_j phi'(z_ij)

with r = f - y, z = X w^T + b.
"""

import numpy as np
from scipy.special import erf

PHI = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "erf": (erf, lambda z: 2.0 / np.sqrt(np.pi) * np.exp(-(z**2))),
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
}


class NumpyTwoLayer:
    def __init__(self, x, y, *, activation, parameterization, alpha=1.0, h0=None):
        self.x, self.y = np.asarray(x, float), np.asarray(y, float)
        self.phi, self.dphi = PHI[activation]
        self.param = parameterization
        # muP: pre-activation a w.x + b with a = 1/sqrt(d), and dJ/dw gets the factor a
        self.a = 1.0 / np.sqrt(self.x.shape[1]) if parameterization == "mup" else 1.0
        self.alpha = alpha
        self.h0 = 0.0 if h0 is None else np.asarray(h0, float)

    def c_tau(self, m):
        return (1.0 / np.sqrt(m), 1.0) if self.param == "ntk" else (1.0 / m, float(m))

    def pre(self, v, w, b):
        z = self.a * (self.x @ w.T)
        return z if b is None else z + b

    def predict(self, v, w, b):
        c, _ = self.c_tau(v.shape[0])
        return self.alpha * (c * self.phi(self.pre(v, w, b)) @ v - self.h0)

    def loss(self, v, w, b):
        return 0.5 * np.mean((self.predict(v, w, b) - self.y) ** 2)

    def grad(self, v, w, b):
        n, m = self.x.shape[0], v.shape[0]
        c, _ = self.c_tau(m)
        z = self.pre(v, w, b)
        r = self.predict(v, w, b) - self.y
        k = c / (self.alpha * n)
        gv = k * self.phi(z).T @ r
        s = (self.dphi(z) * r[:, None]) * v[None, :]  # (n, m)
        gw = k * self.a * s.T @ self.x
        gb = None if b is None else k * s.sum(axis=0)
        return gv, gw, gb

    def velocity(self, v, w, b, train=("hidden", "output")):
        """d(v, w, b)/dt = -tau grad J (frozen layers: 0)."""
        _, tau = self.c_tau(v.shape[0])
        gv, gw, gb = self.grad(v, w, b)
        gv = gv if "output" in train else 0 * gv
        gw = gw if "hidden" in train else 0 * gw
        gb = None if b is None else (gb if "hidden" in train else 0 * gb)
        return -tau * gv, -tau * gw, None if b is None else -tau * gb
