r"""The minimum-norm interpolants of an under-determined linear regression
$X\beta = y$ ($X$ of shape $(n, d)$, $n < d$): the two limits of a diagonal
linear network's implicit bias (Woodworth et al. 2020). As the initialization
scale $\alpha \to \infty$ the gradient flow reaches the minimum-$\ell_2$
interpolant (kernel regime); as $\alpha \to 0$ the minimum-$\ell_1$ one (rich
regime). Computed on the host in float64, once per dataset:

- $\ell_2$: $\beta = X^+ y$ (least squares, the pseudo-inverse);
- $\ell_1$: basis pursuit, the linear program
  $\min \sum_i (p_i + q_i)$ s.t. $X(p - q) = y$, $p, q \ge 0$ (HiGHS through
  :func:`scipy.optimize.linprog`), $\beta = p - q$.
"""

from __future__ import annotations

import numpy as np


def _check(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"need X of shape (n, d) and y of shape (n,); got {x.shape}, {y.shape}")
    return x, y


def min_l2_interpolant(x, y) -> np.ndarray:
    """The minimum-l2-norm solution of ``X beta = y`` (least squares when
    there is none)."""
    x, y = _check(x, y)
    return np.linalg.lstsq(x, y, rcond=None)[0]


def min_l1_interpolant(x, y) -> np.ndarray:
    """The minimum-l1-norm solution of ``X beta = y`` (basis pursuit); a
    ValueError when ``X beta = y`` has no solution."""
    from scipy.optimize import linprog

    x, y = _check(x, y)
    d = x.shape[1]
    result = linprog(np.ones(2 * d), A_eq=np.hstack([x, -x]), b_eq=y, bounds=(0, None),
                     method="highs")
    if result.status != 0:
        raise ValueError(f"no interpolant: X beta = y has no solution ({result.message})")
    return result.x[:d] - result.x[d:]
