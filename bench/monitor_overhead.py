"""Monitor overhead on the quickstart scenario: loss + kernel drift (subsample
256) + Sinkhorn W2(mu_t, mu_0) at 50 save points, relative to the loss alone.

Both solves take the same steps (monitors do not change the step sizes); the
difference is the cost of evaluating the monitors inside the compiled solve.
Times are the best of 5 runs after compilation, the two kinds interleaved.
The solve is the quickstart's as it was when the target was set (Tsit5,
rtol 1e-5, atol 1e-7: 2,975 steps); the quickstart now takes Bosh3 at rtol
1e-4 (466 steps), against which the same monitors weigh six times more.
"""

from __future__ import annotations

import numpy as np

import mfsim
from mfsim._scenario.build import build
from mfsim._scenario.sweep import apply_overrides

from ._util import machine


def _best_solves(system, state0, monitor_sets, settings, repeat=5):
    """Best wall time of each monitor set, the repeats interleaved so that a
    slow spell of the machine hits every set alike."""
    trajs = [mfsim.simulate(system, state0, settings, monitors=m)  # compile
             for m in monitor_sets]
    best = [float("inf")] * len(monitor_sets)
    for _ in range(repeat):
        for i, monitors in enumerate(monitor_sets):
            wall = mfsim.simulate(system, state0, settings,
                                  monitors=monitors).stats["wall_time"]
            best[i] = min(best[i], wall)
    return best, trajs


def run(n_save: int = 50) -> dict:
    scenario = mfsim.load_scenario("scenarios/quickstart.toml")
    built = build(apply_overrides(scenario, {"solver.name": "tsit5", "solver.rtol": 1e-5,
                                             "solver.atol": 1e-7}))
    settings = built.settings.with_save_times(mfsim.save_times(
        built.settings.t1, n_save, spacing="log", t_first=0.01))
    loss = [mfsim.TrainLoss()]
    full = loss + [mfsim.KernelMonitor(subsample=256, quantities=("drift",)),
                   mfsim.Wasserstein(method="sinkhorn")]
    (t_loss, t_full), (traj_loss, traj_full) = _best_solves(built.system, built.state0,
                                                            [loss, full], settings)
    assert traj_loss.stats["num_steps"] == traj_full.stats["num_steps"]
    converged = np.asarray(traj_full.values["sinkhorn_converged_init"])
    return {"n_save": n_save, "steps": traj_loss.stats["num_steps"], "loss_only_s": t_loss,
            "with_monitors_s": t_full, "overhead": t_full / t_loss - 1,
            "sinkhorn_converged": f"{int(converged.sum())}/{converged.size}",
            "final_kernel_drift": float(traj_full.values["kernel_drift"][-1]),
            "final_w2": float(traj_full.values["w2_init"][-1])}


def main():
    r = run()
    print(f"machine: {machine()}")
    print(f"quickstart (m=512, n=256, d=8, float32), {r['steps']} solver steps, "
          f"{r['n_save']} save points")
    print(f"  loss only                              {r['loss_only_s']:8.3f} s")
    print(f"  loss + kernel drift(256) + Sinkhorn W2 {r['with_monitors_s']:8.3f} s")
    print(f"  overhead {100 * r['overhead']:.1f}% (target <= 25%); Sinkhorn converged at "
          f"{r['sinkhorn_converged']} saves; final drift {r['final_kernel_drift']:.3f}, "
          f"W2 {r['final_w2']:.3f}")
    return r


if __name__ == "__main__":
    main()
