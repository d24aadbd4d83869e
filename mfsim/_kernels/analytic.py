r"""Infinite-width kernels (NNGP and NTK).

**Deep fully connected networks** (:func:`fc_kernels`), in the convention of
``neural_tangents.stax.Dense(W_std=sigma_w, b_std=sigma_b)`` with the NTK
parameterization: layer $l$ computes
$z^{l+1} = \frac{\sigma_w}{\sqrt{n_l}} W^l a^l + \sigma_b b^l$ with
$W^l, b^l \sim N(0, 1)$ trained, $a^0 = x$, $a^l = \phi(z^l)$. With ``depth``
hidden layers followed by a linear readout:

$$\Sigma^1 = \sigma_w^2\,\tfrac{x\cdot x'}{d} + \sigma_b^2,\quad
\Sigma^{l+1} = \sigma_w^2 E[\phi(u)\phi(v)] + \sigma_b^2,\quad
\Theta^1 = \Sigma^1,\quad
\Theta^{l+1} = \Theta^l\,\sigma_w^2 E[\phi'(u)\phi'(v)] + \Sigma^{l+1},$$

with $(u, v)$ Gaussian of covariance $\Sigma^l$ on $\{x, x'\}$. The NNGP is
$\Sigma^{L+1}$ and the NTK $\Theta^{L+1}$ (``depth = L``).

**mfsim's two-layer network** (:func:`two_layer_kernels`)
$f(x) = c_m \sum_j v_j\phi(w_j\cdot x + b_j)$ trains $v, w, b$ *directly*
($v\sim N(0,\sigma_v^2)$, $w\sim N(0,\sigma_w^2 I/d)$, $b\sim N(0,\sigma_b^2)$),
so its kernel weights the layers differently from ``stax``. With
$S = \sigma_w^2\,x\cdot x'/d + \sigma_b^2$ (the pre-activation covariance):

$$K(x,x') = \underbrace{E[\phi(u)\phi(v)]}_{\text{output layer}}
 + \underbrace{\sigma_v^2\,(x\cdot x' + 1_{\text{bias}})\,E[\phi'(u)\phi'(v)]}_{\text{hidden layer}},$$

which is the limit of $\tau\,\Theta_m$ in both parameterizations ($\tau = 1$,
$c_m = 1/\sqrt m$ for ``ntk``; $\tau = m$, $c_m = 1/m$ for ``mean_field``;
``mup`` multiplies the hidden layer's term by $1/d$), so
the network's function-space flow at infinite width is
$\dot f = -\frac1n K (f - y)$ in either. (The ``stax`` two-layer NTK with
``Dense(sigma_w, sigma_b)``, ``Dense(sigma_v, 0)`` is instead
$\sigma_v^2 E[\phi\phi] + \sigma_v^2 (\sigma_w^2 x\cdot x'/d + \sigma_b^2) E[\phi'\phi']$.)
The NNGP of the two-layer network is $E[\phi(u)\phi(v)]$ for ``ntk``
(the prior covariance of $f$ at $\sigma_v = 1$, times $\sigma_v^2$ in general).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .gaussian import gaussian_expectations


def _gram(x1, x2):
    return x1 @ x2.T


def _diag(x):
    return jnp.sum(x * x, axis=-1)


def fc_kernels(
    x1: Float[Array, "n1 d"],
    x2: Float[Array, "n2 d"],
    *,
    depth: int,
    activation: str = "relu",
    sigma_w: float = 1.0,
    sigma_b: float = 0.0,
) -> tuple[Float[Array, "n1 n2"], Float[Array, "n1 n2"]]:
    """(NNGP, NTK) of a depth-``depth`` fully connected net (``stax`` convention)."""
    if depth < 0:
        raise ValueError(f"depth must be >= 0; got {depth}")
    d = x1.shape[-1]
    sw2, sb2 = sigma_w**2, sigma_b**2
    s12 = sw2 * _gram(x1, x2) / d + sb2
    s11 = sw2 * _diag(x1) / d + sb2
    s22 = sw2 * _diag(x2) / d + sb2
    ntk = s12
    for _ in range(depth):
        e_phi, e_dphi = gaussian_expectations(activation, s11[:, None], s12, s22[None, :])
        d11, _ = gaussian_expectations(activation, s11, s11, s11)
        d22, _ = gaussian_expectations(activation, s22, s22, s22)
        ntk = ntk * sw2 * e_dphi + (sw2 * e_phi + sb2)
        s12 = sw2 * e_phi + sb2
        s11, s22 = sw2 * d11 + sb2, sw2 * d22 + sb2
    return s12, ntk


def two_layer_kernels(
    x1: Float[Array, "n1 d"],
    x2: Float[Array, "n2 d"],
    *,
    activation: str = "relu",
    sigma_v: float = 1.0,
    sigma_w: float = 1.0,
    sigma_b: float = 0.0,
    bias: bool = False,
    train: tuple[str, ...] = ("hidden", "output"),
    input_multiplier: float = 1.0,
) -> tuple[Float[Array, "n1 n2"], Float[Array, "n1 n2"]]:
    r"""(NNGP, NTK) of mfsim's two-layer network: NNGP $\\sigma_v^2 E[\\phi\\phi]$,
    NTK $K = \\lim \\tau\\Theta_m$ restricted to the layers in ``train``.
    ``input_multiplier`` $a$ ($1/\\sqrt d$ for ``mup``) scales the hidden
    layer's term to $\\sigma_v^2 (a^2 x\\cdot x' + 1_{bias}) E[\\phi'\\phi']$; the
    pre-activation covariance is the same in every parameterization."""
    d = x1.shape[-1]
    sb2 = sigma_b**2 if bias else 0.0
    dot = _gram(x1, x2)
    s12 = sigma_w**2 * dot / d + sb2
    s11 = sigma_w**2 * _diag(x1) / d + sb2
    s22 = sigma_w**2 * _diag(x2) / d + sb2
    e_phi, e_dphi = gaussian_expectations(activation, s11[:, None], s12, s22[None, :])
    ntk = jnp.zeros_like(dot)
    if "output" in train:
        ntk = ntk + e_phi
    if "hidden" in train:
        ntk = ntk + sigma_v**2 * (input_multiplier**2 * dot + (1.0 if bias else 0.0)) * e_dphi
    return sigma_v**2 * e_phi, ntk


class TwoLayerKernel(eqx.Module):
    """The analytic NTK of a two-layer network as a callable ``(x1, x2) -> K``."""

    sigma_v: Float[Array, ""]
    sigma_w: Float[Array, ""]
    sigma_b: Float[Array, ""]
    activation: str = eqx.field(static=True)
    bias: bool = eqx.field(static=True)
    train: tuple[str, ...] = eqx.field(static=True)
    input_multiplier: float = eqx.field(static=True, default=1.0)

    def __call__(self, x1, x2):
        return two_layer_kernels(
            x1, x2, activation=self.activation, sigma_v=self.sigma_v, sigma_w=self.sigma_w,
            sigma_b=self.sigma_b, bias=self.bias, train=self.train,
            input_multiplier=self.input_multiplier,
        )[1]
