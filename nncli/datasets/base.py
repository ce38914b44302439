"""The `Dataset` a trainer consumes, the registry of generators, and `generate` / `train_val_split`.

A generator is a function `fn(*, samples, noise, rng, **own_params) -> Dataset` registered with
`@register_dataset(name, task=..., kind=...)`. Its own parameters are keyword-only, annotated and defaulted,
so a config model can be built from its signature. It draws only from the `rng` it is given: the same seed
gives bit-identical data.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncli.errors import DataError
from nncli.registry import Registry

TASKS = ("classification", "regression")
KINDS = ("tabular", "sequence")
# every generator takes these; the rest of its signature is its own parameters
COMMON_PARAMS = ("samples", "noise", "rng")
NOISE_DOCS = {  # what `noise` means, by kind
    "tabular": "Std of Gaussian noise added to the inputs (classification) or the target (regression); ≥ 0.",
    "sequence": "Probability that a label is replaced by another class (sum: the target noise's std); ≥ 0.",
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs and targets with what a model builder needs to know about them.

    Shapes: X is (n, features) float64 for tabular data, (n, seq_len) int64 tokens in 0..vocab_size-1, or
    (n, seq_len, features) float64 for real-valued sequences. y is (n,) int64 labels 0..n_classes-1 or
    (n, seq_len) int64 per-position labels for classification, and (n,) or (n, k) float64 for regression.
    """

    X: np.ndarray
    y: np.ndarray
    task: str  # "classification" | "regression"
    name: str
    n_classes: int | None = None  # classification only
    vocab_size: int | None = None  # token sequences only
    feature_names: tuple[str, ...] = ()  # tabular columns, used when writing CSV
    target_name: str = "y"
    classes: tuple[str | int | float, ...] | None = None  # original label of each class 0..k-1, if named
    task_reason: str = ""  # why the task is what it is (for a file: what its target looked like)
    delimiter: str | None = None  # the delimiter a CSV file was read with

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} samples but y has {len(self.y)}")
        if (self.task == "classification") != (self.n_classes is not None):
            raise ValueError("n_classes is set exactly when the task is classification")
        if self.classes is not None and len(self.classes) != self.n_classes:
            raise ValueError(f"{len(self.classes)} class names for {self.n_classes} classes")

    @property
    def class_names(self) -> tuple[str | int | float, ...] | None:
        """The original label of each class (0..k-1 where the labels were those); None for regression."""
        if self.n_classes is None:
            return None
        return self.classes if self.classes is not None else tuple(range(self.n_classes))

    @property
    def n_samples(self) -> int:
        return len(self.X)

    @property
    def is_sequence(self) -> bool:
        return self.vocab_size is not None or self.X.ndim == 3

    @property
    def seq_len(self) -> int | None:
        return self.X.shape[1] if self.is_sequence else None

    @property
    def in_features(self) -> int:
        """Width of one input row: features per sample (tabular) or per position; vocab_size for tokens."""
        return self.vocab_size if self.vocab_size is not None else self.X.shape[-1]

    @property
    def out_features(self) -> int:
        """Width of the model output: n_classes for classification, else the number of regression targets."""
        if self.n_classes is not None:
            return self.n_classes
        return 1 if self.y.ndim == 1 else self.y.shape[1]

    @property
    def per_position(self) -> bool:
        """True for sequence tasks with one target per position (copy, reverse, sort)."""
        return self.is_sequence and self.y.ndim == 2

    def take(self, index: np.ndarray) -> Dataset:
        """The samples at `index` (an integer or boolean array), keeping every other field."""
        return dataclasses.replace(self, X=self.X[index], y=self.y[index])

    def __repr__(self) -> str:
        extra = f", n_classes={self.n_classes}" if self.n_classes is not None else ""
        extra += f", vocab_size={self.vocab_size}" if self.vocab_size is not None else ""
        return f"Dataset({self.name!r}, {self.task}, X{self.X.shape}, y{self.y.shape}{extra})"


