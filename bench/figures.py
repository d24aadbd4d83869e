"""Drawing every figure of every shipped scenario, from its results.nc.

For each shipped scenario: the results of a full-size run where one is found
(``MFSIM_BENCH_RUNS=DIR`` with ``DIR/NAME/results.nc``, e.g. written by
``mfsim run scenarios/NAME.toml --out DIR/NAME``), else of the shrunk
scenario the figure lint runs on (``tests/shrunk.py``, solved here first,
not timed). Two times per scenario:

- warm: planning, drawing and writing every PNG in this process, matplotlib
  already imported and its font cache built (best of 2);
- cold: ``mfsim plot DIR`` in a fresh process (imports included), what a
  user waits for when redrawing a run's figures.

The target (issue 33) is warm <= 3 s for every scenario.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0


def _results(name: str, tmp: Path) -> tuple[Path, str]:
    runs = os.environ.get("MFSIM_BENCH_RUNS")
    if runs and (Path(runs) / name / "results.nc").is_file():
        return Path(runs) / name, "full"
    sys.path.insert(0, str(ROOT / "tests"))
    from shrunk import shrunk

    import mfsim

    out = tmp / name
    mfsim.run_scenario(shrunk(name), out=out, figures=False, progress=False)
    return out, "shrunk"


def _draw_all(run_dir: Path, out: Path) -> tuple[float, int]:
    from mfsim._store.results import open_results
    from mfsim.plotting import plan, save_figure

    start = time.perf_counter()
    ds = open_results(run_dir).load()
    planned = plan(ds)
    for figure in planned:
        save_figure(figure.draw(), out / f"{figure.stem}.png")
    return time.perf_counter() - start, len(planned)


def main(names: list[str] | None = None) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    from ._util import machine

    names = names or sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    rows = {}
    mfsim_cmd = str(Path(sys.executable).with_name("mfsim"))
    print(f"Figures of every shipped scenario ({machine()})")
    print(f"{'scenario':32s} {'results':7s} {'figures':>7s} {'warm s':>7s} {'cold s':>7s}")
    with tempfile.TemporaryDirectory(prefix="mfsim-figures-") as tmp:
        tmp = Path(tmp)
        for name in names:
            run_dir, kind = _results(name, tmp)
            out = tmp / f"{name}-figures"
            out.mkdir()
            _draw_all(run_dir, out)  # warm-up: fonts, mathtext, the first layout
            warm, count = min(_draw_all(run_dir, out) for _ in range(2))
            copy = tmp / f"{name}-copy"
            shutil.copytree(run_dir, copy)
            start = time.perf_counter()
            subprocess.run([mfsim_cmd, "plot", str(copy)], check=True, capture_output=True,
                           env=dict(os.environ, MPLBACKEND="Agg"))
            cold = time.perf_counter() - start
            rows[name] = {"results": kind, "figures": count, "warm_s": warm, "cold_s": cold}
            print(f"{name:32s} {kind:7s} {count:7d} {warm:7.2f} {cold:7.2f}", flush=True)
    worst = max(rows, key=lambda n: rows[n]["warm_s"])
    print(f"slowest (warm): {worst} {rows[worst]['warm_s']:.2f} s; target <= {TARGET_S} s")
    return {"rows": rows, "worst": worst, "worst_s": rows[worst]["warm_s"]}


if __name__ == "__main__":
    main(sys.argv[1:] or None)
