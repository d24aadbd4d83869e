"""Write tests/golden/<name>.nc, the shrunk float64 shipped scenarios of
tests/golden_cases.py run by the current code (``python
tests/scripts/make_golden.py [NAME ...]``), or with ``--check`` compare the
current code's results with them to rtol 1e-12 (all nine scenarios)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import xarray as xr  # noqa: E402
from golden_cases import CHANGES, GOLDEN, shrunk  # noqa: E402

import mfsim  # noqa: E402

check = "--check" in sys.argv
names = [a for a in sys.argv[1:] if not a.startswith("--")] or list(CHANGES)
GOLDEN.mkdir(exist_ok=True)
for name in names:
    ds = mfsim.run(shrunk(name))
    if check:
        from test_golden import assert_same_results

        with xr.open_dataset(GOLDEN / f"{name}.nc", engine="h5netcdf") as golden:
            assert_same_results(ds, golden.load())
        print(f"{name}: same results ({len(ds.data_vars)} variables, rtol 1e-12)")
        continue
    ds.attrs = {k: v for k, v in ds.attrs.items() if k in ("status", "t_final")}
    ds.to_netcdf(GOLDEN / f"{name}.nc", engine="h5netcdf")
    print(name, dict(ds.sizes), len(ds.data_vars), "variables")
