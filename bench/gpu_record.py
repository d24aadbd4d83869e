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
4. ``bench.sweep_batching`` at 16 and 64 seeds: quickstart (t1 = 20,
   adaptive Tsit5: a vmapped batch) and tiny gradient descent (a stacked
   batch), against sequential solves (compiled once), interleaved.
5. The vector field of 1. at particle blocks 0 (none), 128 ... 16384: the
   accelerator's blocking rule.
6. The vector field of 1. through the fused Pallas kernels
   (``TwoLayerNetwork(fused=True)``, issue 36 P6) against the plain field and
   the matmul, with the largest difference from the plain field. Skipped
   off a GPU (interpret mode measures nothing).
"""

from __future__ import annotations

import json
import sys
import time

import diffrax
import jax
import jax.flatten_util
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

    r = run(m=m, n=n, d=d, size=size, rounds=10)
    return {"figure": "vector_field_flops", "m": m, "n": n, "d": d, **r}


def fit_once(m: int, n: int = 1000, d: int = 100, block: int | None = None) -> None:
    """Two Euler steps of a mean-field ReLU network with ``m`` particles
    (``block``: None for ``auto_block``); prints one JSON line."""
    x = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
    net = mfsim.TwoLayerNetwork(x, jnp.tanh(x[:, 0]), width=m, activation="relu",
                                parameterization="mean_field", block=block)
    t0 = time.perf_counter()
    try:
        traj = mfsim.simulate(net, 0, mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0, dt=1.0), n_save=2)
        jax.block_until_ready(traj.final_state)
        stats = jax.devices()[0].memory_stats() or {}
        out = {"m": m, "block": net.block, "ok": traj.succeeded,
               "seconds": time.perf_counter() - t0, "state_gb": m * (d + 1) * 4 / 1e9,
               "peak_GiB": stats.get("peak_bytes_in_use", 0) / 2**30}
    except Exception as e:  # noqa: BLE001 (out of memory: the answer)
        out = {"m": m, "block": net.block, "ok": False, "error": type(e).__name__ + ": "
               + str(e)[:200]}
    print(json.dumps(out), flush=True)


def largest_particles(n=1000, d=100, start=20, stop=30) -> dict:
    """m = 2^start, 2^(start + 1) ... until one fails, each in a fresh process
    (one process for all sizes fragments the allocator: 2^26 then failed after
    2^25 where it fits alone)."""
    import subprocess

    fits = []
    for k in range(start, stop + 1):
        proc = subprocess.run([sys.executable, "-c", "from bench.gpu_record import fit_once; "
                               f"fit_once({2**k}, {n}, {d})"], capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        record = json.loads(lines[-1]) if lines else {"m": 2**k, "ok": False,
                                                      "error": proc.stderr[-200:]}
        if not record["ok"]:
            return {"figure": "largest_particles", "n": n, "d": d, "fits": fits,
                    "failed_at": 2**k, "error": record.get("error", "")}
        fits.append(record)
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


def batching(seeds=(16, 64)) -> dict:
    """``bench.sweep_batching`` on this device: quickstart (adaptive: vmapped)
    and tiny-gd (fixed-step: stacked) seeds, batched vs vmapped vs sequential."""
    from .sweep_batching import run

    rows = []
    for case in ("tiny-gd", "quickstart"):
        for n in seeds:
            r = run(case, n, rounds=2)
            rows.append({k: r[k] for k in ("case", "n_seeds", "stacked", "batched_s",
                                           "vmapped_s", "sequential_s", "speedup",
                                           "vmapped_speedup", "steps_max", "auto_batch",
                                           "max_rel_diff")})
            print(json.dumps(rows[-1]), flush=True)
    return {"figure": "batching", "rows": rows}


def vf_blocks(m=65536, n=8192, d=128, blocks=(None, 0, 128, 1024, 4096, 16384),
              size=8192) -> dict:
    """The two-layer tanh vector field at each particle block (0: unblocked;
    None: ``auto_block``'s choice) against an 8192^3 matmul: what the
    accelerator's blocking rule should be."""
    x = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
    y = jax.random.normal(jax.random.key(1), (n,), jnp.float32)
    a = jax.random.normal(jax.random.key(3), (size, size), jnp.float32)
    mm = jax.jit(jnp.matmul).lower(a, a).compile()
    t_mm = best_of(lambda: mm(a, a), 10)
    flops = 4.0 * m * n * d + 4.0 * m * n
    rows = []
    for block in blocks:
        net = mfsim.TwoLayerNetwork(x, y, width=m, activation="tanh", block=block)
        state = net.init(jax.random.key(2))
        field = jax.jit(lambda s, net=net: net.vector_field(0.0, s, None)).lower(state).compile()
        t = best_of(lambda: field(state), 10)
        rows.append({"block": net.block, "auto": block is None, "vf_s": t, "vf_gflops": flops / t / 1e9,
                     "fraction_of_matmul": (flops / t) / (2.0 * size**3 / t_mm)})
        print(json.dumps(rows[-1]), flush=True)
    return {"figure": "vector_field_blocks", "m": m, "n": n, "d": d,
            "mm_gflops": 2.0 * size**3 / t_mm / 1e9, "rows": rows}


def fused_field(m=65536, n=8192, d=128, size=8192) -> dict:
    """The fused field's FLOP/s (the same count as the plain field's) and its
    fraction of the matmul's; issue 36's target is >= 0.5."""
    if jax.default_backend() != "gpu":
        return {"figure": "fused_field", "skipped": "no GPU: Pallas runs in interpret mode"}
    x = jax.random.normal(jax.random.key(0), (n, d), jnp.float32)
    y = jax.random.normal(jax.random.key(1), (n,), jnp.float32)
    a = jax.random.normal(jax.random.key(3), (size, size), jnp.float32)
    mm = jax.jit(jnp.matmul).lower(a, a).compile()
    flops = 4.0 * m * n * d + 4.0 * m * n
    out = {"figure": "fused_field", "m": m, "n": n, "d": d}
    fields = {}
    for name, fused in (("plain", False), ("fused", True)):
        net = mfsim.TwoLayerNetwork(x, y, width=m, activation="tanh", fused=fused)
        state = net.init(jax.random.key(2))
        fields[name] = jax.jit(lambda s, net=net: net.vector_field(0.0, s, None)
                               ).lower(state).compile()
    got = {k: jax.flatten_util.ravel_pytree(f(state))[0] for k, f in fields.items()}
    out["max_rel_diff"] = float(jnp.max(jnp.abs(got["fused"] - got["plain"]))
                                / jnp.max(jnp.abs(got["plain"])))
    t_mm = best_of(lambda: mm(a, a), 10)
    for k, f in fields.items():
        t = best_of(lambda f=f: f(state), 10)
        out[f"{k}_s"], out[f"{k}_fraction_of_matmul"] = t, (flops / t) / (2.0 * size**3 / t_mm)
    out["mm_gflops"] = 2.0 * size**3 / t_mm / 1e9
    return out


FIGURES = {"flops": flops, "vf_blocks": vf_blocks, "ntk_gram": ntk_gram,
           "batching": batching, "largest_particles": largest_particles,
           "fused_field": fused_field}


def main(argv=()) -> None:
    """``python -m bench.gpu_record [OUT.jsonl [FIGURE ...]]`` (default: every figure)."""
    out = argv[0] if argv else None
    names = list(argv[1:]) or list(FIGURES)
    dev = jax.devices()[0]
    _emit(out, {"figure": "device", "platform": dev.platform, "kind": dev.device_kind,
                "jax": jax.__version__, "devices": len(jax.devices())})
    for name in names:
        fn = FIGURES[name]
        t0 = time.perf_counter()
        try:
            record = fn()
        except Exception as e:  # noqa: BLE001 (the next figure still runs)
            record = {"figure": name, "error": type(e).__name__ + ": " + str(e)[:300]}
        record["wall_s"] = time.perf_counter() - t0
        _emit(out, record)


if __name__ == "__main__":
    main(sys.argv[1:])
