"""One builder from a validated `RunConfig` to engine objects: data, model, loss, optimizer, schedule,
regularizers and the trainer. Nothing past this point sees pydantic."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from nncli.config.schema import FileData, RunConfig
from nncli.datasets import Dataset, generate, load_file, load_like, train_val_split
from nncli.engine import metrics
from nncli.engine.layers import Linear
from nncli.engine.losses import LOSSES
from nncli.engine.models import MODELS
from nncli.engine.module import Module
from nncli.engine.optimizers import OPTIMIZERS
from nncli.engine.parameters import ParameterBuffer
from nncli.engine.regularizers import L1, REGULARIZERS
from nncli.engine.schedules import SCHEDULES
from nncli.errors import ConfigError, UnknownNameError, excerpt
from nncli.training import limits
from nncli.training.trainer import LoopSettings, Trainer, steps_per_epoch

# Independent streams from one seed: data, parameter init (then dropout), batch order.
DATA_STREAM, MODEL_STREAM, SHUFFLE_STREAM = 0, 1, 2


@dataclass
class Standardizer:
    """x ← (x − mean)/std with training-set statistics, kept so predictions on new data match."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 0, std, 1.0))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.std


@dataclass
class Data:
    """Training and validation data after the split, and the standardisation the model's inputs get."""

    train: Dataset
    val: Dataset | None
    standardizer: Standardizer | None

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the training and validation arrays (shapes, number types, values); a checkpoint
        keeps it so a resume on data that changed is refused."""
        digest = hashlib.sha256()
        for part in (self.train, self.val):
            for array in (part.X, part.y) if part is not None else ():
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The input columns, in the order the model takes them (empty for sequences)."""
        return () if self.train.is_sequence else self.train.feature_names

    @property
    def class_names(self) -> tuple[str | int | float, ...] | None:
        """The original label of each class 0..k-1; None for regression."""
        return self.train.class_names

    def info(self) -> dict:
        """What `data.json` records: the task and why, and the names of the inputs, target and classes."""
        train = self.train
        return {
            "task": train.task,
            "task_reason": train.task_reason,
            "target": train.target_name,
            "features": list(self.feature_names),
            "classes": list(self.class_names) if self.class_names is not None else None,
            "delimiter": train.delimiter,
        }


@dataclass
class Run:
    """Everything a training run is made of."""

    config: RunConfig
    data: Data
    model: Module
    params: ParameterBuffer
    trainer: Trainer
    model_rng: np.random.Generator
    loss_name: str


def load_dataset(config: RunConfig) -> Dataset:
    data = config.data
    if isinstance(data, FileData):
        return load_file(
            data.path,
            target=data.target,
            task=data.task,
            features=data.features,
            drop=data.drop,
            delimiter=data.delimiter,
        )
    limits.check_generated_size(config)
    params = limits.generator_params(data)
    dataset = generate(data.dataset, samples=data.samples, noise=data.noise, seed=config.seed, **params)
    limits.check_finite_data(dataset, config)
    return dataclasses.replace(dataset, task_reason=f"dataset '{data.dataset}' is a {dataset.task} task")


def build_data(config: RunConfig, dataset: Dataset | None = None) -> Data:
    dataset = dataset if dataset is not None else load_dataset(config)
    rng = np.random.default_rng([config.seed, DATA_STREAM])
    validation_path = getattr(config.data, "validation_path", None)
    if validation_path is not None:
        train, val = dataset, load_like(validation_path, dataset)
    elif config.data.validation > 0:
        train, val = train_val_split(dataset, config.data.validation, rng)
    else:
        train, val = dataset, None
    standardizer = None
    if config.data.standardize and np.issubdtype(train.X.dtype, np.floating):
        with np.errstate(over="ignore", invalid="ignore"):
            standardizer = Standardizer.fit(train.X.reshape(-1, train.X.shape[-1]))
        limits.check_standardizable(train, standardizer.mean, standardizer.std, data_source(config))
    return Data(train, val, standardizer)


def data_source(config: RunConfig) -> str:
    """The data as a message names it: the file, or the bundled dataset."""
    return excerpt(getattr(config.data, "path", None) or f"data.dataset {config.data.dataset}", 200)


def model_inputs(data: Data, X: np.ndarray, dtype) -> np.ndarray:
    """The array the model takes: standardised and in the engine's dtype (token ids stay integers)."""
    if not np.issubdtype(X.dtype, np.floating):
        return X.astype(np.int64, copy=False)
    if data.standardizer is not None:
        X = data.standardizer(X)
    return np.ascontiguousarray(X, dtype=dtype)


