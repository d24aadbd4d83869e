"""mfsim: neural-network training in the kernel (lazy) and mean-field (active)
regimes, simulated as ODEs with diffrax."""

import jax as _jax

# float64 runs need JAX's 64-bit mode; it is switched on at import so that
# float32 and float64 runs can share a process. float32 runs stay float32:
# every array of a run is created in the run's dtype.
_jax.config.update("jax_enable_x64", True)

from ._activations import ACTIVATIONS as ACTIVATIONS
from ._monitors.base import AbstractMonitor as AbstractMonitor
from ._monitors.base import Reference as Reference
from ._monitors.linear import LinearPredictor as LinearPredictor
from ._monitors.losses import TestAccuracy as TestAccuracy
from ._monitors.losses import TestLoss as TestLoss
from ._monitors.losses import TrainLoss as TrainLoss
from ._monitors.invariants import InvariantDrift as InvariantDrift
from ._monitors.kernel import KERNEL_QUANTITIES as KERNEL_QUANTITIES
from ._monitors.kernel import KernelMonitor as KernelMonitor
from ._monitors.particles import ParticleMoments as ParticleMoments
from ._monitors.particles import ParticleSnapshots as ParticleSnapshots
from ._monitors.spectral import FourierCoefficients as FourierCoefficients
from ._monitors.spectral import ResidualModes as ResidualModes
from ._monitors.spectral import fourier_coefficients as fourier_coefficients
from ._monitors.wasserstein import Wasserstein as Wasserstein
from ._monitors.wasserstein import exact_w2_squared as exact_w2_squared
from ._monitors.movement import ParameterDistance as ParameterDistance
from ._monitors.movement import Predictions as Predictions
from ._monitors.movement import SingularValues as SingularValues
from ._monitors.movement import TrainOutputs as TrainOutputs
from ._monitors.sequence import LearnedKernel as LearnedKernel
from ._monitors.sequence import Risk as Risk
from ._kernels.analytic import TwoLayerKernel as TwoLayerKernel
from ._kernels.analytic import fc_kernels as fc_kernels
from ._kernels.analytic import two_layer_kernels as two_layer_kernels
from ._kernels.empirical import empirical_ntk as empirical_ntk
from ._kernels.empirical import ntk_vector_product as ntk_vector_product
from ._kernels.gaussian import gaussian_expectations as gaussian_expectations
from ._kernels.layerwise import layerwise_ntk as layerwise_ntk
from ._save_times import save_times as save_times
from ._simulate import Trajectory as Trajectory
from ._simulate import batch_signature as batch_signature
from ._simulate import simulate as simulate
from ._simulate import simulate_batch as simulate_batch
from ._analysis import final_value as final_value
from ._analysis import oracle_stopping as oracle_stopping
from ._analysis import power_law_fit as power_law_fit
from ._solvers import SOLVERS as SOLVERS
from ._solvers import make_solver as make_solver
from ._system import AbstractGradientFlowSystem as AbstractGradientFlowSystem
from ._system import AbstractRegressionSystem as AbstractRegressionSystem
from ._system import AbstractSupervisedSystem as AbstractSupervisedSystem
from ._system import AbstractSystem as AbstractSystem
from ._system import squared_loss as squared_loss
from ._systems.constant_kernel import ConstantKernelFlow as ConstantKernelFlow
from ._systems.constant_kernel import EmpiricalKernel as EmpiricalKernel
from ._systems.constant_kernel import InitialFunction as InitialFunction
from ._systems.constant_kernel import KernelFlowState as KernelFlowState
from ._systems.linearized import Linearized as Linearized
from ._systems.deep_linear import DeepLinearNetwork as DeepLinearNetwork
from ._systems.deep_linear import whiten as whiten
from ._systems.diagonal_linear import DiagonalLinearNetwork as DiagonalLinearNetwork
from ._systems.diagonal_linear import DiagonalLinearState as DiagonalLinearState
from ._systems.diagonal_linear import implicit_bias as implicit_bias
from ._systems.mlp import MLP as MLP
from ._systems.mlp import DenseParams as DenseParams
from ._systems.mlp import FCKernel as FCKernel
from ._systems.sequence_models import AbstractSequenceModel as AbstractSequenceModel
from ._systems.sequence_models import AdaptiveSequenceModel as AdaptiveSequenceModel
from ._systems.sequence_models import AdaptiveState as AdaptiveState
from ._systems.sequence_models import DiagonalSequenceModel as DiagonalSequenceModel
from ._systems.sequence_models import DiagonalState as DiagonalState
from ._systems.sequence_models import VanillaSequenceModel as VanillaSequenceModel
from ._systems.two_layer import TwoLayerNetwork as TwoLayerNetwork
from ._systems.two_layer import TwoLayerParams as TwoLayerParams
from ._systems.two_layer import TwoLayerState as TwoLayerState
from ._tasks.dataset import Dataset as Dataset
from ._tasks.eigenfunction import eigenfunction_labels as eigenfunction_labels
from ._tasks.eigenfunction import ntk_eigenfunction_task as ntk_eigenfunction_task
from ._tasks.sinusoids import sinusoid_task as sinusoid_task
from ._tasks.sequence import SequenceData as SequenceData
from ._tasks.sequence import sequence_model_task as sequence_model_task
from ._tasks.sparse import sparse_regression_task as sparse_regression_task
from ._tasks.teacher import teacher_task as teacher_task


from ._errors import MfsimError as MfsimError
from ._errors import ScenarioError as ScenarioError
from ._errors import Interrupted as Interrupted
from ._results import open_results as open_results
from ._run import RunResult as RunResult
from ._run import run as run
from ._run import run_scenario as run_scenario
from ._scenario.load import load_scenario as load_scenario
from ._scenario.schema import Scenario as Scenario

__version__ = "0.1.0"
