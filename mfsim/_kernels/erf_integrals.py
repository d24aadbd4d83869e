r"""Gaussian averages of $g(x) = \mathrm{erf}(x/\sqrt2)$ in closed form: the
integrals of the order-parameter ODEs of soft committee machines (Saad and
Solla 1995; Biehl and Schwarze 1995; Goldt et al. 2019).

Fields $(z_a, z_b, \dots)$ are jointly Gaussian, mean 0, covariance $C$ (for a
committee machine: the student fields $\lambda_i = w_i\cdot x/\sqrt N$ and the
teacher fields $\nu_n$, $C = [[Q, R], [R^\top, T]]$). With $g' (x) =
\sqrt{2/\pi}\,e^{-x^2/2}$:

**I2** $= E[g(z_a) g(z_b)] = \frac2\pi \arcsin\frac{C_{ab}}{\sqrt{(1 + C_{aa})(1 + C_{bb})}}$.
Derivation: $g(z) = P(\xi \le z)\cdot 2 - 1$ for $\xi\sim N(0,1)$, so $E[g(z_a)g(z_b)]$
is $4P(\xi_a \le z_a, \xi_b \le z_b) - 1$ with independent $\xi$: the quadrant
probability of the Gaussian pair $(\xi_a - z_a, \xi_b - z_b)$, correlation
$\rho = C_{ab}/\sqrt{(1+C_{aa})(1+C_{bb})}$, is $\frac14 + \frac{\arcsin\rho}{2\pi}$.

**I3** $= E[g'(z_a)\, z_b\, g(z_c)] = \frac{2}{\pi}\,\frac{1}{\sqrt{\Lambda_3}}\,
\frac{C_{bc}(1 + C_{aa}) - C_{ab} C_{ac}}{1 + C_{aa}}$, $\Lambda_3 = (1 + C_{aa})(1 + C_{cc}) - C_{ac}^2$.
Derivation: Stein's lemma on $z_b$ gives $E[g' z_b g] = C_{ab}E[g''(z_a) g(z_c)]
+ C_{bc} E[g'(z_a) g'(z_c)]$; both are Gaussian integrals of Gaussians
($g'' = -z g'$), which evaluate to the expression above.

**I4** $= E[g'(z_a) g'(z_b) g(z_c) g(z_d)] = \frac{4}{\pi^2}\frac{1}{\sqrt{\Lambda_4}}
\arcsin\frac{\Lambda_0}{\sqrt{\Lambda_1\Lambda_2}}$, with $\Lambda_4 = (1+C_{aa})(1+C_{bb}) - C_{ab}^2$,
$\Lambda_0 = \Lambda_4 C_{cd} - C_{bc}C_{bd}(1+C_{aa}) - C_{ac}C_{ad}(1+C_{bb})
+ C_{ab}C_{ac}C_{bd} + C_{ab}C_{ad}C_{bc}$,
$\Lambda_1 = \Lambda_4(1+C_{cc}) - C_{bc}^2(1+C_{aa}) - C_{ac}^2(1+C_{bb}) + 2C_{ab}C_{ac}C_{bc}$,
$\Lambda_2 = \Lambda_4(1+C_{dd}) - C_{bd}^2(1+C_{aa}) - C_{ad}^2(1+C_{bb}) + 2C_{ab}C_{ad}C_{bd}$.
Derivation: $g'(z_a)g'(z_b)$ is $\frac{2}{\pi}$ times a Gaussian weight; absorbing it
tilts the law of $(z_c, z_d)$ to a Gaussian of covariance $\Lambda_1/\Lambda_4$,
$\Lambda_2/\Lambda_4$, $\Lambda_0/\Lambda_4$ (Schur complements), with total mass
$\frac{2}{\pi}\Lambda_4^{-1/2}$, and I2 of the tilted pair gives the arcsin.

**J2** $= E[g'(z_a) g'(z_b)] = \frac{2}{\pi}\,\big[(1 + C_{aa})(1 + C_{bb}) - C_{ab}^2\big]^{-1/2}$
(the mass above): the output-noise term of the ODEs.

tests/test_committee.py checks all four against Gauss-Hermite quadrature.
"""

from __future__ import annotations

import jax.numpy as jnp

TWO_OVER_PI = 2.0 / jnp.pi


def i2(caa, cab, cbb):
    """$E[g(z_a) g(z_b)]$ (broadcasting)."""
    return TWO_OVER_PI * jnp.arcsin(cab / jnp.sqrt((1 + caa) * (1 + cbb)))


def i3(caa, cab, cac, cbc, ccc):
    """$E[g'(z_a)\\, z_b\\, g(z_c)]$ (broadcasting)."""
    lam3 = (1 + caa) * (1 + ccc) - cac**2
    return TWO_OVER_PI / jnp.sqrt(lam3) * (cbc * (1 + caa) - cab * cac) / (1 + caa)


def i4(caa, cab, cac, cad, cbb, cbc, cbd, ccc, ccd, cdd):
    """$E[g'(z_a) g'(z_b) g(z_c) g(z_d)]$ (broadcasting)."""
    lam4 = (1 + caa) * (1 + cbb) - cab**2
    lam0 = (lam4 * ccd - cbc * cbd * (1 + caa) - cac * cad * (1 + cbb)
            + cab * cac * cbd + cab * cad * cbc)
    lam1 = lam4 * (1 + ccc) - cbc**2 * (1 + caa) - cac**2 * (1 + cbb) + 2 * cab * cac * cbc
    lam2 = lam4 * (1 + cdd) - cbd**2 * (1 + caa) - cad**2 * (1 + cbb) + 2 * cab * cad * cbd
    return (4 / jnp.pi**2) / jnp.sqrt(lam4) * jnp.arcsin(lam0 / jnp.sqrt(lam1 * lam2))


def j2(caa, cab, cbb):
    """$E[g'(z_a) g'(z_b)]$ (broadcasting)."""
    return TWO_OVER_PI / jnp.sqrt((1 + caa) * (1 + cbb) - cab**2)


def covariance(Q, R, T):
    """The fields' covariance $[[Q, R], [R^\\top, T]]$ (students first)."""
    return jnp.block([[Q, R], [R.T, T]])


def generalization_error(Q, R, T, v, v_teacher):
    """$\\epsilon_g = \\frac12 E[(\\sum_i v_i g(\\lambda_i) - \\sum_n \\tilde v_n g(\\nu_n))^2]$."""
    dq, dt = jnp.diag(Q), jnp.diag(T)
    ss = i2(dq[:, None], Q, dq[None, :])
    st = i2(dq[:, None], R, dt[None, :])
    tt = i2(dt[:, None], T, dt[None, :])
    return 0.5 * (v @ ss @ v - 2 * v @ st @ v_teacher + v_teacher @ tt @ v_teacher)
