"""Running a scenario, in three parts that sit above the solve layer:

- ``plan``: resolve the scenario, expand the sweep points and reference runs,
  check memory, choose and check the output directory (:class:`RunPlan`);
- ``execute``: build the jobs, prepare the run directory, solve (resuming what
  an interrupted run completed), report progress (:class:`Outcome`);
- ``store``: combine the points, write results, summary, provenance and
  figures (:class:`RunResult`).

``run.py`` composes them: :func:`mfsim.run_scenario` and :func:`mfsim.run`.
"""
