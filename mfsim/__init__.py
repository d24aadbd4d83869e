"""mfsim: neural-network training in the kernel (lazy) and mean-field (active)
regimes, simulated as ODEs with diffrax.

Importing mfsim changes no JAX setting. float64 runs need JAX's 64-bit mode:
``mfsim.run`` / ``mfsim.run_scenario`` and the ``mfsim`` command switch it on
for a float64 scenario themselves (scoped: the caller's setting is restored);
for :func:`mfsim.simulate` on float64 data, switch it on yourself first, e.g.
``jax.config.update("jax_enable_x64", True)`` at the top of the script (or
``with jax.enable_x64(True):`` around the run), as with diffrax.
"""

from ._activations import ACTIVATIONS as ACTIVATIONS
from ._analysis import final_value as final_value
from ._analysis import oracle_stopping as oracle_stopping
from ._analysis import power_law_fit as power_law_fit
from ._checkpoint import CheckpointFile as CheckpointFile
from ._errors import DeprecatedKeyWarning as DeprecatedKeyWarning
from ._errors import Interrupted as Interrupted
from ._errors import MfsimError as MfsimError
from ._errors import MfsimWarning as MfsimWarning
from ._errors import RecomputedWarning as RecomputedWarning
from ._errors import ScenarioError as ScenarioError
from ._kernels.analytic import TwoLayerKernel as TwoLayerKernel
from ._kernels.analytic import fc_kernels as fc_kernels
from ._kernels.analytic import two_layer_kernels as two_layer_kernels
from ._kernels.empirical import empirical_ntk as empirical_ntk
from ._kernels.empirical import ntk_vector_product as ntk_vector_product
from ._kernels.gaussian import gaussian_expectations as gaussian_expectations
from ._kernels.layerwise import layerwise_ntk as layerwise_ntk
from ._monitors.base import AbstractMonitor as AbstractMonitor
from ._monitors.base import MonitorContext as MonitorContext
from ._monitors.invariants import InvariantDrift as InvariantDrift
from ._monitors.kernel import KERNEL_QUANTITIES as KERNEL_QUANTITIES
from ._monitors.kernel import KernelMonitor as KernelMonitor
from ._monitors.linear import LinearPredictor as LinearPredictor
from ._monitors.losses import TestAccuracy as TestAccuracy
from ._monitors.losses import TestLoss as TestLoss
from ._monitors.losses import TrainLoss as TrainLoss
from ._monitors.movement import ParameterDistance as ParameterDistance
from ._monitors.movement import Predictions as Predictions
from ._monitors.movement import SingularValues as SingularValues
from ._monitors.movement import TrainOutputs as TrainOutputs
from ._monitors.particles import ParticleMoments as ParticleMoments
from ._monitors.particles import ParticleSnapshots as ParticleSnapshots
from ._monitors.sequence import LearnedKernel as LearnedKernel
from ._monitors.sequence import Risk as Risk
from ._monitors.spectral import FourierCoefficients as FourierCoefficients
from ._monitors.spectral import ResidualModes as ResidualModes
from ._monitors.spectral import fourier_coefficients as fourier_coefficients
from ._monitors.wasserstein import Wasserstein as Wasserstein
from ._monitors.wasserstein import exact_w2_squared as exact_w2_squared
from ._results import open_results as open_results
from ._runner.run import run as run
from ._runner.run import run_scenario as run_scenario
from ._runner.store import RunResult as RunResult
from ._scenario.entry import DataSizes as DataSizes
from ._scenario.entry import MemoryTerm as MemoryTerm
from ._scenario.entry import MonitorEntry as MonitorEntry
from ._scenario.entry import MonitorMemory as MonitorMemory
from ._scenario.entry import SystemEntry as SystemEntry
from ._scenario.entry import SystemSizes as SystemSizes
from ._scenario.entry import TaskEntry as TaskEntry
from ._scenario.load import load_scenario as load_scenario
from ._scenario.load import validate_scenario as validate_scenario
from ._scenario.registry import register_entries as register_entries
from ._scenario.registry import unregister_entries as unregister_entries
from ._scenario.schema import Scenario as Scenario
from ._scenario.table import ScenarioTable as ScenarioTable
from ._solve.core import SolveSettings as SolveSettings
from ._solve.core import Trajectory as Trajectory
from ._solve.save_times import save_times as save_times
from ._solve.segments import AbstractCheckpointStore as AbstractCheckpointStore
from ._solve.simulate import batch_signature as batch_signature
from ._solve.simulate import simulate as simulate
from ._solve.simulate import simulate_batch as simulate_batch
from ._solve.solvers import SOLVERS as SOLVERS
from ._solve.solvers import make_solver as make_solver
from ._system import AbstractDiagonalSequenceModel as AbstractDiagonalSequenceModel
from ._system import AbstractGradientFlowSystem as AbstractGradientFlowSystem
from ._system import AbstractInfiniteWidthSystem as AbstractInfiniteWidthSystem
from ._system import AbstractInvariantSystem as AbstractInvariantSystem
from ._system import AbstractLinearMapSystem as AbstractLinearMapSystem
from ._system import AbstractLinearPredictorSystem as AbstractLinearPredictorSystem
from ._system import AbstractLossSystem as AbstractLossSystem
from ._system import AbstractParticleSystem as AbstractParticleSystem
from ._system import AbstractRegressionSystem as AbstractRegressionSystem
from ._system import AbstractScalarOutputSystem as AbstractScalarOutputSystem
from ._system import AbstractSequenceModel as AbstractSequenceModel
from ._system import AbstractSupervisedSystem as AbstractSupervisedSystem
from ._system import AbstractSystem as AbstractSystem
from ._system import squared_loss as squared_loss
from ._systems.constant_kernel import ConstantKernelFlow as ConstantKernelFlow
from ._systems.constant_kernel import EmpiricalKernel as EmpiricalKernel
from ._systems.constant_kernel import InitialFunction as InitialFunction
from ._systems.constant_kernel import KernelFlowState as KernelFlowState
from ._systems.deep_linear import DeepLinearNetwork as DeepLinearNetwork
from ._systems.deep_linear import whiten as whiten
from ._systems.diagonal_linear import DiagonalLinearNetwork as DiagonalLinearNetwork
from ._systems.diagonal_linear import DiagonalLinearState as DiagonalLinearState
from ._systems.diagonal_linear import implicit_bias as implicit_bias
from ._systems.linearized import Linearized as Linearized
from ._systems.linearized import ScalarLinearized as ScalarLinearized
from ._systems.linearized import linearize as linearize
from ._systems.mlp import MLP as MLP
from ._systems.mlp import DenseParams as DenseParams
from ._systems.mlp import FCKernel as FCKernel
from ._systems.sequence_models import AdaptiveSequenceModel as AdaptiveSequenceModel
from ._systems.sequence_models import AdaptiveState as AdaptiveState
from ._systems.sequence_models import DiagonalSequenceModel as DiagonalSequenceModel
from ._systems.sequence_models import DiagonalState as DiagonalState
from ._systems.sequence_models import VanillaSequenceModel as VanillaSequenceModel
from ._systems.two_layer import TwoLayerNetwork as TwoLayerNetwork
from ._systems.two_layer import TwoLayerParams as TwoLayerParams
from ._systems.two_layer import TwoLayerState as TwoLayerState
from ._tasks.arrays import array_task as array_task
from ._tasks.arrays import file_task as file_task
from ._tasks.dataset import Dataset as Dataset
from ._tasks.digits import digits_task as digits_task
from ._tasks.eigenfunction import eigenfunction_labels as eigenfunction_labels
from ._tasks.eigenfunction import ntk_eigenfunction_task as ntk_eigenfunction_task
from ._tasks.linear_teacher import linear_teacher_task as linear_teacher_task
from ._tasks.sequence import SequenceData as SequenceData
from ._tasks.sequence import sequence_model_task as sequence_model_task
from ._tasks.sinusoids import sinusoid_task as sinusoid_task
from ._tasks.sparse import sparse_regression_task as sparse_regression_task
from ._tasks.teacher import teacher_task as teacher_task

__version__ = "0.1.0"
