"""The GPU record (issue 22, item 6): one prepared run of the figures a GPU
changes, with the card named. ``python -m bench.gpu_record [OUT.jsonl]``;
each figure is printed and appended to ``OUT.jsonl`` as soon as it is
measured (a run cut short keeps what it measured).

1. The two-layer vector field's FLOP/s against a dense matmul's, float32, at
   sizes that fill a GPU (m = 65,536 neurons, n = 8,192, d = 128), and the
   matmul at 8192^3 (JAX's default float32 precision on the GPU).
2. The largest particle count that fits: mean-field ReLU network, d = 100,
   n = 1,000, float32; two Euler steps through ``mfsim.simulate`` (the solve's
   copies of the state included), m doubling from 2^20 until the device
   runs out of memory.
3. The NTK Gram of a 2x512 ReLU MLP at n = 10^4 (d = 64): structured
   (layerwise) and the generic Jacobian contraction.
4. 64 seeds of the quickstart problem (t1 = 20, adaptive Tsit5): one
   vmapped solve against 64 sequential ones (compiled once), interleaved.
"""

from __future__ import annotations

import json
import sys
import time

import jax
import jax.numpy as jnp

import mfsim

from ._util import best_of


def _emit(out, record: dict) -> None:
    print(json.dumps(record), flush=True)
    if out is not None:
        with open(out, "a") as f:
            f.write(json.dumps(record) + "\n")


def flops(m=65536, n=8192, d=128, size=8192) -> dict:
    from .flops import run

    r = run(m=m, n=n, d=d, size=size, repeat=10)
    return {"figure": "vector_field_flops", "m": m, "n": n, "d": d, **r}


def largest_particles(n=1000, d=100, start=20, stop=30) -> dict:
    x = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
    y = jnp.tanh(x[:, 0])
    fits, tried = [], []
    for k in range(start, stop + 1):
        m = 2**k
        tried.append(m)
        try:
            net = mfsim.TwoLayerNetwork(x, y, width=m, activation="relu",
                                        parameterization="mean_field")
            t0 = time.perf_counter()
            traj = mfsim.simulate(net, 0, t1=2.0, solver="euler", dt=1.0, n_save=2)
            jax.block_until_ready(traj.final_state)
            if not traj.succeeded:
                break
            fits.append({"m": m, "seconds": time.perf_counter() - t0,
                         "state_gb": m * (d + 1) * 4 / 1e9})
        except Exception as e:  # noqa: BLE001 (out of memory ends the search)
            return {"figure": "largest_particles", "n": n, "d": d, "fits": fits,
                    "failed_at": m, "error": type(e).__name__ + ": " + str(e)[:200]}
    return {"figure": "largest_particles", "n": n, "d": d, "fits": fits, "failed_at": None}


def ntk_gram(n=10_000, d=64, width=512) -> dict:
    import equinox as eqx

    x = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
    net = mfsim.MLP(x, jnp.zeros(n, jnp.float32), widths=(width, width), activation="relu",
                    sigma_w=1.4, sigma_b=0.1, bias=True)
    state = net.init(jax.random.key(1))
    structured = eqx.filter_jit(net.ntk)
    k_s = structured(state, x, x)
    t_s = best_of(lambda: structured(state, x, x), 5)
    out = {"figure": "ntk_gram", "n": n, "d": d, "width": width, "structured_s": t_s}
    try:
        def generic():
            return mfsim.empirical_ntk(net.predict, state, x, x, method="jacobian")

        k_g = generic()
        out["generic_jacobian_s"] = best_of(generic, 2)
        out["rel_diff"] = float(jnp.linalg.norm(k_s - k_g) / jnp.linalg.norm(k_g))
    except Exception as e:  # noqa: BLE001
        out["generic_error"] = type(e).__name__ + ": " + str(e)[:200]
    return out


def seeds(n_seeds=64) -> dict:
    from .sweep_batching import _problems

    built = _problems("quickstart", n_seeds)
    settings = built[0].settings
    systems, states = [b.system for b in built], [b.state0 for b in built]
    monitors = [b.monitors for b in built]

    def batched():
        return [t.final_state for t in mfsim.simulate_batch(systems, states, settings,
                                                            monitors=monitors)]

    def sequential():
        return [mfsim.simulate(s, y0, settings, monitors=m).final_state
                for s, y0, m in zip(systems, states, monitors)]

    t0 = time.perf_counter()
    jax.block_until_ready(batched())
    first_batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(mfsim.simulate(systems[0], states[0], settings,
                                         monitors=monitors[0]).final_state)
    first_single = time.perf_counter() - t0
    t_batch = best_of(batched, 2)
    t_seq = best_of(sequential, 1)
    return {"figure": "batched_seeds", "case": "quickstart t1=20", "n_seeds": n_seeds,
            "batched_s": t_batch, "sequential_s": t_seq, "speedup": t_seq / t_batch,
            "first_call_batched_s": first_batched, "first_call_single_s": first_single}


def main(argv=()) -> None:
    out = argv[0] if argv else None
    dev = jax.devices()[0]
    _emit(out, {"figure": "device", "platform": dev.platform, "kind": dev.device_kind,
                "jax": jax.__version__, "devices": len(jax.devices())})
    for fn in (flops, ntk_gram, seeds, largest_particles):
        t0 = time.perf_counter()
        try:
            record = fn()
        except Exception as e:  # noqa: BLE001 (the next figure still runs)
            record = {"figure": fn.__name__, "error": type(e).__name__ + ": " + str(e)[:300]}
        record["wall_s"] = time.perf_counter() - t0
        _emit(out, record)


if __name__ == "__main__":
    main(sys.argv[1:])
