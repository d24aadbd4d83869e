"""NTK Gram of a 2-hidden-layer width-512 ReLU MLP on n=1000 inputs of dimension 64
(float32), three ways, interleaved: the structured layerwise formula (``MLP.ntk``),
mfsim's generic Jacobian contraction (``empirical_ntk``, default memory budget)
and the plain peer a user would write: ``vmap(jacrev)`` of every input at once,
then ``J J^T``.

Where PyTorch is installed (``pip install -e '.[bench]'``), the same Gram with
``torch.func`` (``vmap(jacrev)`` of the network as a function of its
parameters, then the contraction: the recipe of PyTorch's NTK tutorial) on
the same weights, as many threads as XLA uses, checked against mfsim's; it
runs in a process of its own, alternated with mfsim's calls
(:mod:`bench._peer`).

Targets (issue 22, P2): generic <= 1.0x the plain peer; structured >= 2x faster
than the generic path's best.
"""

from __future__ import annotations

import os
from importlib.metadata import version

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import mfsim
from mfsim._kernels.empirical import default_memory_budget, plan_blocking

from ._peer import PeerProcess
from ._util import interleaved, machine


def run(n: int = 1000, d: int = 64, width: int = 512, rounds: int = 3) -> dict:
    x = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
    net = mfsim.MLP(x, jnp.zeros(n, jnp.float32), widths=(width, width), activation="relu",
                    sigma_w=1.4, sigma_b=0.1, bias=True)
    state = net.init(jax.random.key(1))
    structured = eqx.filter_jit(net.ntk)

    @jax.jit
    def plain(state, x):
        jac = jax.vmap(jax.jacrev(lambda s, xi: net.predict(s, xi[None])[0]),
                       in_axes=(None, 0))(state, x)
        flat = jnp.concatenate([j.reshape(n, -1) for j in jax.tree.leaves(jac)], axis=1)
        return flat @ flat.T

    sides = {"structured": lambda: structured(state, x, x),
             "generic": lambda: mfsim.empirical_ntk(net.predict, state, x),
             "plain vmap(jacrev) + matmul": lambda: plain(state, x)}
    k_s, k_g, k_p = (jax.block_until_ready(f()) for f in sides.values())  # compile
    arrays = {"x": x} | {f"{i}.{k}": getattr(layer, k) for i, layer in enumerate(state)
                         for k in ("w", "b")}
    peer = PeerProcess("bench.ntk_gram:torch_gram", arrays,
                       scales=[float(s) for s in net.weight_scales()],
                       sigma_b=float(net.sigma_b), n_layers=len(state))
    rel_t, torch_version = None, None
    try:
        if peer.error is None:
            torch_version = version("torch")
            rel_t = float(np.linalg.norm(peer.result - np.asarray(k_g)) / jnp.linalg.norm(k_g))
            sides["torch.func vmap(jacrev) + contraction"] = peer
        rel = float(jnp.linalg.norm(k_s - k_g) / jnp.linalg.norm(k_g))
        rel_p = float(jnp.linalg.norm(k_p - k_g) / jnp.linalg.norm(k_g))
        times = interleaved(sides, rounds)
    finally:
        peer.close()
    budget = default_memory_budget()
    plan = plan_blocking(state, 1, n, n, budget, result_elements=n * n, symmetric=True)
    s, g, p = (times[k]["min"] for k in list(sides)[:3])
    return {"n": n, "d": d, "width": width, "times": times, "structured_s": s,
            "generic_jacobian_s": g, "plain_s": p, "generic_over_plain": g / p,
            "speedup": g / s, "rel_diff": rel, "rel_diff_plain": rel_p,
            "budget_MiB": budget / 2**20, "plan": plan._asdict(), "torch": torch_version,
            "rel_diff_torch": rel_t,
            "torch_s": times.get("torch.func vmap(jacrev) + contraction", {}).get("min")}


def torch_gram(arrays: dict, *, scales, sigma_b, n_layers):
    """The Gram through torch.func on mfsim's weights (``arrays``: ``x`` and
    each layer's ``i.w``, ``i.b``), in a peer process (:mod:`bench._peer`)."""
    import torch
    from torch.func import jacrev, vmap

    torch.set_num_threads(os.cpu_count() or 1)  # as many as XLA's (every core)
    params = {k: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k != "x"}
    x = arrays["x"]

    def f(p, xi):  # one input: the network's scalar output
        a = xi[None]
        for i in range(n_layers):
            z = scales[i] * (a @ p[f"{i}.w"].T) + sigma_b * p[f"{i}.b"]
            a = torch.relu(z) if i < n_layers - 1 else z
        return a[0, 0]

    xt = torch.from_numpy(np.array(x))

    def gram():
        with torch.no_grad():
            jac = vmap(jacrev(f), in_dims=(None, 0))(params, xt)
            flat = torch.cat([j.reshape(xt.shape[0], -1) for j in jac.values()], dim=1)
            return (flat @ flat.T).numpy()

    return gram


def main():
    r = run()
    print(f"NTK Gram, MLP 2x{r['width']} ReLU, n={r['n']}, d={r['d']}, float32 ({machine()}); "
          f"min and median of 3 interleaved rounds")
    for name, t in r["times"].items():
        print(f"  {name:30s} {t['min']:8.3f} s  (median {t['median']:.3f} s)")
    print(f"  generic / plain                {r['generic_over_plain']:8.2f} x   "
          f"(target <= 1.0; budget {r['budget_MiB']:.0f} MiB, plan {r['plan']})")
    print(f"  generic / structured           {r['speedup']:8.1f} x   (target >= 2; relative "
          f"difference {r['rel_diff']:.1e}, plain vs generic {r['rel_diff_plain']:.1e})")
    if r["torch"]:
        print(f"  torch {r['torch']} / generic       {r['torch_s'] / r['generic_jacobian_s']:8.2f}"
              f" x   (relative difference {r['rel_diff_torch']:.1e})")
    else:
        print("  torch.func: skipped (PyTorch not installed; pip install -e '.[bench]')")
    return r


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
