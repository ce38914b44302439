"""The run config: pydantic models validated once at the edge, then handed on as typed objects.

Every section forbids unknown keys, and models, optimizers, losses and schedules are discriminated
unions on `kind`/`name`, so each accepts only its own fields. `nncli config schema` prints the JSON
Schema of `RunConfig`.
"""

from __future__ import annotations

import inspect
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    Discriminator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Tag,
    create_model,
    field_validator,
    model_validator,
)

from nncli.config.fields import MAX_SIZE, Probability, Size, Strict, named
from nncli.config.optim import AdamConfig, ConstantSchedule, OptimizerConfig, ScheduleConfig
from nncli.config.shorthand import by_name
from nncli.config.values import read_values
from nncli.datasets import DATASETS
from nncli.datasets.base import NOISE_DOCS
from nncli.datasets.labels import TASK_CHOICES
from nncli.engine.activations import ACTIVATIONS
from nncli.engine.layers import INITS
from nncli.engine.models import NORMS
from nncli.engine.regularizers import L1_MODES
from nncli.engine.transformer import POOLINGS, POSITIONAL_KINDS

# Name lists come from the engine, so the config accepts exactly what the builders know.
ActivationName = Literal[tuple(ACTIVATIONS.names())]  # type: ignore[valid-type]
TaskChoice = Literal[TASK_CHOICES]  # type: ignore[valid-type]
InitName = Literal[INITS]  # type: ignore[valid-type]
NormName = Literal[tuple(NORMS)]  # type: ignore[valid-type]
L1Mode = Literal[L1_MODES]  # type: ignore[valid-type]
PositionalKind = Literal[POSITIONAL_KINDS]  # type: ignore[valid-type]
PoolingName = Literal[("auto", *POOLINGS.names())]  # type: ignore[valid-type]
# ---------------------------------------------------------------------------------------------- data


class DataCommon(Strict):
    validation: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.2, description="Fraction of samples held out for validation."
    )
    standardize: bool = Field(
        True, description="Scale real-valued features to zero mean and unit variance (training statistics)."
    )


class FileData(DataCommon):
    """Your own data: a .csv file (header row, a target column) or a .npz file (arrays X and y)."""

    path: Path = Field(description="A .csv or .npz file, relative to the config file.")
    target: str | None = Field(None, description="Target column of a CSV file (default: 'y', else the last).")
    task: TaskChoice = Field("auto", description="auto: text, or ≤ 20 distinct integers, are classes.")
    features: list[str] | None = Field(
        None, description="A CSV's input columns, in order (default: every column but the target and drop)."
    )
    drop: list[str] = Field(default_factory=list, description="CSV columns to ignore, e.g. an id.")
    delimiter: Literal[",", ";", "\t"] | None = Field(
        None, description="A CSV's cell delimiter (default: detected from the header: , ; or tab)."
    )
    validation_path: Path | None = Field(
        None, description="A separate validation file with the same columns; the fraction is then unused."
    )

    @field_validator("path", "validation_path")
    @classmethod
    def _known_suffix(cls, path: Path | None) -> Path | None:
        if path is not None and path.suffix.lower() not in (".csv", ".npz"):
            raise ValueError(f"data files must be .csv or .npz, got '{path.suffix or path.name}'")
        return path


def _generated_data_model(name: str) -> type[DataCommon]:
    """A config model for one bundled generator, with the generator's own keyword parameters as fields."""
    spec = DATASETS.get(name)
    fields: dict[str, Any] = {
        "dataset": (Literal[name], Field(description=spec.description)),
        "samples": (
            Size,
            Field(1000 if spec.kind == "tabular" else 2000, description="Number of samples drawn; ≥ 1."),
        ),
        "noise": (
            NonNegativeFloat,
            Field(_default_noise(spec), description=NOISE_DOCS[spec.kind]),
        ),
    }
    for pname, param in inspect.signature(spec.fn).parameters.items():
        if pname in ("samples", "noise", "rng"):
            continue
        kind = Annotated[int, Field(le=MAX_SIZE)] if param.annotation in (int, "int") else param.annotation
        fields[pname] = (kind, Field(param.default, description=spec.param_docs[pname]))
    return create_model(f"{name.title().replace('_', '')}Data", __base__=DataCommon, **fields)


def _default_noise(spec) -> float:
    default = inspect.signature(spec.fn).parameters.get("noise")
    if default is not None and default.default is not inspect.Parameter.empty:
        return float(default.default)
    return 0.0


