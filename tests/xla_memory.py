"""XLA's own account of a scenario's compiled solve: the independent answer
the memory estimate is tested against."""

import equinox as eqx
import jax


def compiled_solve_bytes(built) -> int:
    """Arguments, outputs and temporaries of the solve of ``built`` (an
    ``mfsim._scenario.build.Built``), compiled on this backend."""
    from mfsim._solve import core as S

    setup = built.settings
    cast = setup.caster(built.state0)
    args = (built.system, built.state0, cast(setup.ts), setup.own_times(built.monitors, cast),
            cast(0.0), cast(setup.t1), cast(setup.dt0), built.monitors, setup.solver,
            setup.controller_for(built.state0), 1000, False)
    dynamic, static = eqx.partition(args, eqx.is_array)
    compiled = jax.jit(lambda d: S._diffeqsolve(*eqx.combine(d, static))).lower(
        dynamic).compile()
    stats = compiled.memory_analysis()
    return stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
