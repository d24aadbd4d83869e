"""The solve layer: what turns (system, initial state, monitors, solver) into a
:class:`~mfsim.Trajectory`, in memory, never touching the disk.

- ``core``: the compiled diffrax solve, its failure guards, ``Trajectory``;
- ``simulate``: ``simulate`` and ``simulate_batch`` (``vmap``'ed);
- ``segments``: a long solve in checkpointed segments, through a store;
- ``solvers``: solvers by name, step-size controllers, the failure guard;
- ``save_times``, ``batching`` (grouping many solves), ``sharding`` (devices).
"""
