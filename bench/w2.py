"""W2 between two clouds of 4,000 particles in d = 11 (issue 22, P3): the
Wasserstein monitor, exact (``method="exact"``: scipy's
assignment solver on the host, float64) and Sinkhorn (the defaults: epsilon
1e-2, threshold 1e-3; ott-jax), against POT's exact ``emd2`` (network
simplex, with ``ot.dist`` for the cost) and POT's ``sinkhorn2`` (log domain) at
the same epsilon, on the same particles:

- ``trained``: a mean-field two-layer ReLU network's neurons (v, w), width
  4,000, d = 10, after gradient flow to t = 20, against its neurons at t = 0:
  what ``W2(mu_t, mu_0)`` measures in a run;
- ``independent``: two independent standard normal clouds (the hard case for
  an exact solver; the exact sides only: Sinkhorn at this epsilon needs
  thousands of iterations there).

Times: one call of each side per round, sides in turn, 5 rounds, min and
median (the monitor is compiled first; its time is one save point's cost).
POT's sides run in processes of their own, alternated with the others
(:mod:`bench._peer`).
Memory (the exact sides, trained case): each once more in a fresh process
that loads the clouds and sets the side up (the monitor compiled ahead of time,
not run): the call's RSS high-water mark above the resident size before it
(``/proc/self/clear_refs`` resets the mark: ``ru_maxrss`` would start at the
parent's size, which Linux carries across fork and exec). POT is optional (``pip install -e '.[bench]'``): its
sides are skipped with a message when it is absent.
Targets: the monitor's exact time <= POT emd2's, at <= its peak memory; the
exact values agree to 1e-6; against the plain scipy call a researcher would
write (``linear_sum_assignment(cdist(x, y, "sqeuclidean"))``): time <= 1.0x,
peak memory <= 1.1x (issue 36, P3).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version

import diffrax
import numpy as np

from ._peer import PeerProcess
from ._util import interleaved, machine, reset_peak_rss, rss_high_water

M, D_IN = 4000, 10
EPSILON = 1e-2


def near_start(width: int):
    """A mean-field two-layer ReLU network's neurons (v, w) after gradient flow
    to t = 20, and at t = 0 (d = 10, float64)."""
    import jax
    import jax.numpy as jnp

    import mfsim

    data = mfsim.teacher_task(jax.random.key(0), d=D_IN, n_train=256, n_test=8,
                              teacher_width=4, activation="relu", dtype=jnp.float64)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=width, activation="relu")
    s0 = net.init(jax.random.key(1))
    traj = mfsim.simulate(net, s0, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=20.0, rtol=1e-6, atol=1e-8),
                          n_save=2)
    return np.asarray(net.particles(traj.final_state)), np.asarray(net.particles(s0))


def clouds(case: str):
    if case == "independent":
        rng = np.random.default_rng(0)
        return rng.normal(size=(M, D_IN + 1)), rng.normal(size=(M, D_IN + 1))
    return near_start(M)


EXACT = ("mfsim monitor, exact", "scipy assignment (+ cdist)", "POT emd2 (+ ot.dist)")
SCIPY = "scipy assignment (+ cdist)"


def _cloud():
    """A bare particle cloud as a system (its state is the particles): what the
    monitor reads through ``system.particles``."""
    import mfsim

    class Cloud(mfsim.AbstractSystem):
        def init(self, key):
            raise NotImplementedError

        def vector_field(self, t, state, args):
            return state

        def particles(self, state):
            return state

    return Cloud()


def sides(x, y, sinkhorn: bool = True):
    """name -> callable returning the squared distance (or divergence)."""
    import jax
    import jax.numpy as jnp

    import mfsim

    out = {}
    monitors = [("mfsim monitor, exact", mfsim.Wasserstein(method="exact"))]
    if sinkhorn:
        monitors.append(("mfsim monitor, Sinkhorn", mfsim.Wasserstein(method="sinkhorn")))
    for name, mon in monitors:
        cloud, x0 = _cloud(), jnp.asarray(y)
        ctx = mfsim.MonitorContext(cloud, x0, jax.jit(lambda z, m=mon: m.prepare(cloud, z))(x0))
        xj = jnp.asarray(x)
        # compiled ahead of time: a call runs the save point's work and nothing else
        call = jax.jit(lambda z, c, m=mon: m(0.0, z, c)).lower(xj, ctx).compile()
        key = "w2_init" if mon.exact else "sinkhorn_init"
        out[name] = (lambda call=call, ctx=ctx, key=key, xj=xj, exact=mon.exact:
                     float(call(xj, ctx)[key]) ** (2 if exact else 1))
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    def plain():  # what a researcher would write: one (m, k) cost matrix, one assignment
        cost = cdist(x, y, "sqeuclidean")
        rows, cols = linear_sum_assignment(cost)
        return float(cost[rows, cols].mean())

    out[SCIPY] = plain
    return out


POT_SIDES = {"POT emd2 (+ ot.dist)": "emd2", "POT sinkhorn2 log (+ ot.dist)": "sinkhorn2"}


def pot_side(arrays: dict, *, method: str):
    """POT's exact or Sinkhorn (log domain: exp(-C/eps) underflows) squared
    distance between the clouds ``x`` and ``y``, in a peer process
    (:mod:`bench._peer`) or here (for the memory probe)."""
    import ot

    x, y = arrays["x"], arrays["y"]
    a = np.full(len(x), 1.0 / len(x))
    if method == "emd2":
        return lambda: float(ot.emd2(a, a, ot.dist(x, y), numItermax=10**8))
    return lambda: float(ot.sinkhorn2(a, a, ot.dist(x, y), EPSILON, method="sinkhorn_log",
                                      numItermax=2000, stopThr=1e-3))


def pot_peers(x, y, sinkhorn: bool) -> dict:
    """POT's sides as peer processes (none where POT is absent)."""
    peers = {}
    for name, method in POT_SIDES.items():
        if method == "sinkhorn2" and not sinkhorn:
            continue
        peer = PeerProcess("bench.w2:pot_side", {"x": x, "y": y}, method=method)
        if peer.error:
            peer.close()
            return {}
        peers[name] = peer
    return peers


