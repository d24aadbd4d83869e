"""Run the benchmarks: ``python -m bench`` (the default set; writes
``bench/RESULTS.md``) or ``python -m bench NAME ...`` (those only; prints,
writes nothing). Each benchmark measures its sides in this one process (or a
fresh child process, for memory and compile time) and returns its figures;
the summary table gives each headline ratio beside its target.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import io
import sys
import time
from pathlib import Path

BENCHMARKS = {
    "gd_loop": "gradient descent via mfsim (euler) vs a hand-written lax.scan loop",
    "adaptive_vs_gd": "gradient flow to an endpoint accuracy: adaptive Tsit5 vs small-step GD",
    "langevin": "mean-field Langevin, 4,000 x 5 particles, 2,000 Euler-Maruyama steps: mfsim vs "
                "the same run without noise vs a hand-written lax.scan EM loop",
    "flops": "two-layer vector field FLOP/s vs a dense matmul",
    "ntk_gram": "NTK Gram: structured vs generic Jacobian contraction vs plain vmap(jacrev)",
    "w2": "W2 of 4,000 vs 4,000 particles: the monitor (exact; Sinkhorn) vs POT emd2 and "
          "sinkhorn2",
    "w2_method": "W2 monitor, exact vs Sinkhorn from 256 to 8192 particles: what method "
                 "'auto' chooses (~17 min, not default)",
    "sharpness": "the sharpness monitor per save (8,192 parameters, float64) vs a dense eigh",
    "run_overhead": "what a run costs around its solves: a 16-seed tiny-GD sweep through "
                    "mfsim.run batched vs sequential, end to end; `mfsim run` of the "
                    "quickstart in fresh processes (--timings)",
    "kinked_solvers": "Tsit5, Bosh3, Heun and GD on ReLU and tanh flows (width 1,024) at "
                      "equal endpoint error vs a float64 reference (~35 min, not default)",
    "monitor_overhead": "loss + kernel drift + Sinkhorn W2 at 50 saves vs loss only (quickstart)",
    "sweep_batching": "8 and 16 seeds (quickstart; tiny GD): one batch (stacked or vmapped) vs "
                      "sequential; the auto rule's width scan",
    "scaling": "vector field time and memory against m (10^3..10^6) and n, fitted exponents",
    "memory": "peak memory at 10^6 particles (d=100, n=1000, float32)",
    "compile_time": "compile time of the quickstart scenario (fresh process; then two "
                    "`mfsim run`s sharing a persistent cache)",
    "orthogonal_flow": "orthogonal sequence model: Riemannian flow vs the expm chart (N=400)",
    "cluster": "32-point sweep with --workers 2 vs one process; merging 2,000 points "
               "(~10 min, not default)",
    "ntk_memory": "blocked generic NTK at n=4000 under a memory budget (~7 min; not default)",
    "figures": "every figure of every shipped scenario drawn from its results.nc: warm in "
               "process, and `mfsim plot` in a fresh process (cold)",
    "cnn_ntk_memory": "generic NTK of a ConvNet Network under a memory budget (CPU: n=2000, "
                      "256 MiB; GPU: n=8000, 1 GiB; ~6 min on CPU, not default)",
    "cli": "the mfsim command in fresh processes: --help, --version, list, keys, check, the "
           "first line of run, a rerun of a finished run (interleaved, min of 5)",
}
# each summary row's clock: warm (compiled, in a process that ran it before),
# cold (a fresh process or a first call), or not a time; a list gives one per row
CLOCKS = {
    "cli": "cold: fresh process (run: compilation cached)",
    "compile_time": ["cold: fresh process, empty cache", "cold: fresh process, cached"],
    "run_overhead": ["warm", "cold: fresh process, compilation cached"],
    "memory": "peak memory", "ntk_memory": "peak memory", "cnn_ntk_memory": "peak memory",
    "kinked_solvers": "warm: one call less its compile",
    "cluster": "cold: fresh processes",
}
NOT_DEFAULT = {"ntk_memory", "cnn_ntk_memory", "cluster", "w2_method", "kinked_solvers"}


def _rows(name: str, r) -> list[tuple[str, str, str, bool | None]]:
    """(figure, measured, target, met) for the summary table."""
    if name == "figures":
        return [("figures of the slowest shipped scenario, warm (all PNGs)",
                 f"{r['worst_s']:.2f} s ({r['worst']})", "<= 3 s", r["worst_s"] <= 3.0)]
    if name == "cli":
        return [(f"`mfsim {case}`, fresh process" if not case.startswith(("run", "rerun"))
                 else f"`mfsim {case}` (quickstart), fresh process",
                 f"{c['min']:.2f} s (median {c['median']:.2f})",
                 f"<= {c['target']} s" if c["target"] is not None else "",
                 None if c["target"] is None else c["min"] <= c["target"])
                for case, c in r["cases"].items()]
    if name == "gd_loop":
        rows = [("mfsim euler / lax.scan, 1000 GD steps, m=8192 n=512 d=32",
                 f"{r['ratio']:.3f} ({r['mfsim_s']:.2f} s / {r['scan_s']:.2f} s)", "<= 1.05",
                 r["ratio"] <= 1.05)]
        if "torch eager" in r["times"]:
            rows.append(("PyTorch eager / mfsim, same GD loop, equal threads",
                         f"{r['torch_eager_over_mfsim']:.2f}x (torch.compile "
                         f"{r['torch_compile_over_mfsim']:.2f}x)", ">= 2x",
                         r["torch_eager_over_mfsim"] >= 2))
        return rows
    if name == "langevin":
        t = r["times"]
        return [("Langevin (mfsim) / lax.scan EM loop, 2,000 steps, m=4000 d=5 n=256, warm",
                 f"{r['over_scan']:.2f} ({t['mfsim Langevin']['min']:.2f} s / "
                 f"{t['lax.scan EM loop']['min']:.2f} s)", "<= 1.5", r["over_scan"] <= 1.5),
                ("Langevin / the same run without noise, warm",
                 f"{r['over_noiseless']:.2f} (cold: {r['cold_s']['mfsim Langevin']:.1f} s / "
                 f"{r['cold_s']['mfsim without noise']:.1f} s)", "<= 1.5",
                 r["over_noiseless"] <= 1.5)]
    if name == "adaptive_vs_gd":
        return [("small-step GD / adaptive Tsit5 to endpoint error 1e-4",
                 f"{r['speedup']:.1f}x ({r['gd']['steps']} vs {r['adaptive']['steps']} steps)",
                 ">= 10x", r["speedup"] >= 10),
                ("scipy solve_ivp RK45 / mfsim Tsit5, same endpoint error",
                 f"{r['scipy']['speedup']:.1f}x ({r['scipy']['scipy_s']:.3f} s / "
                 f"{r['scipy']['mfsim_s']:.3f} s)", "", None)]
    if name == "flops":
        return [("vector-field FLOP/s / dense matmul FLOP/s, m n d = 1.07e9 (interleaved)",
                 f"{r['ratio']:.2f} ({r['vf_gflops']:.1f} / {r['mm_gflops']:.1f} GFLOP/s; "
                 f"no activation: {r['identity_gflops'] / r['mm_gflops']:.2f})",
                 ">= 0.6, or the profile (NOTES.md)", r["ratio"] >= 0.6)]
    if name == "ntk_gram":
        return [("NTK Gram generic / plain vmap(jacrev) + matmul, n=1000",
                 f"{r['generic_over_plain']:.2f} ({r['generic_jacobian_s']:.2f} s / "
                 f"{r['plain_s']:.2f} s)", "<= 1.0", r["generic_over_plain"] <= 1.0),
                ("NTK Gram generic / structured, n=1000", f"{r['speedup']:.0f}x "
                 f"({r['structured_s']:.3f} s structured)", ">= 2x", r["speedup"] >= 2)] + ([
                ("NTK Gram torch.func / mfsim generic, n=1000",
                 f"{r['torch_s'] / r['generic_jacobian_s']:.2f}x ({r['torch_s']:.2f} s)", "",
                 None)] if r["torch"] else [])
    if name == "w2":
        if not r["pot"]:
            return [("W2 monitor (exact) / plain scipy assignment (+ cdist), 4,000 x 4,000",
                     f"time {r['exact_over_scipy']:.2f}, peak memory "
                     f"{r['exact_memory_over_scipy']:.2f}", "<= 1.0, <= 1.1",
                     r["exact_over_scipy"] <= 1.0 and r["exact_memory_over_scipy"] <= 1.1),
                    ("W2 monitor vs POT emd2, 4,000 particles", "POT not installed", "", None)]
        t = r["trained"]
        scipy_row = ("W2 monitor (exact) / plain scipy assignment (+ cdist), 4,000 x 4,000",
                     f"time {r['exact_over_scipy']:.2f}, peak memory "
                     f"{r['exact_memory_over_scipy']:.2f}", "<= 1.0, <= 1.1",
                     r["exact_over_scipy"] <= 1.0 and r["exact_memory_over_scipy"] <= 1.1)
        return [scipy_row, ("W2 monitor (exact) / POT emd2, 4,000 vs 4,000 particles (trained net)",
                 f"time {r['exact_over_pot']:.2f}, memory {r['exact_memory_over_pot']:.2f} "
                 f"({t['times']['mfsim monitor, exact']['min']:.2f} s / "
                 f"{t['times']['POT emd2 (+ ot.dist)']['min']:.2f} s); values agree to "
                 f"{r['rel_diff']:.0e}", "<= 1, <= 1, 1e-6",
                 r["exact_over_pot"] <= 1 and r["exact_memory_over_pot"] <= 1
                 and r["rel_diff"] <= 1e-6)]
    if name == "w2_method":
        slower = [f"{x['n']} x {x['k']} {x['case']}" for x in r["rows"] if not x["auto_is_cheaper"]]
        return [(f"W2 method 'auto' picks the cheaper of exact / Sinkhorn at the requested "
                 f"accuracy, ties within 10% ({r['platform']}, {len(r['rows'])} cases, 256 to "
                 "16384 particles)",
                 "every case" if not slower else "not in: " + ", ".join(slower), "every case",
                 not slower)]
    if name == "sharpness":
        ms = r["per_save_ms"]["loss + sharpness"]
        return [(f"sharpness monitor per save, {r['params']} parameters, float64, warm "
                 "(every Lanczos step: "
                 f"{r['per_save_ms']['loss + sharpness, every step (rtol 0)']:.1f} ms)",
                 f"{ms:.1f} ms, relative error {r['max_rel_error']:.0e} vs eigh",
                 "<= 20 ms, <= 1e-6", ms <= 20 and r["max_rel_error"] <= 1e-6)]
    if name == "run_overhead":
        s, c = r["sweep"], r["cli"]
        return [("16-seed tiny-GD sweep through mfsim.run, batched / sequential, end to end, "
                 "warm", f"{s['ratio']:.2f}x ({s['sequential_s']:.2f} s / {s['batched_s']:.2f} s)",
                 ">= 1.5x", s["ratio"] >= 1.5),
                ("`mfsim run` quickstart, fresh process, cached: wall beyond compile + solve "
                 "(best; median)", f"{c['best']['overhead_s']:.2f} s; "
                 f"{c['median_overhead_s']:.2f} s", "<= 3 s", c["best"]["overhead_s"] <= 3.0)]
    if name == "kinked_solvers":
        return [(f"{a} flow, width 1024: fastest solver at most Tsit5 rtol 1e-5's endpoint "
                 f"error ({r[a]['baseline']['error']:.1e}) / Tsit5's time",
                 f"{r[a]['ratio']:.2f} ({r[a]['best']['solver']} at {r[a]['best']['tol']:.0e})",
                 "<= 0.5" if a == "relu" else "", r[a]["ratio"] <= 0.5 if a == "relu" else None)
                for a in ("relu", "tanh")]
    if name == "monitor_overhead":
        return [("monitor overhead (drift + Sinkhorn W2, 50 saves)",
                 f"{100 * r['overhead']:.1f}%", "<= 25%", r["overhead"] <= 0.25)]
    if name == "sweep_batching":
        target = {"quickstart": 3, "tiny-gd": 5}
        cases = r["cases"]
        rows = [(f"{x['n_seeds']} seeds batched ({'stacked' if x['stacked'] else 'vmapped'}) "
                 f"vs sequential ({x['case']})",
                 f"{x['speedup']:.2f}x (vmapped while-loop {x['vmapped_speedup']:.2f}x)",
                 f">= {target[x['case']]}x (16 seeds)" if x["n_seeds"] == 16 else "",
                 x["speedup"] >= target[x["case"]] if x["n_seeds"] == 16 else None)
                for x in cases]
        checks = [(x["auto_batch"], x["speedup"]) for x in cases] + [
            (x["auto_batch"], x["speedup"]) for x in r["auto_rule"]]
        rows.append(("batch = 'auto' never slower than sequential (these cases and the width "
                     "scan)", ", ".join(f"{x['case']} x{x['n_seeds']}: "
                                        f"{'batched' if x['auto_batch'] > 1 else 'sequential'}"
                                        for x in cases), "yes",
                     all(a == 1 or s >= 1 for a, s in checks)))
        return rows
    if name == "orthogonal_flow":
        return [("orthogonal sequence model field, expm chart / Riemannian flow, N=400",
                 f"{r['speedup']:.1f}x ({r['riemannian_ms']:.1f} ms; free A {r['free_ms']:.2f} ms)",
                 "", None)]
    if name == "scaling":
        (tm, bm), (tn, bn) = r["fits"]["m (n=1024)"], r["fits"]["n (m=100000)"]
        return [("vector field exponents (time, memory) in m at n=1024; in n at m=1e5",
                 f"m: {tm:.2f}, {bm:.2f}; n: {tn:.2f}, {bn:.2f}", "", None)]
    if name == "memory":
        return [("peak RSS, 10^6 particles, d=100, n=1000, float32",
                 f"{r['peak_rss_gb']:.2f} GB", "< 24 GB", r["peak_rss_gb"] < 24)]
    if name == "compile_time":
        return [("quickstart compile time, no cache", f"{r['compile_s']:.2f} s", "< 10 s",
                 r["compile_s"] < 10),
                ("quickstart compile time, second `mfsim run` (persistent cache)",
                 f"{r['cli_cached_s']:.2f} s (first {r['cli_first_s']:.2f} s)", "<= 1 s",
                 r["cli_cached_s"] <= 1.0)]
    if name == "cluster":
        w, m = r["workers"], r["merge"]
        return [("32-point sweep, --workers 2 / one process (min of 2, interleaved)",
                 f"{w['speedup']:.2f}x ({w['one_min_s']:.1f} s / {w['two_min_s']:.1f} s)",
                 ">= 1.7x", w["speedup"] >= 1.7 and w["bitwise_equal"]),
                (f"mfsim merge of {m['points']} tiny points", f"{m['merge_s']:.1f} s", "< 60 s",
                 m["merge_s"] < 60)]
    if name == "ntk_memory":
        return [("blocked generic NTK, n=4000, 512 MiB budget",
                 f"{r['peak_increase_MiB']:.0f} MiB added", f"<= {r['budget_MiB']:.0f} MiB",
                 r["peak_increase_MiB"] <= r["budget_MiB"])]
    if name == "cnn_ntk_memory":
        return [(f"generic NTK of a ConvNet Network, n={r['n']}, {r['budget_MiB']:.0f} MiB budget",
                 f"{r['peak_increase_MiB']:.0f} MiB added", f"<= {r['budget_MiB']:.0f} MiB",
                 r["peak_increase_MiB"] <= r["budget_MiB"])]
    return []


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)
            s.flush()
        return len(text)


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    import jax

    pkgs = ["jax", "jaxlib", "equinox", "diffrax", "ott-jax", "numpy", "scipy"]
    peers = []
    for p in ("torch", "pot"):  # the optional peers ([bench])
        try:
            peers.append(f"{p} {version(p)}")
        except PackageNotFoundError:
            peers.append(f"{p} not installed")
    dev = jax.devices()[0]
    return (", ".join([f"{p} {version(p)}" for p in pkgs] + peers)
            + f"; device: {dev.platform} ({dev.device_kind}), {len(jax.devices())} device(s)")


def _clocked(name: str, rows: list) -> list:
    """``rows`` with their clock (:data:`CLOCKS`; default warm) appended."""
    clock = CLOCKS.get(name, "warm")
    clocks = clock if isinstance(clock, list) else [clock] * len(rows)
    return [(*row, c) for row, c in zip(rows, clocks)]


def _table(rows) -> list[str]:
    out = ["| figure | measured | clock | target | met |", "|---|---|---|---|---|"]
    for figure, value, target, met, clock in rows:
        mark = "" if met is None else ("yes" if met else "**no**")
        out.append(f"| {figure} | {value} | {clock} | {target} | {mark} |")
    return out


def main(argv: list[str]) -> int:
    names = argv or [n for n in BENCHMARKS if n not in NOT_DEFAULT]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    from ._util import machine

    rows, logs, start = [], {}, time.perf_counter()
    for name in names:
        print(f"== {name}: {BENCHMARKS[name]}", flush=True)
        buf = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(_Tee(sys.stdout, buf)):
            result = importlib.import_module(f"bench.{name}").main()
        rows += _clocked(name, _rows(name, result))
        logs[name] = (buf.getvalue(), time.perf_counter() - t0)
    total = time.perf_counter() - start
    table = _table(rows)
    print("\n".join(["", f"summary ({total / 60:.1f} min):", *table]))
    if not argv:
        _write_results(machine(), table, logs, total)
    return 0


def _write_results(machine: str, table: list[str], logs: dict, total: float) -> None:
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench` (the default set; each benchmark measures its",
        "sides in one process). What the figures mean and what limits them:",
        "`bench/NOTES.md`.",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine}",
        f"- versions: {_versions()}",
        f"- whole run: {total / 60:.1f} min",
        "",
        *table,
        "",
    ]
    for name, (text, seconds) in logs.items():
        lines += [f"## {name} ({seconds:.0f} s): {BENCHMARKS[name]}", "", "```",
                  text.rstrip(), "```", ""]
    path = Path(__file__).with_name("RESULTS.md")
    lines += _kept_sections(path, set(logs))
    path.write_text("\n".join(lines))


def _kept_sections(path: Path, written: set[str]) -> list[str]:
    """The sections of the previous RESULTS.md that this run does not replace:
    records of benchmarks run alone (cluster, cnn_ntk_memory) or on a GPU."""
    if not path.exists():
        return []
    kept, keep = [], False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            keep = line[3:].split(" ", 1)[0].strip("`:") not in written
        elif line.startswith("# "):
            keep = False
        if keep:
            kept.append(line)
    return kept + [""] if kept else []


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
