"""XLA's own account of a scenario's compiled solve: the independent answer
the memory estimate is tested against."""

import dataclasses

import equinox as eqx
import jax


def compiled_solve_bytes(built) -> int:
    """Arguments, outputs and temporaries of the solve of ``built`` (an
    ``mfsim._scenario.build.Built``), compiled on this backend."""
    from mfsim._solve import core as S

    problem = built.settings.problem(built.system, built.state0, built.monitors)
    problem = dataclasses.replace(problem, max_steps=1000)
    dynamic, static = eqx.partition(problem, eqx.is_array)
    compiled = jax.jit(lambda d: S._diffeqsolve(eqx.combine(d, static))).lower(
        dynamic).compile()
    stats = compiled.memory_analysis()
    return stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
