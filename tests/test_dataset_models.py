"""Every bundled dataset trains with every model kind that fits it, through the real config path
(`build_run`), and every sample of the training set is trained on each epoch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nncli.config.loading import validate
from nncli.datasets import DATASETS
from nncli.engine.models import MODELS
from nncli.errors import ConfigError
from nncli.training.build import build_run


def _fits(dataset: str, kind: str) -> str | None:
    """The loss a (dataset, model kind) pair trains with, or None when the kind cannot take the data."""
    spec = DATASETS.get(dataset)
    if (kind == "transformer") != (spec.kind == "sequence"):
        return None
    if kind == "neuron":  # one output: a regression, or two classes as one logit
        if spec.task == "regression":
            return "mse"
        return "bce_with_logits" if dataset in ("xor", "circles", "moons") else None
    return "mse" if spec.task == "regression" else "cross_entropy"


PAIRS = [(d, k) for d in DATASETS.names() for k in MODELS.names()]
FITTING = [(d, k) for d, k in PAIRS if _fits(d, k)]


def _config(dataset: str, kind: str, loss: str | None) -> dict:
    model = {"kind": kind}
    if kind == "transformer":
        model.update(d_model=8, n_heads=2, n_layers=1)
    return {
        "seed": 1,
        "data": {"dataset": dataset, "samples": 24},
        "model": model,
        **({"loss": loss} if loss else {}),
        "optimizer": {"name": "adam", "lr": 0.01},
        "training": {"steps": 3, "batch_size": 8, "log_every": 1},
    }


def test_every_model_kind_fits_some_dataset():
    assert {k for _, k in FITTING} == set(MODELS.names())
    assert {d for d, _ in FITTING} == set(DATASETS.names())


@pytest.mark.parametrize(("dataset", "kind"), FITTING, ids=[f"{d}-{k}" for d, k in FITTING])
def test_every_dataset_trains_with_every_model_kind_that_fits(dataset, kind):
    run = build_run(validate(_config(dataset, kind, _fits(dataset, kind))))
    before = run.params.data.copy()
    run.trainer.run()
    assert run.trainer.status == "completed" and run.trainer.state.step == 3
    assert all(math.isfinite(row["train_loss"]) for row in run.trainer.state.history)
    assert not np.array_equal(run.params.data, before)


MISFITS = [(d, k) for d, k in PAIRS if k != "neuron" and not _fits(d, k)]


@pytest.mark.parametrize(("dataset", "kind"), MISFITS, ids=[f"{d}-{k}" for d, k in MISFITS])
def test_a_model_kind_that_cannot_take_the_data_is_a_config_error(dataset, kind):
    with pytest.raises(ConfigError, match="model.kind: .* needs (sequence|tabular) data"):
        build_run(validate(_config(dataset, kind, None)))


def _seen_per_epoch(samples: int, batch_size: int, norm: str) -> list[list[int]]:
    """The sample indices of each step of the first two epochs, unshuffled."""
    config = _config("moons", "mlp", None)
    config["data"].update(samples=samples, validation=0.0)
    config["model"].update(hidden_sizes=[4], norm=norm)
    config["training"] = {"epochs": 2, "batch_size": batch_size, "shuffle": False}
    trainer = build_run(validate(config)).trainer
    total = trainer.settings.total_steps
    steps = [np.arange(samples)[trainer.batch_indices(s)].tolist() for s in range(total)]
    return [steps[: len(steps) // 2], steps[len(steps) // 2 :]]


def test_a_last_batch_of_one_sample_is_trained_on():
    epochs = _seen_per_epoch(9, 4, "none")  # 4 + 4 + 1, as torch's DataLoader(drop_last=False)
    assert epochs[0] == epochs[1] == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]


def test_with_batch_norm_a_last_sample_joins_the_batch_before():
    epochs = _seen_per_epoch(9, 4, "batch_norm")
    assert epochs[0] == epochs[1] == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]
    assert _seen_per_epoch(10, 4, "batch_norm")[0] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
