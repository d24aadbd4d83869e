import jax
import pytest

import mfsim  # noqa: F401  (switches on float64)

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(0)
