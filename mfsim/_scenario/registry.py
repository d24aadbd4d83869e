"""The one place where scenario names become objects: name -> entry for every
system, task, monitor and solver (each entry in its own file, see :mod:`.entry`).

Adding a system to scenario files: its class in ``mfsim/_systems/``, its
entry file in ``systems/``, one line below, its export in ``mfsim/__init__``,
its tests. Code outside the package (a test, a user's project) registers an
entry with :func:`register_entries` instead; the scenario schema is rebuilt so that
scenario files and ``mfsim.run`` accept it at once.
"""

from __future__ import annotations

from .entry import MonitorEntry, SolverEntry, SystemEntry, TaskEntry
from .monitors import (
    density_modes,
    feature_movement,
    fourier,
    harmonics,
    invariants,
    kernel,
    kernel_regression,
    learned_kernel,
    linear_predictor,
    margin,
    order_parameters,
    param_distance,
    particle_moments,
    particle_snapshots,
    residual_modes,
    risk,
    sharpness,
    singular_values,
    test_accuracy,
    test_loss,
    test_outputs,
    train_loss,
    train_outputs,
    wasserstein,
)
from .solvers import euler, langevin, ode, optax
from .systems import (
    adaptive_sequence,
    cnn,
    committee,
    deep_linear,
    diagonal_linear,
    diagonal_sequence,
    mlp,
    two_layer,
    vanilla_sequence,
)
from .tasks import (
    committee_teacher,
    conv_teacher,
    digits,
    file,
    gegenbauer,
    linear_teacher,
    ntk_eigenfunction,
    sequence,
    sinusoids,
    sparse_regression,
    teacher,
)

SYSTEMS: dict[str, SystemEntry] = {}
TASKS: dict[str, TaskEntry] = {}
MONITORS: dict[str, MonitorEntry] = {}
SOLVERS: dict[str, SolverEntry] = {}  # each name a solver entry serves -> the entry

# a [system] / [task] table without `kind`, a [solver] table without `name`, is one of these
DEFAULT_SYSTEM, DEFAULT_TASK, DEFAULT_SOLVER = "two_layer", "teacher", "tsit5"
# ... except that a system with a kinked activation (relu), solved at rtol >=
# KINKED_FROM_RTOL, defaults to KINKED_SOLVER. Measured on the quickstart's ReLU
# network (bench/kinked_solvers.py; bench/NOTES.md "Solvers on kinked fields"):
# Bosh3 takes 0.66x of Tsit5's time at rtol 1e-4 and 0.70x at 1e-5 (and
# at 1e-4 ends nearer a float64 reference than Tsit5 at 1e-5), but 1.34x at
# rtol 1e-6; on a smooth (tanh) flow Tsit5 is the faster at every rtol.
KINKED_SOLVER = "bosh3"
KINKED_FROM_RTOL = 1e-5


def default_solver(entry: SystemEntry | None, system: dict, solver: dict) -> str:
    """The solver a scenario's ``[solver]`` table without ``name`` selects,
    from the system's entry and its ``[system]`` and ``[solver]`` tables
    (dicts, as read): :data:`KINKED_SOLVER` when the system's ``activation``
    (given, or its table's default) is kinked
    (:data:`mfsim._systems.activations.KINKED`) and ``rtol`` (given, or the
    solver tables' default) is at least :data:`KINKED_FROM_RTOL`; else
    :data:`DEFAULT_SOLVER`."""
    from .._systems.activations import KINKED
    from .solvers.base import SolverTable

    field = entry.config.model_fields.get("activation") if entry is not None else None
    activation = system.get("activation", field.default if field is not None else None)
    rtol = solver.get("rtol", SolverTable.model_fields["rtol"].default)
    kinked = isinstance(activation, str) and activation in KINKED
    loose = isinstance(rtol, (int, float)) and rtol >= KINKED_FROM_RTOL
    return KINKED_SOLVER if kinked and loose else DEFAULT_SOLVER


