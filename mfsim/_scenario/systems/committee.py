"""``[system] kind = "committee"``: :class:`mfsim.SoftCommittee`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..._systems.committee import SoftCommittee
from ..._tasks.dataset import CommitteeDataset
from ..entry import DataSizes, SystemEntry, SystemMemory
from ..table import NonNegFloat, PosFloat, PosInt, Table, fields, shown


class CommitteeConfig(Table):
    """Soft committee machine student sum_i v_i erf(w_i . x / sqrt(2N)) (tau = N)."""

    kind: Literal["committee"] = "committee"
    width: PosInt = Field(2, description="student units K",
                         json_schema_extra=shown("student units", r"$K$"))
    sigma_w: NonNegFloat = Field(
        0.03, description="initial weights w_ij ~ N(0, sigma_w^2): Q_ii ~ sigma_w^2, and "
        "R ~ sigma_w / sqrt(N) (small: the symmetric plateau)")
    v0: float = Field(1.0, description="initial second-layer weights (all equal)")
    train_output: bool = Field(False, description="train the second layer v (Goldt et al.)")
    output_rate: PosFloat = Field(1.0, description="eta_v / eta: the second layer's rate")
    population: bool = Field(
        False, description="the objective is the population loss eps_g + sigma^2/2 (its "
        "gradient flow is the eta -> 0 limit of online SGD)")


def build(cfg: CommitteeConfig, data: CommitteeDataset) -> SoftCommittee:
    return SoftCommittee(data.x_train, data.y_train, data.teacher_w, data.teacher_v,
                         noise=data.noise, **fields(cfg))


def memory(cfg: CommitteeConfig, data: DataSizes, platform: str) -> SystemMemory:
    return SystemMemory(4 * data.n_train * cfg.width + data.n_train * data.d, "task.d")


ENTRY = SystemEntry(CommitteeConfig, SoftCommittee, build, memory, data=CommitteeDataset,
                    default_monitors=("train_loss", "test_loss", "order_parameters"))