@dataclass(frozen=True)
class DatasetSpec:
    """A registered generator: its name, task, kind ('tabular' | 'sequence') and one-line description."""

    name: str
    task: str
    kind: str
    fn: Callable[..., Dataset]
    description: str
    param_docs: dict[str, str] = field(default_factory=dict)  # own parameter → one line: meaning, range

    def params(self) -> dict[str, tuple[Any, Any]]:
        """The generator's own parameters: name → (annotation, default), in signature order."""
        hints = typing.get_type_hints(self.fn)
        return {
            name: (hints[name], p.default)
            for name, p in inspect.signature(self.fn).parameters.items()
            if name not in COMMON_PARAMS
        }


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(
    name: str, *, task: str, kind: str, description: str | None = None, params: dict[str, str] | None = None
) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Register a generator under `name`; the description defaults to its docstring's first line, and
    `params` says what each of its own parameters means and its range (the config schema shows them)."""
    if task not in TASKS or kind not in KINDS:
        raise ValueError(f"dataset '{name}': task must be one of {TASKS} and kind one of {KINDS}")

    def add(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        _check_signature(name, fn, params or {})
        text = description or (fn.__doc__ or "").strip().splitlines()[0]
        DATASETS.register(name)(DatasetSpec(name, task, kind, fn, text, dict(params or {})))
        return fn

    return add


def _check_signature(name: str, fn: Callable[..., Dataset], docs: dict[str, str]) -> None:
    """Every parameter keyword-only, and each of the generator's own annotated, defaulted and described."""
    for p in inspect.signature(fn).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(f"dataset '{name}': parameter '{p.name}' must be keyword-only")
        own = p.name not in COMMON_PARAMS
        if own and (p.annotation is inspect.Parameter.empty or p.default is inspect.Parameter.empty):
            raise TypeError(f"dataset '{name}': parameter '{p.name}' needs a type annotation and a default")
        if own and not docs.get(p.name):
            raise TypeError(f"dataset '{name}': parameter '{p.name}' needs a description in params=")


def generate(name: str, *, samples: int, noise: float = 0.0, seed: int = 0, **params: Any) -> Dataset:
    """Draw `samples` examples of the registered dataset `name` from `np.random.default_rng(seed)`."""
    spec = DATASETS.get(name)
    unknown = sorted(set(params) - set(spec.params()))
    if unknown:
        allowed = ", ".join(spec.params()) or "none"
        raise DataError(f"dataset '{name}' has no parameter {', '.join(unknown)}; its parameters: {allowed}")
    if samples < 1:
        raise DataError(f"dataset '{name}': samples must be at least 1, got {samples}")
    if not noise >= 0:  # also refuses NaN
        raise DataError(f"dataset '{name}': noise must be non-negative, got {noise}")
    with np.errstate(over="ignore", invalid="ignore"):  # the caller refuses values that overflowed
        return spec.fn(samples=samples, noise=noise, rng=np.random.default_rng(seed), **params)


def require(condition: bool, dataset: str, message: str) -> None:
    """Raise DataError naming the dataset when a generator's parameter is out of range."""
    if not condition:
        raise DataError(f"dataset '{dataset}': {message}")


def train_val_split(
    dataset: Dataset, validation: float, rng: np.random.Generator
) -> tuple[Dataset, Dataset | None]:
    """Hold out round(validation · n) samples, chosen by a permutation from `rng`; (dataset, None) for 0.

    Each part keeps the original order of its samples.
    """
    if not 0.0 <= validation < 1.0:
        raise DataError(f"validation fraction must be in [0, 1), got {validation}")
    if validation == 0.0:
        return dataset, None
    n = dataset.n_samples
    n_val = max(1, round(validation * n))
    if n - n_val < 1:
        raise DataError(
            f"{dataset.name}: {n} samples are too few to hold out a fraction {validation} for validation"
        )
    perm = rng.permutation(n)
    return dataset.take(np.sort(perm[n_val:])), dataset.take(np.sort(perm[:n_val]))
