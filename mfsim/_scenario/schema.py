"""The scenario schema: every key, its type, default and allowed values.

A scenario file only overrides these defaults. Every table rejects unknown
keys; numbers must be finite; integers must be TOML integers; floats accept
integers.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from .._activations import ACTIVATIONS
from .._monitors import wasserstein as _w2
from .._monitors.kernel import KERNEL_QUANTITIES
from .._sharding import Shard
from .._solvers import FIXED_STEP_ONLY, SOLVERS

Activation = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
SolverName = Literal[tuple(SOLVERS)]  # type: ignore[valid-type]
PosInt = Annotated[int, Field(gt=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]


class Table(BaseModel):
    """A TOML table: strict types, finite numbers, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key {key}; allowed keys: {allowed}",
                        {"key": str(key), "allowed": ", ".join(cls.model_fields)},
                    )
        return data


# ----------------------------------------------------------------------- tasks
class TaskTable(Table):
    """Keys every task has."""

    seed: Annotated[int, Field(ge=0, lt=2**32)] | None = Field(
        None, description="seed of the data alone (default: the scenario's seed; the data of "
        "task.seed = s are those of seed = s): fix it to vary only the initialization")


class TeacherTaskConfig(TaskTable):
    """Targets from a two-layer teacher network ``(1/k) sum_i a_i phi(u_i . x)``."""

    kind: Literal["teacher"] = "teacher"
    d: PosInt = Field(16, description="input dimension")
    n_train: PosInt = Field(256, description="number of training points")
    n_test: PosInt = Field(1024, description="number of test points")
    teacher_width: PosInt = Field(4, description="teacher neurons k")
    activation: Activation = Field("relu", description="teacher activation")
    inputs: Literal["gaussian", "sphere"] = Field("gaussian", description="input distribution")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets")


class SinusoidTaskConfig(TaskTable):
    """A 1-D sum of sinusoids on [0, 1) or the circle."""

    kind: Literal["sinusoids"] = "sinusoids"
    frequencies: Annotated[list[PosFloat], Field(min_length=1)] = Field(
        default_factory=lambda: [1.0, 4.0], description="frequencies f_k"
    )
    amplitudes: list[float] | None = Field(None, description="amplitudes A_k (default 1)")
    phases: list[float] | None = Field(None, description="phases p_k (default 0)")
    n_train: PosInt = Field(64, description="number of training points")
    n_test: PosInt = Field(256, description="number of test points (a regular grid)")
    domain: Literal["interval", "circle"] = Field(
        "interval", description="x in [0, 1), or x embedded as (cos 2 pi x, sin 2 pi x)")
    grid: bool = Field(False, description="training positions on a regular grid")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets")

    @model_validator(mode="after")
    def _lengths_match(self):
        for key in ("amplitudes", "phases"):
            value = getattr(self, key)
            if value is not None and len(value) != len(self.frequencies):
                raise PydanticCustomError(
                    "length_mismatch",
                    "must have one entry per frequency ({n})",
                    {"key": key, "n": len(self.frequencies)},
                )
        return self


class SparseRegressionTaskConfig(TaskTable):
    """Sparse linear regression, n < d: the implicit-bias testbed."""

    kind: Literal["sparse_regression"] = "sparse_regression"
    d: PosInt = Field(40, description="number of features")
    n_train: PosInt = Field(20, description="number of training points")
    n_test: PosInt = Field(200, description="number of test points")
    sparsity: PosInt = Field(2, description="non-zeros of beta*")
    signal: PosFloat = Field(1.0, description="magnitude of the non-zeros")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets")

    @model_validator(mode="after")
    def _check(self):
        if self.sparsity > self.d:
            raise PydanticCustomError("sparsity", "must not exceed d ({d})",
                                      {"d": self.d, "key": "sparsity"})
        return self