def choose_loss(config: RunConfig, dataset: Dataset) -> str:
    """The config's loss, or the one the data asks for; refuses a loss that does not fit the data."""
    name = config.loss.name if config.loss is not None else None
    if name is None:
        return "cross_entropy" if dataset.task == "classification" else "mse"
    if dataset.task == "regression" and LOSSES.get(name).task == "classification":
        raise ConfigError(
            f"loss.name: '{name}' needs class labels, but dataset '{dataset.name}' is a regression task"
        )
    if name == "bce_with_logits" or (
        dataset.task == "classification" and LOSSES.get(name).task == "regression"
    ):
        if dataset.n_classes != 2:
            raise ConfigError(
                f"loss.name: '{name}' needs two classes (one output), dataset '{dataset.name}' has "
                f"{dataset.n_classes}; use cross_entropy"
            )
    return name


def output_features(dataset: Dataset, loss_name: str) -> int:
    if loss_name == "cross_entropy":
        return int(dataset.n_classes)
    if dataset.task == "regression" and dataset.y.ndim == 2 and not dataset.is_sequence:
        return dataset.y.shape[1]
    return 1


def loss_targets(y: np.ndarray, loss_name: str, dtype) -> np.ndarray:
    return y.astype(np.int64) if loss_name == "cross_entropy" else y.astype(dtype)


def build_model(config: RunConfig, dataset: Dataset, loss_name: str, rng: np.random.Generator) -> Module:
    mc = config.model
    kwargs = mc.model_dump(exclude={"kind", "init_values"})
    dtype = np.dtype(config.dtype)
    out = output_features(dataset, loss_name)
    if mc.kind == "transformer":
        if not dataset.is_sequence:
            raise ConfigError(f"model.kind: transformer needs sequence data; '{dataset.name}' is tabular")
        if kwargs["pooling"] == "auto":
            kwargs["pooling"] = "none" if dataset.y.ndim == 2 else "mean"
        kwargs.update(
            vocab_size=dataset.vocab_size,
            in_features=None if dataset.vocab_size else dataset.X.shape[-1],
            seq_len=dataset.X.shape[1],
        )
    else:
        if dataset.is_sequence:
            raise ConfigError(
                f"model.kind: {mc.kind} needs tabular data; '{dataset.name}' is a sequence task"
            )
        kwargs["in_features"] = dataset.X.shape[1]
        if mc.kind == "neuron" and out != 1:
            raise ConfigError(
                f"model.kind: a neuron has one output; dataset '{dataset.name}' needs {out} with {loss_name}"
            )
    return MODELS.get(mc.kind)(out_features=out, rng=rng, dtype=dtype, **kwargs)


def set_values(params: ParameterBuffer, values: dict[str, list]) -> None:
    """`model.init_values`: the named parameters set by hand; names and shapes checked against the model."""
    for name, value in values.items():
        where = f"model.init_values.{name}"
        if name not in params.params:
            raise ConfigError(f"{where}: {UnknownNameError('parameter', name, params.names)}")
        array = np.asarray(value, dtype=params.dtype)
        shape = params.params[name].shape
        if array.shape != shape:
            raise ConfigError(f"{where}: has shape {array.shape}; the model's {name} has shape {shape}")
    for name, value in values.items():
        params.params[name].data[...] = value


def skip_data_gradient(model: Module) -> None:
    """The first layer's input is data, which needs no gradient: skip dx = g·W there, as PyTorch does
    for inputs that do not require grad (14% of a large MLP's matmul work)."""
    first = model.layers[0] if hasattr(model, "layers") else getattr(model, "embed", None)
    if isinstance(first, Linear):
        first.needs_input_grad = False


def loop_settings(config: RunConfig, n_train: int) -> LoopSettings:
    t = config.training
    batch = n_train if t.batch_size == 0 or t.batch_size >= n_train else t.batch_size
    fold = getattr(config.model, "norm", None) == "batch_norm"  # batch statistics need two samples
    total = t.steps if t.steps is not None else t.epochs * steps_per_epoch(n_train, batch, fold)
    return LoopSettings(
        total_steps=total,
        batch_size=batch,
        fold_single=fold,
        shuffle=t.shuffle and batch < n_train,
        shuffle_seed=hash_seed(config.seed, SHUFFLE_STREAM),
        clip_grad_norm=t.clip_grad_norm,
        patience=t.early_stopping.patience if t.early_stopping else None,
        min_delta=t.early_stopping.min_delta if t.early_stopping else 0.0,
        log_every=t.log_every,
        eval_every=t.eval_every,
        checkpoint_every=t.checkpoint_every,
        threads=t.threads,
        restore_best=t.restore_best,
    )


