"""`nncli init`: a commented starter config that validates and trains, each line explained by the schema's
own description of the field, so the comments say what the reference page says."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

from nncli.config.loading import validate
from nncli.datasets import DATASETS
from nncli.errors import ConfigError, did_you_mean

# model → (its dataset, extra data settings for that dataset, the rest of the config)
STARTERS: dict[str, tuple[str, dict, dict]] = {
    "neuron": (
        "gaussian_blobs",
        {"samples": 400, "centers": 2, "std": 0.6},
        {
            "model": {"kind": "neuron", "activation": "sigmoid"},
            "loss": "mse",
            "optimizer": {"name": "sgd", "lr": 0.5},
            "training": {"epochs": 40, "batch_size": 16, "log_every": 50},
        },
    ),
    "mlp": (
        "spirals",
        {"samples": 900, "noise": 0.02},
        {
            "model": {"kind": "mlp", "hidden_sizes": [32, 32], "activation": "tanh"},
            "optimizer": {"name": "adam", "lr": 0.02},
            "schedule": "cosine",
            "training": {"epochs": 150, "batch_size": 64, "log_every": 100},
        },
    ),
    "transformer": (
        "reverse",
        {"samples": 2000, "seq_len": 8, "vocab": 10},
        {
            "dtype": "float32",
            "model": {"kind": "transformer", "d_model": 32, "n_heads": 4, "n_layers": 2},
            "optimizer": {"name": "adam", "lr": 0.003},
            "schedule": "cosine",
            "training": {"epochs": 20, "batch_size": 64, "log_every": 100},
        },
    ),
}
SCHEMA_LINE = "# yaml-language-server: $schema=nncli.schema.json"


def starter_config(model: str = "mlp", dataset: str | None = None) -> str:
    """The text of a starter config for `model` (neuron | mlp | transformer) on `dataset`."""
    if model not in STARTERS:
        choices = ", ".join(STARTERS)
        raise ConfigError(
            f"--model: unknown model '{model}'{did_you_mean(model, list(STARTERS))}; choose {choices}"
        )
    default_dataset, extra, rest = STARTERS[model]
    name = dataset or default_dataset
    spec = DATASETS.get(name)
    wanted = "sequence" if model == "transformer" else "tabular"
    if spec.kind != wanted:
        fits = [n for n in DATASETS.names() if DATASETS.get(n).kind == wanted]
        raise ConfigError(
            f"--dataset: a {model} trains on {wanted} data ({', '.join(fits)}); '{name}' is {spec.kind}"
        )
    data = {"dataset": name, **(extra if name == default_dataset else {})}
    if name != default_dataset:
        rest = {k: v for k, v in rest.items() if k != "loss"}  # the default loss follows the data
    raw = {"seed": 0, **{k: v for k, v in rest.items() if k == "dtype"}, "data": data}
    raw |= {k: v for k, v in rest.items() if k != "dtype"}
    config = validate(raw, "nncli init")
    header = [
        SCHEMA_LINE,
        f"# A starter config: model {model}, dataset {name}.",
        "# Train it with `nncli train FILE`; every field: docs/config.md or `nncli config reference`.",
        "# For autocompletion in editors: `nncli config schema -o nncli.schema.json` beside this file.",
    ]
    text = "\n".join(header + _lines(raw, config)) + "\n"
    validate(yaml.safe_load(text), "nncli init")  # what is written is what was checked
    return text


def _lines(raw: dict, config: BaseModel) -> list[str]:
    """`key: value  # description` per entry, sections indented, the comments in one column."""
    rows = _rows(raw, config, type(config), "")
    width = max(len(code) for code, _ in rows) + 2
    return [f"{code.ljust(width)}# {note}" if note else code for code, note in rows]


def _rows(raw: dict, config: BaseModel, model: type[BaseModel], indent: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in raw.items():
        note = model.model_fields[key].description or ""
        if isinstance(value, dict):
            section = getattr(config, key)
            rows.append((f"{indent}{key}:", note))
            rows += _rows(value, section, type(section), indent + "  ")
        else:
            rows.append((f"{indent}{key}: {_flow(value)}", note))
    return rows


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()