class LinearTeacherTaskConfig(TaskTable):
    """Vector regression y = M x with M = U diag(s) V^T (random orthogonal U, V)."""

    kind: Literal["linear_teacher"] = "linear_teacher"
    d: PosInt = Field(8, description="input dimension")
    d_out: PosInt = Field(4, description="output dimension")
    singular_values: Annotated[list[PosFloat], Field(min_length=1)] = Field(
        default_factory=lambda: [3.0, 2.0, 1.0, 0.5], description="singular values of M")
    n_train: PosInt = Field(256, description="number of training points")
    n_test: PosInt = Field(256, description="number of test points")
    whiten: bool = Field(True, description="whiten the training inputs ((1/n) X^T X = I)")
    noise: NonNegFloat = Field(0.0, description="std of label noise on training targets")

    @model_validator(mode="after")
    def _check(self):
        if len(self.singular_values) > min(self.d, self.d_out):
            raise PydanticCustomError("rank", "at most min(d, d_out) = {r} values",
                                      {"r": min(self.d, self.d_out), "key": "singular_values"})
        if self.whiten and self.n_train < self.d:
            raise PydanticCustomError("whiten", "whitening needs n_train >= d",
                                      {"key": "whiten"})
        return self


class SequenceTaskConfig(TaskTable):
    """Gaussian sequence model z = theta* + noise / sqrt(n), misaligned power-law signal."""

    kind: Literal["sequence"] = "sequence"
    n: PosFloat = Field(2000.0, description="sample size (noise variance 1/n)")
    N: PosInt = Field(1000, description="number of coordinates")
    p: PosFloat = Field(1.0, description="signal decay |theta*_l(j)| = j^-(p+1)/2")
    q: Annotated[float, Field(ge=1.0)] = Field(1.0, description="misalignment l(j) = j^q")
    gamma: PosFloat = Field(1.5, description="kernel eigenvalues lambda_j = j^-gamma")


class EigenfunctionTaskConfig(TaskTable):
    """Labels sign(phi_j) of the j-th eigenvector of the network's NTK at init on the
    pooled train and test inputs (Ortiz-Jimenez et al.)."""

    kind: Literal["ntk_eigenfunction"] = "ntk_eigenfunction"
    d: PosInt = Field(8, description="input dimension")
    n_train: PosInt = Field(256, description="number of training points")
    n_test: PosInt = Field(256, description="number of test points")
    index: PosInt = Field(1, description="j: eigenvector by decreasing eigenvalue (1 = top)")
    kernel: Literal["empirical", "analytic"] = Field(
        "empirical", description="the network's NTK at init, or its infinite-width limit")
    inputs: Literal["gaussian", "sphere"] = Field("gaussian", description="input distribution")

    @model_validator(mode="after")
    def _check(self):
        if self.index > self.n_train + self.n_test:
            raise PydanticCustomError(
                "index", "must be at most n_train + n_test ({n}), the pooled inputs",
                {"n": self.n_train + self.n_test, "key": "index"})
        if self.n_train + self.n_test > 20_000:
            raise PydanticCustomError(
                "size", "n_train + n_test must be at most 20000 (the Gram matrix is "
                "eigendecomposed)", {"key": "n_train"})
        return self


TaskConfig = Annotated[
    Union[TeacherTaskConfig, SinusoidTaskConfig, SparseRegressionTaskConfig,
          LinearTeacherTaskConfig, SequenceTaskConfig, EigenfunctionTaskConfig],
    Field(discriminator="kind"),
]
SCALAR_TASKS = ("teacher", "sinusoids", "sparse_regression", "ntk_eigenfunction")


