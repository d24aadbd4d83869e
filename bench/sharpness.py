"""The sharpness monitor's cost per save against a dense ``eigh``.

A standard-parameterized tanh MLP with 8,192 parameters (d = 12, widths 81
and 86, n = 64 teacher points with label noise, float64: the edge-of-stability
setting) trained by 400 gradient-descent steps at learning rate 0.2 with 41
saves: the loss alone vs the loss and the sharpness monitor (its default: at
most 32 Lanczos steps, stopped at the relative residual 1e-8) vs the monitor
running every one of its 32 steps (``rtol = 0``). The cost per save is the
difference of warm wall times over the 41 saves (interleaved rounds). The
monitor's top eigenvalue at the first and the last save is checked against
``numpy.linalg.eigh`` of the dense preconditioned Hessian $R^{1/2} H R^{1/2}$.
Target (issue 36, P4): <= 20 ms per save, within 1e-6 (relative) of ``eigh``.
"""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

import mfsim

from ._util import interleaved, machine, min_median

D, WIDTHS, N, STEPS, LR, SAVES = 12, (81, 86), 64, 400, 0.2, 41
TARGET_MS, TARGET_ERR = 20.0, 1e-6


def problem():
    jax.config.update("jax_enable_x64", True)
    key = jax.random.key(0)
    x = jax.random.normal(key, (N, D), jnp.float64)
    y = jnp.tanh(x[:, 0] - x[:, 1]) + jax.random.normal(jax.random.fold_in(key, 1), (N,),
                                                          jnp.float64)
    mlp = mfsim.MLP(x, y, widths=WIDTHS, activation="tanh", parameterization="standard")
    return mlp, mlp.init(jax.random.key(1))


def dense_top(system, state) -> float:
    """The top eigenvalue of R^1/2 H R^1/2 by a dense Hessian and eigh."""
    flat, unravel = ravel_pytree(state)
    H = np.asarray(jax.jit(jax.hessian(lambda f: system.objective(unravel(f))))(flat))
    r = np.sqrt(np.asarray(ravel_pytree(jax.tree.map(
        lambda a, rate: jnp.full(jnp.shape(a), rate, a.dtype), state,
        system.step_rates(state)))[0]))
    return float(np.linalg.eigh(r[:, None] * (H + H.T) / 2 * r[None, :])[0][-1])


def run(rounds: int = 3) -> dict:
    system, state = problem()
    params = ravel_pytree(state)[0].size
    settings = mfsim.SolveSettings.of(diffrax.Euler(), t1=STEPS * LR, dt=LR, n_save=SAVES)
    monitors = {"loss only": [mfsim.TrainLoss()],
                "loss + sharpness": [mfsim.TrainLoss(), mfsim.Sharpness()],
                "loss + sharpness, every step (rtol 0)": [mfsim.TrainLoss(),
                                                          mfsim.Sharpness(rtol=0.0)]}

    def side(ms):
        return lambda: mfsim.simulate(system, state, settings, ms).values["train_loss"]

    sides = {name: side(ms) for name, ms in monitors.items()}
    for fn in sides.values():
        jax.block_until_ready(fn())  # compile
    times = interleaved(sides, rounds)
    base = times["loss only"]["min"]
    per_save = {name: 1e3 * (t["min"] - base) / SAVES for name, t in times.items()
                if name != "loss only"}
    traj = mfsim.simulate(system, state, settings, monitors["loss + sharpness"])
    got = np.asarray(traj.values["sharpness"])[:, 0]
    exact = [dense_top(system, state), dense_top(system, traj.final_state)]
    errors = [abs(got[0] - exact[0]) / exact[0], abs(got[-1] - exact[1]) / exact[1]]
    return {"machine": machine(), "params": params, "times": times, "per_save_ms": per_save,
            "sharpness": [float(got[0]), float(got[-1])], "eigh": exact,
            "max_rel_error": max(errors), "eta_lambda_over_2": float(LR * got[-1] / 2)}


def main():
    print(f"machine: {machine()}")
    r = run()
    print(f"MLP d={D} widths={WIDTHS} tanh, standard, {r['params']} parameters, n={N}, "
          f"float64; {STEPS} GD steps at lr {LR}, {SAVES} saves; warm: min (median) of 3 "
          "interleaved rounds")
    for name, t in r["times"].items():
        extra = f", {r['per_save_ms'][name]:.1f} ms per save" if name in r["per_save_ms"] else ""
        print(f"  {name:40s} {min_median(t, 3)}{extra}")
    print(f"top eigenvalue at the first / last save: {r['sharpness'][0]:.12g} / "
          f"{r['sharpness'][1]:.12g}; eigh {r['eigh'][0]:.12g} / {r['eigh'][1]:.12g}; "
          f"max relative error {r['max_rel_error']:.1e} (eta lambda_1 / 2 at the end "
          f"{r['eta_lambda_over_2']:.2f})")
    print(f"per save {r['per_save_ms']['loss + sharpness']:.1f} ms (target <= {TARGET_MS:g}); "
          f"error {r['max_rel_error']:.1e} (target <= {TARGET_ERR:g})")
    return r


if __name__ == "__main__":
    main()
