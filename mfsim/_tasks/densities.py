r"""Input densities on the sphere $S^{d-1}$ (the circle for $d = 2$).

- ``uniform``: the rotation-invariant probability measure.
- ``vmf``: von Mises–Fisher, density $\propto e^{\kappa\,\mu\cdot x}$ with
  respect to the uniform measure, mean direction $\mu = e_1$ and
  concentration $\kappa \ge 0$ ($\kappa = 0$ is uniform). Sampled by Wood's
  (1994) rejection algorithm for $t = \mu\cdot x$ (exact; acceptance above
  ~0.6 for every $\kappa$ and $d$), with a uniform direction orthogonal to
  $\mu$. Its mean resultant length is $E[t] = I_{d/2}(\kappa)/I_{d/2-1}(\kappa)$.

Points are returned on the sphere of radius ``radius``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

DENSITIES = ("uniform", "vmf")


def _wood_t(rng: np.random.Generator, n: int, d: int, kappa: float) -> np.ndarray:
    """``n`` draws of t = mu . x under vMF(kappa) on S^{d-1} (Wood 1994)."""
    m = d - 1
    b = m / (2.0 * kappa + math.sqrt(4.0 * kappa**2 + m**2))
    x0 = (1.0 - b) / (1.0 + b)
    c = kappa * x0 + m * math.log(1.0 - x0**2)
    out = np.empty(0)
    while out.size < n:
        k = 2 * (n - out.size) + 16
        z = rng.beta(m / 2.0, m / 2.0, size=k)
        t = (1.0 - (1.0 + b) * z) / (1.0 - (1.0 - b) * z)
        u = rng.uniform(size=k)
        keep = kappa * t + m * np.log(1.0 - x0 * t) - c >= np.log(u)
        out = np.concatenate([out, t[keep]])
    return out[:n]


def sample_sphere(key, n: int, d: int, *, density: str = "uniform", kappa: float = 0.0,
                  radius: float = 1.0, dtype=jnp.float32) -> jax.Array:
    """``n`` points of the sphere of radius ``radius`` in ``R^d`` from ``density``."""
    if density not in DENSITIES:
        raise ValueError(f"unknown density {density!r}; allowed: " + ", ".join(DENSITIES))
    if d < 2:
        raise ValueError(f"need d >= 2; got {d}")
    if kappa < 0 or not math.isfinite(kappa):
        raise ValueError(f"kappa must be a finite number >= 0; got {kappa}")
    k_dir, k_t = jax.random.split(key)
    g = np.asarray(jax.random.normal(k_dir, (n, d), jnp.float64 if jax.config.jax_enable_x64
                                     else jnp.float32), np.float64)
    if density == "uniform" or kappa == 0.0:
        x = g / np.linalg.norm(g, axis=1, keepdims=True)
        return jnp.asarray(radius * x, dtype)
    seed = np.asarray(jax.random.key_data(k_t)).astype(np.uint64).tolist()
    t = _wood_t(np.random.default_rng(seed), n, d, float(kappa))
    v = g[:, 1:] / np.linalg.norm(g[:, 1:], axis=1, keepdims=True)  # uniform on S^{d-2}
    x = np.concatenate([t[:, None], np.sqrt(np.clip(1.0 - t**2, 0.0, None))[:, None] * v],
                       axis=1)
    return jnp.asarray(radius * x, dtype)


def vmf_mean_resultant(d: int, kappa: float) -> float:
    r"""$E[\mu\cdot x] = I_{d/2}(\kappa)/I_{d/2-1}(\kappa)$ under vMF(kappa) on $S^{d-1}$."""
    from scipy.special import ive

    return float(ive(d / 2.0, kappa) / ive(d / 2.0 - 1.0, kappa)) if kappa > 0 else 0.0