# --------------------------------------------------------------------- systems
class TwoLayerConfig(Table):
    """Two-layer network ``alpha c_m sum_j v_j phi(w_j . x + b_j)``."""

    kind: Literal["two_layer"] = "two_layer"
    width: PosInt = Field(512, description="number of neurons m")
    parameterization: Literal["mean_field", "ntk"] = Field(
        "mean_field", description="c_m = 1/m and time scale m (mean_field), or c_m = 1/sqrt(m)")
    activation: Activation = Field("relu", description="phi")
    scale: PosFloat = Field(1.0, description="output scale alpha (objective L(alpha h)/alpha^2)")
    bias: bool = Field(False, description="hidden biases b_j")
    train: Annotated[list[Literal["hidden", "output"]], Field(min_length=1)] = Field(
        default_factory=lambda: ["hidden", "output"], description="layers that train"
    )
    init: Literal["gaussian", "symmetric"] = Field(
        "gaussian", description="i.i.d. neurons, or mirrored pairs (zero output at init)")
    center: bool = Field(False, description="subtract the output at initialization")
    sigma_v: NonNegFloat = Field(1.0, description="v_j ~ N(0, sigma_v^2)")
    sigma_w: NonNegFloat = Field(1.0, description="w_j ~ N(0, sigma_w^2 I / d)")
    sigma_b: NonNegFloat = Field(1.0, description="b_j ~ N(0, sigma_b^2)")
    block: Optional[Annotated[int, Field(ge=0)]] = Field(
        None, description="neurons per block when summing the output (memory O(n block) "
        "instead of O(n m); 0: no blocking; unset: automatic, by device and n m)")

    @model_validator(mode="after")
    def _check(self):
        if self.init == "symmetric" and self.width % 2:
            raise PydanticCustomError(
                "odd_width", "symmetric init needs an even width; got {width}",
                {"width": self.width, "key": "width"},
            )
        if len(set(self.train)) != len(self.train):
            raise PydanticCustomError("duplicate", "lists a layer twice", {"key": "train"})
        return self


class MLPConfig(Table):
    """Deep fully connected network, stax NTK parameterization."""

    kind: Literal["mlp"] = "mlp"
    widths: Annotated[list[PosInt], Field(min_length=1)] = Field(
        default_factory=lambda: [512, 512], description="hidden widths")
    activation: Activation = Field("relu", description="phi")
    sigma_w: PosFloat = Field(1.0, description="weight std W_std (stax Dense)")
    sigma_b: NonNegFloat = Field(0.0, description="bias std b_std (stax Dense)")
    bias: bool = Field(True, description="layers have biases")


class DeepLinearConfig(Table):
    """Deep linear network W_L ... W_1 x."""

    kind: Literal["deep_linear"] = "deep_linear"
    widths: list[PosInt] = Field(default_factory=lambda: [8], description="hidden widths")
    init: Literal["gaussian", "orthogonal", "balanced", "lambda_balanced"] = Field(
        "balanced", description="initialization of the layers")
    scale: NonNegFloat = Field(0.01, description="init scale sigma")
    lam: float = Field(0.0, description="lambda of lambda_balanced init")
    learning_rate: PosFloat = Field(1.0, description="time scale tau")

    @model_validator(mode="after")
    def _check(self):
        if self.init == "lambda_balanced" and len(self.widths) != 1:
            raise PydanticCustomError("lambda_balanced", "lambda_balanced needs one hidden width",
                                      {"key": "widths"})
        return self


class DiagonalLinearConfig(Table):
    """Diagonal linear network <u^D - v^D, x> from u = v = alpha."""

    kind: Literal["diagonal_linear"] = "diagonal_linear"
    alpha: PosFloat = Field(0.1, description="init scale")
    depth: Annotated[int, Field(ge=2)] = Field(2, description="D")
    learning_rate: PosFloat = Field(1.0, description="time scale tau")


class VanillaSequenceConfig(Table):
    """Fixed kernel theta_j = lambda_j^(1/2) beta_j."""

    kind: Literal["vanilla_sequence"] = "vanilla_sequence"


class DiagonalSequenceConfig(Table):
    """Over-parameterized theta_j = a_j b_j^D beta_j (Li & Lin)."""

    kind: Literal["diagonal_sequence"] = "diagonal_sequence"
    depth: Annotated[int, Field(ge=0)] = Field(0, description="D (0: a_j beta_j only)")
    b0: PosFloat = Field(1.0, description="initial b_j")


class AdaptiveSequenceConfig(Table):
    """theta = A diag(d) beta with learnable A (free or orthogonal) and d."""

    kind: Literal["adaptive_sequence"] = "adaptive_sequence"
    orthogonal: bool = Field(False, description="keep A orthogonal (Riemannian flow)")


