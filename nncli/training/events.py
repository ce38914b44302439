"""What the trainer announces. Listeners (the rich reporter, the run directory) receive these frozen
events; the engine itself never prints or writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class StepEnd:
    """A logged step. `train_loss` is the objective of that step's forward pass, before its update:
    `data_loss` (that one mini-batch's loss) plus `penalty` (regularisation). `data_loss_mean` is the mean
    data loss over the steps since the previous logged one, comparable to `val_loss`, which holds no
    penalty. Validation fields are those of the latest evaluation, if any, made after `val_step` steps
    (validation runs once per epoch by default, rows come every `log_every` steps)."""

    step: int
    epoch: int
    train_loss: float
    data_loss: float
    data_loss_mean: float
    penalty: float
    lr: float
    grad_norm: float
    time_s: float
    val_loss: float | None = None
    val_metric: float | None = None
    val_step: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Evaluation:
    step: int
    val_loss: float
    val_metric: float
    metric_name: str


@dataclass(frozen=True)
class CheckpointDue:
    """Time to write a checkpoint of the trainer's current state (after `step` steps)."""

    step: int


@dataclass(frozen=True)
class TrainingEnd:
    """The run is over. `status`: completed, early_stopped, diverged or interrupted."""

    step: int
    status: str
    message: str = ""


Event = StepEnd | Evaluation | CheckpointDue | TrainingEnd