def _data_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "file" if "path" in value else str(value.get("dataset", ""))
    return "file" if isinstance(value, FileData) else getattr(value, "dataset", "")


@cache
def _data_union():
    members = [Annotated[FileData, Tag("file")]]
    members += [Annotated[_generated_data_model(n), Tag(n)] for n in DATASETS.names()]
    return Annotated[Union[tuple(members)], Discriminator(_data_tag)]  # noqa: UP007


DataConfig = _data_union()

# --------------------------------------------------------------------------------------------- model


class ModelCommon(Strict):
    init_values: dict[str, Any] | None = Field(
        None,
        description="Parameters set by hand, by dotted name: {layers.0.weight: [[0.5, -1]], "
        'layers.0.bias: ["1/10"]}; fractions as strings. The rest keep their initialisation.',
    )

    @field_validator("init_values")
    @classmethod
    def _read_values(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {str(name): read_values(v, str(name)) for name, v in value.items()}


class NeuronConfig(ModelCommon):
    """The notes' single neuron N(x) = f(Wx + b)."""

    kind: Literal["neuron"] = Field("neuron", description="The notes' single neuron: one Linear and f.")
    # identity by default: the default loss for its data (bce_with_logits, mse) takes the raw Wx + b,
    # which is logistic or linear regression; sigmoid gives the notes' MSE neuron (configs/neuron.yaml)
    activation: ActivationName = Field("identity", description="f; sigmoid for the notes' MSE neuron.")
    init: InitName = Field("default", description="Weight initialisation.")


class MLPConfig(ModelCommon):
    """A multi-layer perceptron: Linear → [norm] → activation → [dropout] per hidden layer."""

    kind: Literal["mlp"] = Field("mlp", description="A multi-layer perceptron.")
    hidden_sizes: list[Size] = Field([16, 16], description="Width of each hidden layer.")
    activation: ActivationName = Field("tanh", description="Activation of the hidden layers.")
    output_activation: ActivationName = Field(
        "identity", description="Applied to the output (losses take logits)."
    )
    norm: NormName = Field("none", description="Normalisation per hidden layer.")
    dropout: Probability = Field(0.0, description="Dropout probability after each hidden activation.")
    init: InitName = Field("default", description="Weight initialisation.")


class TransformerConfig(ModelCommon):
    """A stack of transformer blocks over sequences (token or real-valued)."""

    kind: Literal["transformer"] = Field("transformer", description="A stack of transformer blocks.")
    d_model: Size = Field(64, description="Embedding width.")
    n_heads: Size = Field(4, description="Attention heads; d_model must be divisible by it.")
    n_layers: Size = Field(2, description="Number of transformer blocks.")
    ff_mult: Size = Field(4, description="Feed-forward width as a multiple of d_model.")
    activation: ActivationName = Field("gelu", description="Feed-forward activation.")
    dropout: Probability = Field(0.0, description="Dropout in attention and feed-forward.")
    norm_first: bool = Field(
        True, description="Pre-norm (GPT-2) if true, post-norm (original paper) if false."
    )
    causal: bool = Field(False, description="Mask attention to future positions.")
    positional: PositionalKind = Field("learned", description="Positional encoding.")
    pooling: PoolingName = Field(
        "auto", description="Per-position outputs (none) or pooled (mean/first); auto follows the data."
    )

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerConfig:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        return self


ModelConfig = Annotated[NeuronConfig | MLPConfig | TransformerConfig, Field(discriminator="kind")]

# ---------------------------------------------------------------------------------------------- loss


class MSEConfig(Strict):
    name: Literal["mse"] = named("mse", "Mean squared error, mean((ŷ − y)²)", "nn.MSELoss")


class HuberConfig(Strict):
    name: Literal["huber"] = named("huber", "Quadratic near 0, linear beyond delta", "nn.HuberLoss")
    delta: PositiveFloat = Field(1.0, description="Where the loss turns from quadratic to linear; > 0.")


class BCEConfig(Strict):
    name: Literal["bce_with_logits"] = named(
        "bce_with_logits", "Binary cross-entropy of a sigmoid", "nn.BCEWithLogitsLoss"
    )


class CrossEntropyConfig(Strict):
    name: Literal["cross_entropy"] = named(
        "cross_entropy", "Cross-entropy of a softmax over classes", "nn.CrossEntropyLoss"
    )


LossConfig = Annotated[MSEConfig | HuberConfig | BCEConfig | CrossEntropyConfig, Field(discriminator="name")]


class RegularizationConfig(Strict):
    """L1 (λ₁Σ|w|) and L2 (λ₂Σw²) added to the objective; both together is the elastic net."""

    l1: NonNegativeFloat = Field(0.0, description="L1 strength λ₁; ≥ 0.")
    l2: NonNegativeFloat = Field(0.0, description="L2 strength λ₂ (gradient 2λ₂w); ≥ 0.")
    l1_mode: L1Mode = Field(
        "subgradient", description="subgradient: add λ₁·sign(w); proximal: soft-threshold after each step."
    )
    apply_to: Literal["weights", "all"] = Field(
        "weights", description="Weight matrices only, or every parameter."
    )


# ---------------------------------------------------------------------------------------------- training


class EarlyStopping(Strict):
    patience: PositiveInt = Field(
        10,
        description="Evaluations without improvement before stopping (see training.eval_every).",
    )
    min_delta: NonNegativeFloat = Field(0.0, description="Smallest decrease of val_loss that counts.")


class TrainingConfig(Strict):
    epochs: PositiveInt | None = Field(None, description="Passes over the training set (or give steps).")
    steps: PositiveInt | None = Field(None, description="Optimizer steps (or give epochs).")
    batch_size: Annotated[int, Field(ge=0)] = Field(
        32,
        description="0, or ≥ the sample count: full batch. The last batch of an epoch takes the rest, even "
        "one sample; with batch_norm a last single sample joins the batch before.",
    )
    shuffle: bool = Field(True, description="Reshuffle the training set every epoch.")
    clip_grad_norm: PositiveFloat | None = Field(None, description="Clip gradients to this global L2 norm.")
    early_stopping: EarlyStopping | None = Field(None, description="Stop when val_loss stops improving.")
    log_every: PositiveInt = Field(10, description="Steps between rows of metrics.")
    eval_every: PositiveInt | None = Field(
        None,
        description="Steps between validations (default: once per epoch, or every log_every steps if an "
        "epoch is shorter; and at the end).",
    )
    checkpoint_every: PositiveInt | None = Field(
        None, description="Steps between checkpoints (default: at the end)."
    )
    threads: PositiveInt | None = Field(
        None,
        description="BLAS threads for this run (default: NNCLI_THREADS, else one for a small model and "
        "every core for a large one).",
    )
    restore_best: bool = Field(False, description="Early stopping ends on the lowest val_loss's weights.")

    @model_validator(mode="after")
    def _budget(self) -> TrainingConfig:
        if self.epochs is None and self.steps is None:
            raise ValueError("give training.epochs or training.steps")
        if self.epochs is not None and self.steps is not None:
            raise ValueError("give training.epochs or training.steps, not both (set the other to null)")
        if self.restore_best and self.early_stopping is None:
            raise ValueError("training.restore_best acts when early stopping ends a run; set early_stopping")
        return self


# ---------------------------------------------------------------------------------------------- the run


class RunConfig(Strict):
    """One training run: data, model, loss, regularization, optimizer, schedule and training loop."""

    name: str | None = Field(None, description="Run name (default: the config file's stem).")
    seed: NonNegativeInt = Field(0, description="Seeds data, initialisation, shuffling and dropout.")
    dtype: Literal["float32", "float64"] = Field("float64", description="Floating-point type of the engine.")
    data: DataConfig = Field(description="A bundled dataset generator, or a .csv/.npz file.")  # type: ignore[valid-type]
    model: ModelConfig = Field(
        default_factory=MLPConfig, description="The network: neuron, mlp or transformer."
    )
    loss: by_name(LossConfig) | None = Field(
        None, description="The loss, or just its name; default: cross_entropy or mse, from the data."
    )
    regularization: RegularizationConfig = Field(
        default_factory=RegularizationConfig, description="L1 and L2 penalties on the weights."
    )
    optimizer: by_name(OptimizerConfig) = Field(
        default_factory=AdamConfig, description="The optimizer, or just its name (with its defaults)."
    )
    schedule: by_name(ScheduleConfig) = Field(
        default_factory=ConstantSchedule, description="The learning-rate schedule, or just its name."
    )
    training: TrainingConfig = Field(description="The loop: epochs or steps, batches, logging, stopping.")
