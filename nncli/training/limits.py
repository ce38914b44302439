"""Refusals made before anything large is allocated: generated data or a model that would not fit in the
memory left, and data whose numbers leave the float range (generated with a huge noise, or a CSV column
too large to standardise). Each names the setting to change."""

from __future__ import annotations

import math

import numpy as np

from nncli.datasets import Dataset, generate
from nncli.errors import ConfigError, DataError, excerpt
from nncli.fileio import available_memory

FLOAT = 8  # bytes of a float64
DATA_COPIES = 4  # generation temporaries, the split, the standardised copy, the model's dtype copy
STATE_COPIES = 6  # parameters, gradients, two optimizer moments, init.npz and checkpoint buffers


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def _refuse_if(need: float, what: str, fix: str, error=ConfigError) -> None:
    left = available_memory()
    if need > left:
        raise error(f"{what} would need about {_gib(need)} of memory, {_gib(left)} is left; {fix}")


def generator_params(data) -> dict:
    """A generated data section's own parameters, as the generator takes them."""
    return data.model_dump(exclude={"dataset", "samples", "noise", "validation", "standardize"})


def check_generated_size(config) -> None:
    """Draw two samples first and refuse a sample count whose data would not fit in memory."""
    data = config.data
    trial = generate(data.dataset, samples=2, noise=data.noise, seed=config.seed, **generator_params(data))
    per_sample = FLOAT * (trial.X[0].size + trial.y[0].size)
    _refuse_if(
        per_sample * data.samples * DATA_COPIES,
        f"data.samples: {data.samples:,} samples of {data.dataset}",
        "use fewer samples",
    )


def check_finite_data(dataset: Dataset, config) -> None:
    """Generated data that overflowed (noise: 1e308) is a setting out of range, not a divergence."""
    for name, array in (("inputs", dataset.X), ("targets", dataset.y)):
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            data = config.data
            raise ConfigError(
                f"data: the generated {data.dataset} {name} hold infinite or NaN values; a setting is too "
                f"large for float64 (noise: {data.noise:g}, {excerpt(generator_params(data))})"
            )


def check_model_size(config, dataset: Dataset, out_features: int) -> None:
    """Estimate the parameters and the activations of one batch (or of the validation set, which is
    evaluated at once) and refuse a model that would not fit in memory."""
    mc, n = config.model, dataset.X.shape[0]
    batch = max(config.training.batch_size or n, n // 4) if n else 1
    if mc.kind == "transformer":
        d, m, layers, heads, T = mc.d_model, mc.ff_mult, mc.n_layers, mc.n_heads, dataset.X.shape[1]
        inputs = dataset.vocab_size or dataset.X.shape[-1]
        params = (inputs + T) * d + layers * (4 * d * d + 2 * m * d * d + 10 * d) + d * out_features
        activations = batch * layers * (3 * heads * T * T + T * d * (10 + 2 * m))
    else:
        widths = [dataset.X.shape[1], *getattr(mc, "hidden_sizes", []), out_features]
        params = sum(a * b + b for a, b in zip(widths, widths[1:]))
        activations = batch * 4 * sum(widths)
    need = FLOAT * (STATE_COPIES * params + activations)
    _refuse_if(need, f"model: {params:,} parameters and their activations", "use smaller model sizes")


def check_magnitudes(data, dtype: np.dtype, source: str) -> None:
    """Inputs the model sees unscaled, and regression targets, must stay below the square root of the
    dtype's largest number: beyond it every loss and activation overflows, which would read as a
    divergence ("try a lower learning rate") when the data is at fault."""
    bound = math.sqrt(float(np.finfo(dtype).max))
    train = data.train
    arrays = [("targets", train.y)] if train.task == "regression" else []
    arrays += [("inputs", train.X)] if data.standardizer is None and train.X.dtype.kind == "f" else []
    for what, array in arrays:
        largest = float(np.max(np.abs(array))) if array.size else 0.0
        if largest > bound:
            raise DataError(
                f"{source}: {what} reach {largest:.3g}; in {dtype} nncli trains on values below {bound:.1e} "
                "(their squares overflow beyond); rescale them"
            )


def check_standardizable(dataset: Dataset, mean: np.ndarray, std: np.ndarray, source: str) -> None:
    """A column whose spread overflows float64 (values near ±1e300) would be silently zeroed."""
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if np.any(bad):
        column = int(np.flatnonzero(bad)[0])
        names = dataset.feature_names
        name = f"'{excerpt(names[column])}'" if column < len(names) else str(column)
        largest = float(np.max(np.abs(dataset.X.reshape(-1, bad.size)[:, column])))
        raise DataError(
            f"{source}: column {name} holds values up to {largest:.3g}, too large to standardise in float64 "
            f"(its variance overflows); rescale it below {math.sqrt(np.finfo(np.float64).max):.0e}"
        )