SystemConfig = Annotated[
    Union[TwoLayerConfig, MLPConfig, DeepLinearConfig, DiagonalLinearConfig,
          VanillaSequenceConfig, DiagonalSequenceConfig, AdaptiveSequenceConfig],
    Field(discriminator="kind"),
]
SEQUENCE_SYSTEMS = ("vanilla_sequence", "diagonal_sequence", "adaptive_sequence")
ANALYTIC_KERNEL_SYSTEMS = ("two_layer", "mlp")
# monitors each family of systems supports
SUPERVISED_MONITORS = ("train_loss", "test_loss", "test_accuracy", "param_distance",
                       "train_outputs", "test_outputs", "invariants", "kernel",
                       "residual_modes", "fourier")
PARTICLE_MONITORS = ("wasserstein", "particle_moments", "particle_snapshots")
SEQUENCE_MONITORS = ("train_loss", "risk", "param_distance", "invariants", "learned_kernel")


# ------------------------------------------------------------- solve and save
class SolverConfig(Table):
    """How the flow is integrated."""

    name: SolverName = Field("tsit5", description="the ODE solver (mfsim list solvers)")
    t1: PosFloat = Field(10.0, description="final time")
    dt: PosFloat | None = Field(None, description="step (euler: learning rate / tau)")
    rtol: PosFloat = Field(1e-6, description="relative tolerance of adaptive steps")
    atol: PosFloat = Field(1e-9, description="absolute tolerance of adaptive steps")
    adaptive: bool | None = Field(None, description="default: all solvers but euler")
    max_steps: PosInt = Field(100_000, description="the solve stops (status max_steps) here")
    divergence: Annotated[float, Field(gt=1)] = Field(
        1e8, description="the solve stops (status diverged) when a state entry exceeds this "
        "times the largest entry of the initial state (at least 1); NaN or Inf stop it too "
        "(status non-finite state)")
    shard: Shard = Field(
        "none", description="spread over every JAX device: particles (the neurons of each "
        "solve) or sweep (the points of a batched sweep); none: one device")

    @model_validator(mode="after")
    def _check(self):
        fixed = self.name in FIXED_STEP_ONLY or self.adaptive is False
        if self.name in FIXED_STEP_ONLY and self.adaptive:
            raise PydanticCustomError(
                "fixed_step", "solver {name} is fixed-step only; remove adaptive = true",
                {"name": self.name, "key": "adaptive"},
            )
        if fixed and self.dt is None:
            raise PydanticCustomError(
                "missing_dt", "a fixed-step solve needs dt (a positive step)", {"key": "dt"}
            )
        if self.dt is not None and self.dt > self.t1:
            raise PydanticCustomError("dt_too_large", "must not exceed t1", {"key": "dt"})
        return self


class SaveConfig(Table):
    """Where monitors are evaluated."""

    n: Annotated[int, Field(ge=2, le=100_000)] = Field(101, description="number of save times")
    spacing: Literal["linear", "log"] = Field("linear", description="save-time grid")
    t_first: PosFloat | None = Field(None, description="first positive time of a log grid")


def _monitor(name: str, doc: str) -> type:
    """A monitor table with no parameters besides its name."""
    return type(f"{name.title().replace('_', '')}MonitorConfig", (Table,), {
        "__doc__": doc, "__annotations__": {"name": Literal[name]}, "name": name})


TrainLossMonitor = _monitor("train_loss", "Training loss (1/2n) sum_i (f(x_i) - y_i)^2.")
TestLossMonitor = _monitor("test_loss", "Test loss on the held-out data.")
TestOutputsMonitor = _monitor("test_outputs", "Outputs f(x'_i) on the test inputs.")
TestAccuracyMonitor = _monitor("test_accuracy",
                               "Fraction of held-out points with sign f = sign y (+-1 labels).")