def child(path: str, side: str) -> None:
    """In a fresh process: the clouds from ``path``, the side set up (the
    monitor compiled, not run), then one call; its peak RSS above the setup's."""
    import jax

    jax.config.update("jax_enable_x64", True)
    with np.load(path) as f:
        x, y = f["x"], f["y"]
    fn = (pot_side({"x": x, "y": y}, method=POT_SIDES[side]) if side in POT_SIDES
          else sides(x, y, sinkhorn=False)[side])
    before = reset_peak_rss()  # ru_maxrss would start at the parent's size (fork + exec)
    fn()
    print(json.dumps({"peak_MiB": (rss_high_water() - before) / 2**20}))


def _memory(x, y, side: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/clouds.npz"
        np.savez(path, x=x, y=y)
        proc = subprocess.run([sys.executable, "-c", f"from bench.w2 import child; "
                               f"child({path!r}, {side!r})"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_MiB"]


def run(rounds: int = 5) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)  # the exact values compared to 1e-6
    out = {}
    for case in ("trained", "independent"):
        x, y = clouds(case)
        fns = sides(x, y, sinkhorn=case == "trained")
        values = {k: f() for k, f in fns.items()}  # compiles
        peers = pot_peers(x, y, sinkhorn=case == "trained")
        try:
            values |= {k: float(p.result) for k, p in peers.items()}
            times = interleaved(fns | peers, rounds)
        finally:
            for p in peers.values():
                p.close()
        fns |= peers
        memory = {k: _memory(x, y, k) for k in fns if k in EXACT and case == "trained"}
        out[case] = {"values": values, "times": times, "memory_MiB": memory}
        print(f"  ({case}: done)", flush=True)
    try:
        pot = version("pot")
    except PackageNotFoundError:
        pot = None
    out["pot"] = pot
    t = out["trained"]
    out["exact_over_scipy"] = (t["times"]["mfsim monitor, exact"]["min"]
                               / t["times"][SCIPY]["min"])
    out["exact_memory_over_scipy"] = (t["memory_MiB"]["mfsim monitor, exact"]
                                      / max(t["memory_MiB"][SCIPY], 1e-9))
    if pot:
        t = out["trained"]
        out["exact_over_pot"] = (t["times"]["mfsim monitor, exact"]["min"]
                                 / t["times"]["POT emd2 (+ ot.dist)"]["min"])
        out["exact_memory_over_pot"] = (t["memory_MiB"]["mfsim monitor, exact"]
                                        / max(t["memory_MiB"]["POT emd2 (+ ot.dist)"], 1e-9))
        out["rel_diff"] = max(abs(c["values"]["mfsim monitor, exact"]
                                  - c["values"]["POT emd2 (+ ot.dist)"])
                              / c["values"]["POT emd2 (+ ot.dist)"]
                              for c in (out["trained"], out["independent"]))
    return out


def main():
    print(f"machine: {machine()}")
    r = run()
    print(f"W2 between two clouds of {M} particles in d = {D_IN + 1}, float64; min (median) of "
          f"5 interleaved rounds; peak memory above setup, fresh process per side; "
          f"POT {r['pot'] or 'not installed (pip install -e .[bench]): its sides skipped'}")
    for case in ("trained", "independent"):
        c = r[case]
        print(f"  {case}:")
        for name, t in c["times"].items():
            mem = c["memory_MiB"].get(name)
            mem = f"{mem:7.0f} MiB" if mem is not None else " " * 11
            print(f"    {name:30s} {t['min']:7.3f} s ({t['median']:.3f})  {mem}  "
                  f"value {c['values'][name]:.10g}")
    print(f"monitor exact / plain scipy assignment (trained): time {r['exact_over_scipy']:.3f}, "
          f"peak memory {r['exact_memory_over_scipy']:.2f} (targets <= 1.0, <= 1.1)")
    if r["pot"]:
        print(f"monitor exact / POT emd2 (trained): time {r['exact_over_pot']:.3f}, memory "
              f"{r['exact_memory_over_pot']:.2f}; exact values agree to {r['rel_diff']:.1e} "
              f"(targets <= 1, <= 1, 1e-6)")
    return r
