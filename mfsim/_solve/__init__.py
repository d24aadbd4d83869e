"""The solve layer: what turns (system, initial state, settings, monitors)
into a :class:`~mfsim.Trajectory`, in memory, never touching the disk.

- ``settings``: ``SolveSettings``, the objects a solve carries;
- ``core``: the compiled diffrax solve, its failure guards, ``Trajectory``;
- ``simulate``: ``simulate`` and ``simulate_batch`` (``vmap``'ed);
- ``segments``: a long solve in checkpointed segments, through a store;
- ``solvers``: whole steps, the smallest adaptive step, the failure guard;
- ``save_times``, ``batching`` (grouping many solves), ``sharding`` (device
  layouts: ``OneDevice``, ``ShardParticles``, ``ShardSweep``).
"""