TrainOutputsMonitor = _monitor("train_outputs", "Outputs f(x_i) on the training inputs.")
InvariantsMonitor = _monitor("invariants", "Drift of the conserved quantities of the flow.")
RiskMonitor = _monitor("risk", "Risk ||theta - theta*||^2.")
SingularValuesMonitor = _monitor("singular_values",
                                 "Singular values of the end-to-end map (deep_linear only).")
LinearPredictorMonitor = _monitor("linear_predictor",
                                  "Norms and recovery error of beta (diagonal_linear only).")
ParticleMomentsMonitor = _monitor("particle_moments",
                                  "Mean, variance and second moment of the particles.")


class LearnedKernelMonitor(Table):
    """Learned kernel A D^2 A^T: top eigenvalues, share of theta* on them."""

    name: Literal["learned_kernel"]
    k: PosInt = Field(10, description="number of top eigenpairs")


class ParamDistanceMonitor(Table):
    """||theta_t - theta_0|| (absolute, relative, per layer); fraction of moved particles."""

    name: Literal["param_distance"]
    tol: PosFloat = Field(1e-2, description="a particle moved if ||p_j(t) - p_j(0)|| > tol")


class KernelMonitorConfig(Table):
    """NTK on a subsample: drift, alignments, spectrum, eigenspace angles."""

    name: Literal["kernel"]
    subsample: Annotated[int, Field(ge=2, le=20_000)] = Field(
        256, description="training inputs the kernel is computed on (the first ones)")
    k: PosInt = Field(10, description="eigenpairs kept (eigenvalues, energy, angles)")
    quantities: Annotated[list[Literal[KERNEL_QUANTITIES]], Field(min_length=1)] = Field(
        default_factory=lambda: list(KERNEL_QUANTITIES), description="what to record")

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.quantities)) != len(self.quantities):
            raise PydanticCustomError("duplicate", "lists a quantity twice",
                                      {"key": "quantities"})
        return self


class WassersteinMonitor(Table):
    """Sinkhorn divergence / W2 between the particle measure and a reference (ott-jax)."""

    name: Literal["wasserstein"]
    reference: Literal["init", "teacher"] = Field(
        "init", description="mu_0, or the teacher's neurons (task teacher)")
    epsilon: PosFloat = Field(_w2.EPSILON, description="absolute entropic regularization")
    threshold: PosFloat = Field(_w2.THRESHOLD, description="Sinkhorn's marginal-error threshold")
    max_iterations: Annotated[int, Field(ge=10, le=1_000_000)] = Field(
        _w2.MAX_ITERATIONS, description="Sinkhorn iterations at most")
    exact: bool = Field(False, description="also the exact W2 (host-side; small widths)")
    subsample: Optional[Annotated[int, Field(ge=2)]] = Field(
        None, description="only the first this many particles (a random subsample: "
        "i.i.d. at init); unset: all")


class ParticleSnapshotsMonitor(Table):
    """All particles at chosen times (particle scatter plots)."""

    name: Literal["particle_snapshots"]
    times: Annotated[list[NonNegFloat], Field(min_length=1, max_length=100)] = Field(
        description="snapshot times, within [0, solver.t1]")


class FourierMonitor(Table):
    """Fourier coefficients of the prediction on the test grid (task sinusoids)."""

    name: Literal["fourier"]
    frequencies: list[PosInt] | None = Field(
        None, description="integer frequencies (default: the task's frequencies)")


class ResidualModesMonitor(Table):
    """Training residual on the top eigenvectors of the NTK at init."""

    name: Literal["residual_modes"]
    k: PosInt = Field(10, description="number of eigenvectors")


MonitorConfig = Annotated[
    Union[TrainLossMonitor, TestLossMonitor, TestAccuracyMonitor,  # type: ignore[valid-type]
          TrainOutputsMonitor, TestOutputsMonitor,
          InvariantsMonitor, RiskMonitor, SingularValuesMonitor, LinearPredictorMonitor,
          ParticleMomentsMonitor, LearnedKernelMonitor, ParamDistanceMonitor,
          KernelMonitorConfig, WassersteinMonitor, ParticleSnapshotsMonitor, FourierMonitor,
          ResidualModesMonitor],
    Field(discriminator="name"),
]


