"""The optimizer and schedule sections: one model per torch.optim optimizer and learning-rate schedule,
with PyTorch's argument names and defaults (tests/test_architecture.py holds them to the engine's)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator

from nncli.config.fields import Beta, Strict, eps_field, lr_field, named, weight_decay_field

# ----------------------------------------------------------------------------------------- optimizer


class SGDConfig(Strict):
    """torch.optim.SGD, with its defaults (lr 1e-3 since PyTorch 2.0)."""

    name: Literal["sgd"] = named(
        "sgd", "Stochastic gradient descent, with momentum if momentum > 0", "optim.SGD"
    )
    lr: float = lr_field(1e-3)
    momentum: NonNegativeFloat = Field(0.0, description="Momentum factor μ: v ← μv + g; ≥ 0 (momentum).")
    dampening: NonNegativeFloat = Field(0.0, description="v ← μv + (1 − dampening)·g; ≥ 0 (dampening).")
    nesterov: bool = Field(False, description="Nesterov momentum; needs momentum > 0 and dampening 0.")
    weight_decay: NonNegativeFloat = weight_decay_field()

    @model_validator(mode="after")
    def _nesterov(self) -> SGDConfig:
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening = 0")
        return self


class RMSpropConfig(Strict):
    name: Literal["rmsprop"] = named("rmsprop", "Divide by a running RMS of the gradients", "optim.RMSprop")
    lr: float = lr_field(0.01)
    alpha: Beta = Field(0.99, description="Decay of the running mean of g²; in [0, 1) (alpha).")
    eps: PositiveFloat = eps_field(1e-8)
    weight_decay: NonNegativeFloat = weight_decay_field()
    momentum: NonNegativeFloat = Field(0.0, description="Momentum on the scaled step; ≥ 0 (momentum).")
    centered: bool = Field(
        False, description="Divide by the running variance, not the mean of g² (centered)."
    )


class AdagradConfig(Strict):
    name: Literal["adagrad"] = named(
        "adagrad", "Divide by the root of the summed squared gradients", "optim.Adagrad"
    )
    lr: float = lr_field(0.01)
    lr_decay: NonNegativeFloat = Field(0.0, description="lr / (1 + (t − 1)·lr_decay) at step t; ≥ 0.")
    weight_decay: NonNegativeFloat = weight_decay_field()
    initial_accumulator_value: NonNegativeFloat = Field(
        0.0, description="Starting value of the sum of squared gradients; ≥ 0."
    )
    eps: PositiveFloat = eps_field(1e-10)


class AdamConfig(Strict):
    name: Literal["adam"] = named("adam", "Adam: momentum and RMS scaling, bias-corrected", "optim.Adam")
    lr: float = lr_field(0.001)
    betas: tuple[Beta, Beta] = Field(
        (0.9, 0.999), description="Decay rates (β₁, β₂) of the gradient's mean and square; each in [0, 1)."
    )
    eps: PositiveFloat = eps_field(1e-8)
    weight_decay: NonNegativeFloat = weight_decay_field()
    amsgrad: bool = Field(False, description="Use the running maximum of the second moment (amsgrad).")
    bias_correction: bool = Field(
        True, description="false gives the notes' Adam without bias correction (no PyTorch twin)."
    )


class AdamWConfig(AdamConfig):
    name: Literal["adamw"] = named("adamw", "Adam with decoupled weight decay", "optim.AdamW")  # type: ignore[assignment]
    weight_decay: NonNegativeFloat = Field(
        0.01, description="Decoupled: p ← p·(1 − lr·wd) before the step; ≥ 0 (weight_decay)."
    )


OptimizerConfig = Annotated[
    SGDConfig | RMSpropConfig | AdagradConfig | AdamConfig | AdamWConfig, Field(discriminator="name")
]

# ---------------------------------------------------------------------------------------------- schedule


class ConstantSchedule(Strict):
    name: Literal["constant"] = named("constant", "The same lr at every step", "no scheduler")


class StepSchedule(Strict):
    name: Literal["step"] = named(
        "step", "Multiply the lr by gamma every step_size steps", "lr_scheduler.StepLR"
    )
    step_size: PositiveInt = Field(description="Steps between multiplications by gamma; ≥ 1 (step_size).")
    gamma: PositiveFloat = Field(0.1, description="Factor applied every step_size steps; > 0 (gamma).")


class ExponentialSchedule(Strict):
    name: Literal["exponential"] = named(
        "exponential", "Multiply the lr by gamma every step", "lr_scheduler.ExponentialLR"
    )
    gamma: PositiveFloat = Field(description="Factor applied every step; > 0 (gamma).")


class CosineSchedule(Strict):
    name: Literal["cosine"] = named(
        "cosine", "Half a cosine from lr down to eta_min", "lr_scheduler.CosineAnnealingLR"
    )
    T_max: PositiveInt | None = Field(
        None, description="Steps of the half cosine (default: the whole run); ≥ 1 (T_max)."
    )
    eta_min: NonNegativeFloat = Field(0.0, description="The lr at the end of the half cosine; ≥ 0 (eta_min).")


class WarmupSchedule(Strict):
    name: Literal["warmup"] = named("warmup", "A linear ramp of the lr's factor", "lr_scheduler.LinearLR")
    start_factor: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        1.0 / 3.0, description="Factor of the lr at step 0; in (0, 1] (start_factor)."
    )
    end_factor: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        1.0, description="Factor reached after total_iters steps and kept; in [0, 1] (end_factor)."
    )
    total_iters: PositiveInt = Field(5, description="Steps of the linear ramp; ≥ 1 (total_iters).")


ScheduleConfig = Annotated[
    ConstantSchedule | StepSchedule | ExponentialSchedule | CosineSchedule | WarmupSchedule,
    Field(discriminator="name"),
]
