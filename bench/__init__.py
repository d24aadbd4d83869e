"""mfsim benchmarks: run ``python -m bench`` (or ``python -m bench NAME``) from the repo root."""
