import os
from pathlib import Path

# as the mfsim command does (mfsim/_store/compile_cache.py): Equinox's runtime
# checks give NaN rather than a host callback, which would keep every solve
# out of the persistent compilation cache below. Read when Equinox is
# imported, so set before anything imports it.
os.environ.setdefault("EQX_ON_ERROR", "nan")

import jax  # noqa: E402
import pytest  # noqa: E402

# JAX's persistent compilation cache for the test session: the two xdist
# workers, the CLI subprocesses and the notebook kernels compile many of the
# same solves; each is compiled once per machine (the cache lives under
# .pytest_cache, which git ignores). Set before JAX compiles anything, and in
# the environment so that child processes share it.
CACHE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax-compilation-cache"
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(CACHE))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs",
                  float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))

import mfsim  # noqa: F401, E402  (after the cache settings)

# reference tests run in float64 (importing mfsim changes no JAX setting)
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(0)
