r"""Generalization predicted from a kernel's spectrum: the learning curve of
kernel ridge regression (Bordelon, Canatar & Pehlevan 2020; Simon, Dickens,
Karkada & DeWeese 2021, "eigenlearning").

Conventions. The kernel is $K(x, x') = \sum_i \lambda_i \phi_i(x)\phi_i(x')$
with $\mathbb E_x[\phi_i\phi_j] = \delta_{ij}$ under the data distribution;
the target is $f(x) = \sum_i v_i \phi_i(x)$; $n$ training points with labels
$y = f(x) + \epsilon$, $\mathbb E\epsilon^2 = \sigma^2$ (``noise``); kernel
ridge regression $\hat f(x) = K(x, X)(K(X, X) + \delta I)^{-1} y$ with ridge
$\delta$ added to the Gram matrix itself (not $n\delta$). Eigenvalues may be
given per eigenspace with multiplicities $g_k$ (the sphere's harmonics); the
target's power per eigenspace is then $\sum_{i \in k} v_i^2$.

The effective regularization $\kappa$ solves

$$n = \sum_k g_k \frac{\lambda_k}{\lambda_k + \kappa} + \frac{\delta}{\kappa},$$

the learnability of eigenspace $k$ is $L_k = \lambda_k / (\lambda_k + \kappa)$,
and the overfitting factor is $E_0 = n / (n - \sum_k g_k L_k^2)$. The
predicted test error against the noiseless target is

$$\mathbb E\,\|\hat f - f\|^2 = E_0 \sum_k (1 - L_k)^2 p_k + (E_0 - 1)\sigma^2,$$

($p_k$ the target's power in eigenspace $k$) and the training error
$\frac1n\|\hat f(X) - y\|^2 = (\delta / (n\kappa))^2 E_0 (\sum_k (1 - L_k)^2 p_k
+ \sigma^2)$. Ridgeless ($\delta = 0$) with at least as many points as
eigenfunctions of non-zero eigenvalue, $\kappa = 0$: every $L_k = 1$ and
$E_0 = n / (n - N)$ (infinite at $n = N$: interpolation of noise).

The approximation is exact as $n$ and the number of eigenfunctions grow
together; at finite size it is a mean-field estimate of the average over
training sets (tests/test_learning_curve.py measures it against Monte Carlo:
within 2% on Gaussian features, and where it parts from kernel regression on
the sphere at small ridge: docs/theory.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class LearningCurve(NamedTuple):
    """What :func:`learning_curve` predicts, each entry broadcast over ``n``
    and ``ridge``.

    - ``n``, ``ridge``: the sample sizes and ridges.
    - ``kappa``: the effective regularization $\\kappa$.
    - ``learnabilities``: $L_k$, the eigenspaces on the last axis.
    - ``overfitting``: $E_0$.
    - ``test_error``: the predicted $\\mathbb E\\|\\hat f - f\\|^2$ (noiseless target).
    - ``train_error``: the predicted mean squared training residual.
    """

    n: np.ndarray
    ridge: np.ndarray
    kappa: np.ndarray
    learnabilities: np.ndarray
    overfitting: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray


# relative size of a negative eigenvalue taken as rounding of 0 (learning_curve)
ROUNDING = 1e-6


def effective_regularization(eigenvalues, multiplicities, n: float, ridge: float) -> float:
    r"""$\kappa \ge 0$ solving $n = \sum_k g_k \lambda_k / (\lambda_k + \kappa)
    + \delta / \kappa$ (bisection in $\log\kappa$ to machine precision; the
    left side decreases in $\kappa$). ``0`` where ``ridge`` is 0 and ``n`` is
    at least the number of eigenfunctions of non-zero eigenvalue."""
    lam = np.asarray(eigenvalues, float)
    g = np.asarray(multiplicities, float)
    if n <= 0:
        raise ValueError(f"n must be positive; got {n}")
    if ridge < 0:
        raise ValueError(f"ridge must be non-negative; got {ridge}")
    positive = lam > 0
    if ridge == 0 and n >= g[positive].sum():
        return 0.0

    def excess(kappa):
        return np.sum(g * lam / (lam + kappa)) + ridge / kappa - n

    hi = 2.0 * (np.sum(g * lam) + ridge) / n  # excess(hi) < 0
    lo = hi
    while excess(lo) <= 0:  # ridge > 0: lo below ridge / n; ridgeless: n below the rank
        lo *= 1e-3
    a, b = np.log(lo), np.log(hi)
    for _ in range(200):
        mid = 0.5 * (a + b)
        if mid in (a, b):
            break
        a, b = (mid, b) if excess(np.exp(mid)) > 0 else (a, mid)
    return float(np.exp(0.5 * (a + b)))


def learning_curve(eigenvalues, target_power, n, ridge=0.0, noise: float = 0.0,
                   multiplicities=None) -> LearningCurve:
    r"""The learning curve of kernel ridge regression predicted from the
    kernel's spectrum (module docstring for the conventions and equations).

    **Arguments:**

    - ``eigenvalues``: $\lambda_k \ge 0$, one per eigenspace (or per
      eigenfunction, ``multiplicities`` left out).
    - ``target_power``: $p_k$, the target's squared coefficients summed over
      eigenspace $k$ (same length).
    - ``n``: the number of training points (a number or an array).
    - ``ridge``: $\delta$, added to the Gram matrix (a number or an array,
      broadcast against ``n``).
    - ``noise``: $\sigma^2$, the variance of the label noise.
    - ``multiplicities``: $g_k$, the number of eigenfunctions sharing
      $\lambda_k$ (default 1 each).

    **Returns:** a :class:`LearningCurve`.
    """
    lam = np.asarray(eigenvalues, float)
    power = np.asarray(target_power, float)
    g = np.ones_like(lam) if multiplicities is None else np.asarray(multiplicities, float)
    if lam.ndim != 1 or power.shape != lam.shape or g.shape != lam.shape:
        raise ValueError(f"eigenvalues, target_power and multiplicities must be 1-d of one "
                         f"length; got {lam.shape}, {power.shape}, {g.shape}")
    # a zero eigenvalue comes out of a quadrature or an eigensolver as rounding
    # of either sign (1e-16 in float64, 1e-9 relative for a float32 kernel):
    # within ROUNDING of the largest it is 0; below that the kernel is refused
    floor = -ROUNDING * max(float(np.max(np.abs(lam), initial=0.0)), 1e-300)
    if np.any(lam < floor) or np.any(power < 0) or np.any(g <= 0) or noise < 0:
        raise ValueError("eigenvalues, target powers and noise must be non-negative, "
                         "multiplicities positive")
    lam = np.maximum(lam, 0.0)
    n_b, ridge_b = np.broadcast_arrays(np.asarray(n, float), np.asarray(ridge, float))
    kappa = np.vectorize(lambda a, b: effective_regularization(lam, g, a, b))(n_b, ridge_b)
    kappa = np.asarray(kappa, float)
    k = kappa[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        learn = np.where(lam > 0, lam / (lam + k), 0.0)
        overfit = n_b / (n_b - np.sum(g * learn**2, axis=-1))
        overfit = np.where(overfit > 0, overfit, np.inf)
        bias = np.sum((1.0 - learn) ** 2 * power, axis=-1)
        test = overfit * bias + (overfit - 1.0) * noise
        shrink = np.where(kappa > 0, ridge_b / (n_b * kappa), 0.0)
        train = shrink**2 * overfit * (bias + noise)
    return LearningCurve(n_b, ridge_b, kappa, learn, overfit, test, train)


def sphere_learning_curve(kernel, d: int, n, ridge=0.0, *, degrees, amplitudes=None,
                          noise: float = 0.0, radius: float | None = None,
                          max_degree: int = 64) -> LearningCurve:
    r""":func:`learning_curve` of a rotation-invariant ``kernel`` (a callable
    ``(x1, x2) -> K``, as for :func:`mfsim.sphere_eigenvalues`) for inputs
    uniform on the sphere of ``radius`` (default $\sqrt d$, as
    :func:`mfsim.gegenbauer_task`) in ``R^d`` and a target of Gegenbauer
    ``degrees`` with energies ``amplitudes**2`` (default 1 each): the
    eigenvalues of degrees ``0..max_degree`` by Funk-Hecke, each with its
    multiplicity $N(d, k)$. The degrees beyond ``max_degree`` enter as the
    ridge their trace adds, $K(x, x) - \sum_{k \le k_{max}} N(d,k)\mu_k$
    (valid while their eigenvalues lie far below $\kappa$)."""
    from .sphere import harmonic_multiplicity, profile, sphere_eigenvalues

    radius = float(np.sqrt(d)) if radius is None else float(radius)
    degrees = [int(k) for k in degrees]
    amplitudes = np.ones(len(degrees)) if amplitudes is None else np.asarray(amplitudes, float)
    if len(amplitudes) != len(degrees) or not degrees or min(degrees) < 0:
        raise ValueError(f"need one amplitude per non-negative degree; got degrees {degrees}, "
                         f"{len(amplitudes)} amplitudes")
    if max(degrees) > max_degree:
        raise ValueError(f"the target's degree {max(degrees)} is above max_degree {max_degree}")
    all_degrees = np.arange(max_degree + 1)
    mu = sphere_eigenvalues(kernel, d, all_degrees, radius=radius, nodes=max(512, 8 * max_degree))
    # (the ReLU NTK's zero odd degrees above 1 come out as rounding: learning_curve)
    g = np.array([harmonic_multiplicity(d, int(k)) for k in all_degrees], float)
    power = np.zeros(max_degree + 1)
    power[degrees] = amplitudes**2
    tail = max(float(profile(kernel, d, np.array([1.0]), radius)[0]) - float(np.sum(g * mu)), 0.0)
    curve = learning_curve(mu, power, n, np.asarray(ridge, float) + tail, noise, g)
    return curve._replace(ridge=curve.ridge - tail)


def pool_learning_curve(kernel, x_pool, y_pool, n, ridge=0.0, noise: float = 0.0
                        ) -> LearningCurve:
    r""":func:`learning_curve` with the eigen-data of a sample of the inputs:
    the Nyström estimate (as :class:`mfsim.NystromEigenfunctions`) from a pool
    ``x_pool`` of $P$ inputs drawn from the data distribution and the target's
    values ``y_pool`` there. The eigenvalues are those of $K(X, X)/P$ (its
    eigenvectors $u_i$), the eigenfunctions $\phi_i(x_j) = \sqrt P u_{ij}$, so
    the target's power in mode $i$ is $(u_i\cdot y)^2/P$. Exact for training
    sets drawn from the pool itself (its empirical distribution); for the
    population, as good as the pool resolves the spectrum at the scale ``n``
    sees ($P \gg n$). Any kernel and any input law: no symmetry needed.
    ``noise`` is the label noise's variance, ``ridge`` as for
    :func:`learning_curve` (added to the Gram matrix of the ``n`` points)."""
    x = np.asarray(x_pool, np.float64)
    y = np.asarray(y_pool, np.float64).reshape(-1)
    if x.ndim != 2 or y.shape[0] != x.shape[0]:
        raise ValueError(f"need inputs (P, d) and one target value per input; got "
                         f"{x.shape} and {np.shape(y_pool)}")
    size = x.shape[0]
    gram = np.asarray(kernel(x, x), np.float64) / size
    lam, u = np.linalg.eigh(0.5 * (gram + gram.T))
    return learning_curve(lam, (u.T @ y) ** 2 / size, n, ridge, noise)