class CompareConfig(Table):
    """Kernel twins solved beside the network, from its initial state."""

    linearized: bool = Field(False, description="the linearized network (Taylor at init)")
    kernels: list[Literal["empirical", "analytic"]] = Field(
        default_factory=list,
        description="constant-kernel flows: NTK frozen at init, and/or infinite width",
    )

    @model_validator(mode="after")
    def _check(self):
        if len(set(self.kernels)) != len(self.kernels):
            raise PydanticCustomError("duplicate", "lists a kernel twice", {"key": "kernels"})
        return self


class OutputConfig(Table):
    """Where and what to write."""

    dir: str | None = Field(
        None, description="output directory, relative to the working directory and inside "
        "it (default runs/<name>; mfsim run --out may name any directory)")
    figures: list[Literal["png", "svg", "pdf"]] = Field(
        default_factory=lambda: ["png"], description="figure formats drawn after the run")
    checkpoint_every: Annotated[int, Field(ge=0)] = Field(
        10, description="a run without a sweep is solved in segments of this many save "
        "points, its state checkpointed after each (an interrupted run resumes from the "
        "last); 0: one solve, no checkpoint. A sweep saves each point as it completes")

    @model_validator(mode="after")
    def _check(self):
        # a scenario file (perhaps someone else's) may not write outside the
        # working directory: only the command line's --out can
        if self.dir is not None:
            path = PurePosixPath(self.dir.replace("\\", "/"))
            if (not self.dir.strip() or path.is_absolute() or ".." in path.parts
                    or PureWindowsPath(self.dir).drive or "\0" in self.dir):
                raise PydanticCustomError(
                    "output_dir", "must be a relative path without '..' (inside the working "
                    "directory); got {dir}; use mfsim run --out for other places",
                    {"dir": repr(self.dir), "key": "dir"})
        return self


Scalar = Union[bool, int, float, str]
# keys a sweep may not vary: they name the run, not a point of it
UNSWEEPABLE = ("name", "description", "sweep", "output")
MAX_SWEEP_POINTS = 100_000