def _add(table: dict, entry, replace: bool) -> None:
    names = entry.names if isinstance(entry, SolverEntry) else (entry.name,)
    for name in names:
        if name in table and not replace:
            raise ValueError(f"a scenario entry named {name!r} is already registered "
                             "(pass replace=True to replace it)")
    for name in names:
        table[name] = entry


def register_entries(*entries: SystemEntry | TaskEntry | MonitorEntry | SolverEntry,
                     replace: bool = False) -> None:
    """Make entries available to scenario files, ``mfsim.run``, ``mfsim list`` and
    the reference page (the schema is rebuilt once for all of them)."""
    for entry in entries:
        if isinstance(entry, SystemEntry):
            _add(SYSTEMS, entry, replace)
        elif isinstance(entry, TaskEntry):
            _add(TASKS, entry, replace)
        elif isinstance(entry, MonitorEntry):
            _add(MONITORS, entry, replace)
        elif isinstance(entry, SolverEntry):
            _add(SOLVERS, entry, replace)
        else:
            raise TypeError(f"not a scenario entry: {entry!r}")
    _changed()


def systems_with(*types: type) -> list[str]:
    """The names of the registered systems whose class has every one of
    ``types`` (capability types): what a refusal lists as allowed."""
    return [e.name for e in SYSTEMS.values() if all(issubclass(e.system, t) for t in types)]


def unregister_entries(*names: str) -> None:
    """Remove entries by name (systems, tasks, monitors or solvers), e.g. after a test."""
    for name in names:
        for table in (SYSTEMS, TASKS, MONITORS, SOLVERS):
            table.pop(name, None)
    _changed()


# called after every change (the schema rebuilds its unions of tables)
LISTENERS: list = []


def _changed() -> None:
    for listener in LISTENERS:
        listener()


for _entry in (two_layer.ENTRY, mlp.ENTRY, deep_linear.ENTRY, diagonal_linear.ENTRY,
               vanilla_sequence.ENTRY, diagonal_sequence.ENTRY, adaptive_sequence.ENTRY,
               cnn.ENTRY, committee.ENTRY):
    SYSTEMS[_entry.name] = _entry
for _entry in (teacher.ENTRY, sinusoids.ENTRY, sparse_regression.ENTRY, linear_teacher.ENTRY,
               sequence.ENTRY, ntk_eigenfunction.ENTRY, digits.ENTRY, file.ENTRY,
               gegenbauer.ENTRY, conv_teacher.ENTRY, committee_teacher.ENTRY):
    TASKS[_entry.name] = _entry
for _entry in (train_loss.ENTRY, test_loss.ENTRY, test_accuracy.ENTRY, train_outputs.ENTRY,
               test_outputs.ENTRY, invariants.ENTRY, risk.ENTRY, singular_values.ENTRY,
               linear_predictor.ENTRY, particle_moments.ENTRY, learned_kernel.ENTRY,
               param_distance.ENTRY, kernel.ENTRY, wasserstein.ENTRY, particle_snapshots.ENTRY,
               fourier.ENTRY, residual_modes.ENTRY, kernel_regression.ENTRY,
               harmonics.ENTRY, feature_movement.ENTRY, density_modes.ENTRY, sharpness.ENTRY,
               margin.ENTRY, order_parameters.ENTRY):
    MONITORS[_entry.name] = _entry
for _entry in (euler.ENTRY, ode.ENTRY, ode.IMPLICIT, langevin.SRA1, langevin.SHARK,
               optax.SGD, optax.ADAM):
    for _name in _entry.names:
        SOLVERS[_name] = _entry

# mfsim's own entries, as shipped (built_in_only)
_BUILT_IN = tuple(dict(table) for table in (SYSTEMS, TASKS, MONITORS, SOLVERS))


def built_in_only() -> bool:
    """Whether the registry holds mfsim's own entries, none added, replaced
    or removed (then a scenario file means the same in every process)."""
    return all(table.keys() == shipped.keys() and all(
        table[name] is entry for name, entry in shipped.items())
        for table, shipped in zip((SYSTEMS, TASKS, MONITORS, SOLVERS), _BUILT_IN))
