"""mfsim: neural-network training in the kernel (lazy) and mean-field (active)
regimes, simulated as ODEs with diffrax.

Importing mfsim changes no JAX setting. float64 runs need JAX's 64-bit mode:
``mfsim.run`` / ``mfsim.run_scenario`` and the ``mfsim`` command switch it on
for a float64 scenario themselves (scoped: the caller's setting is restored);
for :func:`mfsim.simulate` on float64 data, switch it on yourself first, e.g.
``jax.config.update("jax_enable_x64", True)`` at the top of the script (or
``with jax.enable_x64(True):`` around the run), as with diffrax.

The public names are imported on first use (PEP 562): ``import mfsim`` is
immediate, and the ``mfsim`` command answers ``--help``, ``--version`` and
argument errors without importing JAX; ``mfsim.X`` and ``from mfsim import
X`` work as plain imports do.
"""

import importlib

__version__ = "0.1.0"

# the public API: each name, by the module that defines it
_EXPORTS: dict[str, tuple[str, ...]] = {
    "._systems.activations": ("ACTIVATIONS",),
    "._store.analysis": ("final_value", "first_passage_time", "learning_times", "oracle_stopping",
        "power_law_fit", "training_regimes", "w2_to_stationary"),
    "._store.checkpoints": ("CheckpointFile",),
    "._store.crossover": ("CrossoverSpec", "crossing_point", "crossover"),
    "._errors": ("DeprecatedKeyWarning", "Interrupted", "MfsimError", "MfsimWarning",
        "RecomputedWarning", "RedirectedOutputWarning", "ScenarioError"),
    "._kernels.analytic": ("TwoLayerKernel", "fc_kernels", "two_layer_kernels"),
    "._kernels.empirical": ("AbstractNTKMethod", "JacobianContraction", "NTKVectorProducts",
        "empirical_ntk", "ntk_vector_product"),
    "._kernels.gaussian": ("gaussian_expectations",),
    "._kernels.layerwise": ("layerwise_ntk",),
    "._kernels.learning_curve": ("LearningCurve", "learning_curve", "pool_learning_curve",
                                     "sphere_learning_curve"),
    "._kernels.nystrom": ("NystromEigenfunctions",),
    "._kernels.sphere": ("gegenbauer", "harmonic_multiplicity", "predicted_learning_times",
        "sphere_eigenvalues"),
    "._systems.losses": ("AbstractLoss", "CrossEntropyLoss", "LogisticLoss", "SquaredLoss"),
    "._monitors.base": ("AbstractMonitor", "MonitorContext"),
    "._monitors.density_modes": ("DensityModes",),
    "._monitors.features": ("FeatureMovement",),
    "._monitors.harmonics": ("HarmonicEnergy",),
    "._monitors.invariants": ("InvariantDrift",),
    "._monitors.kernel": ("KERNEL_QUANTITIES", "KernelMonitor"),
    "._monitors.kernel_regression": ("KernelRegression", "kernel_regression"),
    "._monitors.linear": ("LinearPredictor",),
    "._monitors.losses": ("TestAccuracy", "TestLoss", "TrainLoss"),
    "._monitors.margin": ("Margin",),
    "._monitors.movement": ("ParameterDistance", "Predictions", "SingularValues", "TrainOutputs"),
    "._monitors.central_flow": ("CentralFlowMonitor",),
    "._monitors.order_parameters": ("OrderParametersMonitor",),
    "._monitors.particles": ("ParticleMoments", "ParticleSnapshots"),
    "._monitors.sequence": ("LearnedKernel", "Risk"),
    "._monitors.sharpness": ("Sharpness", "hessian_eigenvalues"),
    "._monitors.spectral": ("FourierCoefficients", "ResidualModes", "fourier_coefficients"),
    "._monitors.variable": ("Variable",),
    "._monitors.w2_methods": ("AbstractW2Method", "W2Auto", "W2Both", "W2Exact", "W2Sinkhorn"),
    "._monitors.wasserstein": ("Wasserstein", "exact_w2_squared"),
    "._store.results": ("open_results",),
    "._store.merge": ("MergeResult", "RunStatus", "merge", "run_status"),
    "._runner.run": ("run", "run_scenario"),
    "._runner.shards": ("Shard", "ShardResult"),
    "._store.finished": ("RunResult",),
    "._scenario.entry": ("DataSizes", "MemoryTerm", "MonitorEntry", "MonitorMemory",
        "SolverContext", "SolverEntry", "SystemEntry", "SystemMemory", "TaskEntry"),
    "._scenario.load": ("load_scenario", "validate_scenario"),
    "._scenario.registry": ("register_entries", "unregister_entries"),
    "._scenario.schema": ("Scenario",),
    "._scenario.solvers.base": ("AdaptiveTable", "FixedStepTable", "SolverTable",
        "solver_settings"),
    "._scenario.table": ("ScenarioTable",),
    "._solve.core": ("Trajectory",),
    "._solve.settings": ("SolveSettings",),
    "._solve.langevin": ("DiagonalNoise", "Langevin", "SampleNoise", "SGDNoise"),
    "._solve.optimizers": ("AbstractBatches", "Minibatch", "Online", "OptaxSolver", "adam", "sgd"),
    "._solve.fixed_points": ("AbstractCoordinates", "FixedPoint", "fixed_point"),
    "._solve.polish": ("CriticalPoint", "polish"),
    "._solve.save_times": ("save_times",),
    "._solve.segments": ("AbstractCheckpointStore",),
    "._solve.sharding": ("AbstractLayout", "OneDevice", "ShardParticles", "ShardSweep"),
    "._solve.simulate": ("batch_signature", "simulate", "simulate_batch"),
    "._solve.start": ("Start",),
    "._solve.stopping": ("StopWhen",),
    "._system": ("AbstractDiagonalSequenceModel", "AbstractFeatureSystem",
        "AbstractGradientFlowSystem", "AbstractInfiniteWidthSystem", "AbstractInvariantSystem",
        "AbstractLinearMapSystem", "AbstractLinearPredictorSystem", "AbstractLossSystem",
        "AbstractOrderParameterSystem", "AbstractParticleSystem", "AbstractRegressionSystem",
        "AbstractScalarOutputSystem", "AbstractSequenceModel", "AbstractSupervisedSystem",
        "AbstractSystem", "OrderParameters", "squared_loss"),
    "._systems.central_flow": ("CentralFlow", "Oscillation", "RegressionCentralFlow",
                               "ScalarCentralFlow", "central_flow", "solve_psd_qp"),
    "._systems.committee": ("CommitteeState", "SoftCommittee"),
    "._systems.constant_kernel": ("ConstantKernelFlow", "EmpiricalKernel", "InitialFunction",
        "KernelFlowState"),
    "._systems.conv_net": ("ConvNet", "ConvNetInit"),
    "._systems.deep_linear": ("AbstractLayerInit", "AlignedLayers", "BalancedLayers",
        "DeepLinearNetwork", "GaussianLayers", "LambdaBalancedLayers", "OrthogonalLayers",
        "whiten"),
    "._systems.diagonal_linear": ("DiagonalLinearNetwork", "DiagonalLinearState", "implicit_bias"),
    "._systems.linearized": ("Linearized", "ScalarLinearized", "linearize"),
    "._systems.mlp": ("MLP", "DenseParams", "FCKernel"),
    "._systems.parameterization": ("AbstractNeuronInit", "AbstractParameterization", "Gaussian",
        "MeanField", "MuP", "NTK", "Standard", "Symmetric"),
    "._systems.network": ("Network", "NetworkState", "ScalarNetwork", "network"),
    "._systems.order_parameters": ("IdenticalStudents", "OrderParameterODE", "OverlapState"),
    "._systems.quadratic": ("Quadratic", "ScalarQuadratic", "quadratize"),
    "._systems.sequence_models": ("AdaptiveSequenceModel", "AdaptiveState",
        "DiagonalSequenceModel", "DiagonalState", "VanillaSequenceModel"),
    "._systems.taylor": ("AbstractTaylorTwin",),
    "._systems.two_layer": ("TwoLayerNetwork", "TwoLayerParams", "TwoLayerState"),
    "._tasks.arrays": ("array_task", "file_task"),
    "._tasks.committee_teacher": ("committee_teacher_task",),
    "._tasks.conv_teacher": ("conv_teacher_task",),
    "._tasks.dataset": ("AbstractSampler", "CommitteeDataset", "Dataset", "ImageDataset"),
    "._tasks.densities": ("sample_sphere", "vmf_mean_resultant"),
    "._tasks.digits": ("digits_task",),
    "._tasks.eigenfunction": ("eigenfunction_labels", "ntk_eigenfunction_task"),
    "._tasks.gegenbauer": ("gegenbauer_task",),
    "._tasks.linear_teacher": ("linear_teacher_task",),
    "._tasks.sequence": ("SequenceData", "sequence_model_task"),
    "._tasks.sinusoids": ("sinusoid_task",),
    "._tasks.sparse": ("sparse_regression_task",),
    "._tasks.teacher": ("teacher_task",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


# public subpackages, imported on first use too (``mfsim.plotting.figure(...)``)
_SUBPACKAGES = ("plotting", "cli")


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'mfsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once: the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