def _flatten(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


class SweepConfig(Table):
    """Sweep axes: each key is a dotted scenario key (``system.width``,
    ``seed``) with the list of values it takes. ``grid`` axes form a
    Cartesian product; ``zip`` axes vary together (equal lengths) as one more
    axis, named by its first key. Write keys quoted (``"system.width" = [..]``)
    or as dotted TOML keys (``system.width = [..]``)."""

    grid: dict[str, Annotated[list[Scalar], Field(min_length=1)]] = Field(
        default_factory=dict, description="axes of a Cartesian product")
    zip: dict[str, Annotated[list[Scalar], Field(min_length=1)]] = Field(
        default_factory=dict, description="axes that vary together (equal lengths)")
    batch: Union[Literal["auto"], PosInt] = Field(
        "auto", description="points per vmapped solve (auto: on CPU, fixed-step solves of small states only, where batching was measured faster; on an accelerator, as many as fit in memory)")
    reference: dict[str, Scalar] = Field(
        default_factory=dict,
        description="dotted keys of a reference run (e.g. a much larger width): each point is "
        "also run with these keys replaced, and records ref_distance, the RMS distance of its "
        "outputs to the reference's (needs monitor test_outputs or train_outputs)")

    @model_validator(mode="before")
    @classmethod
    def _flatten_tables(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for mode in ("grid", "zip", "reference"):
                if isinstance(data.get(mode), dict):
                    data[mode] = _flatten(data[mode])
        return data

    @model_validator(mode="after")
    def _check(self):
        for mode in ("grid", "zip", "reference"):
            for key in getattr(self, mode):
                if key.split(".")[0] in UNSWEEPABLE:
                    raise PydanticCustomError(
                        "unsweepable", "{k} cannot be swept ({no} are fixed for a run)",
                        {"k": key, "no": ", ".join(UNSWEEPABLE), "key": f"{mode}.{key}"})
        both = set(self.grid) & set(self.zip)
        if both:
            key = sorted(both)[0]
            raise PydanticCustomError("duplicate", "is both a grid and a zip axis",
                                      {"key": f"zip.{key}"})
        lengths = {key: len(v) for key, v in self.zip.items()}
        if len(set(lengths.values())) > 1:
            raise PydanticCustomError(
                "zip_lengths", "zip axes must have equal lengths; got {lengths}",
                {"lengths": ", ".join(f"{k}: {n}" for k, n in lengths.items()), "key": "zip"})
        if self.size > MAX_SWEEP_POINTS:
            raise PydanticCustomError("too_many", "{n} points; at most {max} allowed",
                                      {"n": self.size, "max": MAX_SWEEP_POINTS})
        return self

    @property
    def size(self) -> int:
        n = 1
        for values in self.grid.values():
            n *= len(values)
        return n * (len(next(iter(self.zip.values()))) if self.zip else 1)

    @property
    def empty(self) -> bool:
        return not self.grid and not self.zip


def _monitor_options_error(scenario: "Scenario") -> PydanticCustomError | None:
    for i, m in enumerate(scenario.monitors):
        where = f"monitors.{i}"
        if m.name == "wasserstein" and m.reference == "teacher":
            if scenario.task.kind != "teacher":
                return PydanticCustomError(
                    "monitor", "reference teacher needs task teacher", {"key": f"{where}.reference"})
            if getattr(scenario.system, "bias", False):
                return PydanticCustomError(
                    "monitor", "reference teacher needs a system without bias (the teacher's "
                    "neurons have none)", {"key": f"{where}.reference"})
        if m.name == "particle_snapshots" and max(m.times) > scenario.solver.t1:
            return PydanticCustomError("monitor", "snapshot times must be within [0, solver.t1]",
                                       {"key": f"{where}.times"})
        if m.name == "fourier":
            if scenario.task.kind != "sinusoids":
                return PydanticCustomError("monitor", "fourier needs task sinusoids",
                                           {"key": f"{where}.name"})
            freqs = m.frequencies or scenario.task.frequencies
            if any(float(f) != int(f) or f <= 0 for f in freqs):
                return PydanticCustomError(
                    "monitor", "fourier needs positive integer frequencies; set "
                    "monitors.{i}.frequencies or use integer task.frequencies",
                    {"i": i, "key": f"{where}.frequencies"})
            if 2 * max(freqs) >= scenario.task.n_test:
                return PydanticCustomError(
                    "monitor", "frequencies must be below task.n_test / 2 (the test grid)",
                    {"key": f"{where}.frequencies"})
    return None


def default_monitors(system_kind: str) -> list[dict]:
    if system_kind in SEQUENCE_SYSTEMS:
        return [{"name": "train_loss"}, {"name": "risk"}]
    return [{"name": "train_loss"}, {"name": "test_loss"}]


class Scenario(Table):
    """A whole scenario file."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)] = Field(
        description="names the run (default output directory runs/<name>)")
    description: str = Field("", description="one line shown by mfsim list")
    seed: Annotated[int, Field(ge=0, lt=2**32)] = Field(
        0, description="random seed: split into the data key and the initialization key")
    dtype: Literal["float32", "float64"] = Field("float32", description="of every array of the run")
    task: TaskConfig = Field(default_factory=TeacherTaskConfig)
    system: SystemConfig = Field(default_factory=TwoLayerConfig)
    solver: SolverConfig = Field(default_factory=SolverConfig)
    save: SaveConfig = Field(default_factory=SaveConfig)
    monitors: list[MonitorConfig] = Field(default_factory=list)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)

    @model_validator(mode="before")
    @classmethod
    def _default_kinds(cls, data: Any) -> Any:
        # `kind` may be left out of [task] and [system]: it defaults per table.
        if isinstance(data, dict):
            data = dict(data)
            for key, kind in (("task", "teacher"), ("system", "two_layer")):
                if isinstance(data.get(key), dict) and "kind" not in data[key]:
                    data[key] = {"kind": kind, **data[key]}
            # monitors default per family of systems
            system = data.get("system", {})
            kind = system.get("kind", "two_layer") if isinstance(system, dict) else "two_layer"
            if "monitors" not in data and isinstance(kind, str):
                data["monitors"] = default_monitors(kind)
        return data

    @model_validator(mode="after")
    def _check(self):
        if self.save.t_first is not None and self.save.t_first >= self.solver.t1:
            raise PydanticCustomError(
                "t_first", "must be below solver.t1", {"key": "save.t_first"}
            )
        names = [(m.name, getattr(m, "reference", None)) for m in self.monitors]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise PydanticCustomError("duplicate", "the same monitor is listed twice",
                                          {"key": f"monitors.{i}.name"})
        self._check_compatibility()
        return self

    def _check_monitor_options(self):
        error = _monitor_options_error(self)
        if error is not None:
            raise error

    def _check_compatibility(self):
        system, task = self.system.kind, self.task.kind
        sequence = system in SEQUENCE_SYSTEMS
        if sequence != (task == "sequence"):
            allowed = "sequence" if sequence else ", ".join(
                SCALAR_TASKS + (("linear_teacher",) if system == "deep_linear" else ()))
            raise PydanticCustomError(
                "task_system", "system {system} cannot be trained on task {task}; allowed: "
                "{allowed}", {"system": system, "task": task, "allowed": allowed,
                              "key": "task.kind"})
        if task == "linear_teacher" and system != "deep_linear":
            raise PydanticCustomError(
                "task_system", "task linear_teacher has vector targets: only system deep_linear "
                "fits it", {"key": "task.kind"})
        allowed_monitors = SEQUENCE_MONITORS if sequence else SUPERVISED_MONITORS
        if system == "deep_linear":
            allowed_monitors = allowed_monitors + ("singular_values",)
        if system == "diagonal_linear":
            allowed_monitors = allowed_monitors + ("linear_predictor",)
        if system == "two_layer":
            allowed_monitors = allowed_monitors + PARTICLE_MONITORS
        if system == "deep_linear":  # vector outputs: no scalar-kernel monitors
            allowed_monitors = tuple(m for m in allowed_monitors
                                     if m not in ("kernel", "residual_modes", "fourier"))
        for i, m in enumerate(self.monitors):
            if m.name not in allowed_monitors:
                raise PydanticCustomError(
                    "monitor", "{name} is not available for system {system}; allowed: {allowed}",
                    {"name": m.name, "system": system, "allowed": ", ".join(allowed_monitors),
                     "key": f"monitors.{i}.name"})
        self._check_monitor_options()
        if self.sweep.reference:
            if sequence:
                raise PydanticCustomError(
                    "reference", "a reference run needs a network system, not {s}",
                    {"s": system, "key": "sweep.reference"})
            if not {"test_outputs", "train_outputs"} & {m.name for m in self.monitors}:
                raise PydanticCustomError(
                    "reference", "a reference run needs monitor test_outputs or train_outputs "
                    "(the outputs compared)", {"key": "sweep.reference"})
        twins = self.compare.linearized or self.compare.kernels
        if twins and sequence:
            raise PydanticCustomError("compare", "kernel twins need a network system, not {s}",
                                      {"s": system, "key": "compare"})
        if task == "ntk_eigenfunction" and system not in ANALYTIC_KERNEL_SYSTEMS:
            raise PydanticCustomError(
                "task_system", "task ntk_eigenfunction needs a network with an NTK; allowed "
                "systems: {allowed}", {"allowed": ", ".join(ANALYTIC_KERNEL_SYSTEMS),
                                       "key": "task.kind"})
        if self.compare.kernels and (task == "linear_teacher"):
            raise PydanticCustomError("compare", "constant-kernel twins need scalar targets",
                                      {"key": "compare.kernels"})
        if "analytic" in self.compare.kernels and system not in ANALYTIC_KERNEL_SYSTEMS:
            raise PydanticCustomError(
                "compare", "no infinite-width kernel for system {s}; allowed: empirical",
                {"s": system, "key": "compare.kernels"})