def hash_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def build_optimizer(config: RunConfig, params: ParameterBuffer):
    oc = config.optimizer
    return OPTIMIZERS.get(oc.name)(params, **oc.model_dump(exclude={"name"}))


def build_schedule(config: RunConfig, total_steps: int):
    sc = config.schedule
    kwargs = sc.model_dump(exclude={"name"})
    if sc.name == "cosine" and kwargs["T_max"] is None:
        kwargs["T_max"] = total_steps
    return SCHEDULES.get(sc.name)(config.optimizer.lr, **kwargs)


def class_threshold(loss_name: str) -> float:
    """Where a single output splits class 0 from class 1: 0.5 for outputs trained toward 0/1 targets
    with MSE or Huber, 0 for logits (bce_with_logits). Several outputs take the argmax instead."""
    return 0.5 if loss_name in ("mse", "huber") else 0.0


def build_metric(dataset: Dataset, loss_name: str) -> tuple:
    if dataset.task == "regression":
        return metrics.r2_score, "r2"
    threshold = class_threshold(loss_name)
    return (lambda pred, y: metrics.accuracy(pred, y, threshold=threshold)), "accuracy"


def build_run(config: RunConfig, dataset: Dataset | None = None) -> Run:
    """Make every object a training run needs, in a fixed order so the same seed gives the same run."""
    data = build_data(config, dataset)
    train, val = data.train, data.val
    dtype = np.dtype(config.dtype)
    loss_name = choose_loss(config, train)
    loss_kwargs = config.loss.model_dump(exclude={"name"}) if config.loss is not None else {}
    loss = LOSSES.get(loss_name)(**loss_kwargs)
    model_rng = np.random.default_rng([config.seed, MODEL_STREAM])
    limits.check_magnitudes(data, dtype, data_source(config))
    limits.check_model_size(config, train, output_features(train, loss_name))
    model = build_model(config, train, loss_name, model_rng)
    params = ParameterBuffer(model.named_parameters())
    if config.model.init_values:
        set_values(params, config.model.init_values)
    skip_data_gradient(model)
    settings = loop_settings(config, train.X.shape[0])
    if getattr(config.model, "norm", None) == "batch_norm" and settings.batch_size < 2:
        raise ConfigError(
            f"training.batch_size: batch_norm needs at least 2 samples per batch, got {settings.batch_size}"
        )
    optimizer = build_optimizer(config, params)
    schedule = build_schedule(config, settings.total_steps)
    reg = config.regularization
    # proximal L1 is a step after the update, not a gradient term
    proximal = L1(reg.l1) if reg.l1 > 0 and reg.l1_mode == "proximal" else None
    strengths = {"l1": 0.0 if proximal else reg.l1, "l2": reg.l2}
    regularizers = [REGULARIZERS.get(name)(s) for name, s in strengths.items() if s > 0]
    metric, metric_name = build_metric(train, loss_name)
    trainer = Trainer(
        model=model,
        params=params,
        loss=loss,
        optimizer=optimizer,
        schedule=schedule,
        settings=settings,
        X=model_inputs(data, train.X, dtype),
        y=loss_targets(train.y, loss_name, dtype),
        X_val=model_inputs(data, val.X, dtype) if val is not None else None,
        y_val=loss_targets(val.y, loss_name, dtype) if val is not None else None,
        metric=metric,
        metric_name=metric_name,
        regularizers=regularizers,
        proximal_l1=proximal,
        reg_slice=slice(0, params.n_decay) if reg.apply_to == "weights" else slice(None),
    )
    return Run(config, data, model, params, trainer, model_rng, loss_name)


def count_sparse(params: ParameterBuffer, relative: float = 1e-3) -> dict[str, int]:
    """How many weights (the decayed slice) are exactly zero, and how many below `relative`·max|w|."""
    w = params.data[: params.n_decay]
    if w.size == 0:
        return {"weights": 0, "exact_zero": 0, "near_zero": 0}
    largest = float(np.max(np.abs(w)))
    return {
        "weights": int(w.size),
        "exact_zero": int(np.sum(w == 0)),
        "near_zero": int(np.sum(np.abs(w) < relative * largest)) if largest > 0 else int(w.size),
    }
