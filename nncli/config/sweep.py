"""Sweep specs: which config keys to vary and how, validated like configs (field path, line, exit 2).

A spec comes from a YAML file (`nncli sweep CONFIG --spec sweep.yaml`) or from the command line
(`--grid optimizer.lr=0.003,0.01 --random optimizer.lr=loguniform(1e-4,1e-1) --samples 8`):

    grid:                       # every combination of these values
      optimizer.lr: [0.003, 0.01, 0.03]
      model.hidden_sizes: [[16], [32, 32]]
    random:                     # `samples` draws from these distributions, with each grid point
      model.dropout: uniform(0, 0.3)
    samples: 4
    seeds: 2                    # every trial repeated with config seeds seed, seed+1, ...
    metric: best_val_loss       # a summary field that ranks the trials
    mode: min

Keys are the config's dotted paths (as for `--set`); the values a key may take are checked against the
config schema by `nncli.compare.sweep`, before any trial runs. Also here: the optimizer-only model that
compare-optimizers validates its presets with.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator

from nncli.config.loading import _read_yaml, format_validation_error, read_config_text
from nncli.config.schema import OptimizerConfig
from nncli.errors import ConfigError

# Summary fields a sweep can rank by (see nncli.rundir.directory.build_summary); "loss" ones are minimised.
METRICS = (
    "best_val_loss",
    "final_val_loss",
    "final_train_loss",
    "best_val_metric",
    "final_val_metric",
)
DISTRIBUTIONS = ("choice", "uniform", "loguniform", "int")


class _OptimizerOnly(BaseModel):
    model_config = ConfigDict(extra="forbid")
    optimizer: OptimizerConfig


def validate_optimizer(section: dict, source: str) -> dict:
    """The section with every default filled in, or a ConfigError saying `source: optimizer.lr: ...`."""
    raw = {"optimizer": section}
    try:
        return _OptimizerOnly.model_validate(raw).optimizer.model_dump(mode="json")
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, {}, raw)) from None


class Distribution(BaseModel):
    """`choice(a, b, ...)`, `uniform(a, b)`, `loguniform(a, b)` (log-uniform, 0 < a < b) or `int(a, b)`
    (an integer from a to b inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["choice", "uniform", "loguniform", "int"]
    args: tuple[Any, ...]

    def text(self) -> str:
        return f"{self.kind}({', '.join(map(str, self.args))})"


def parse_distribution(text: Any) -> Distribution:
    """'loguniform(1e-4, 1e-1)' → Distribution('loguniform', (0.0001, 0.1)); ValueError says what is wrong."""
    if isinstance(text, Distribution):
        return text
    if not isinstance(text, str):
        raise ValueError(f"expected a distribution such as uniform(0, 1), got {text!r}")
    name, sep, rest = text.strip().partition("(")
    name = name.strip()
    if not sep or not rest.endswith(")"):
        forms = " | ".join(d + "(...)" for d in DISTRIBUTIONS)
        raise ValueError(f"'{text}' is not a distribution; write {forms}")
    if name not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution '{name}'; choose from: {', '.join(DISTRIBUTIONS)}")
    args = tuple(parse_value(item, f"{name}(...)") for item in split_top_level(rest[:-1]))
    if name == "choice":
        if not args:
            raise ValueError("choice(...) needs at least one value")
        return Distribution(kind="choice", args=args)
    if len(args) != 2:
        raise ValueError(f"{name}(a, b) takes two numbers, got {len(args)}")
    a, b = args
    if name == "int":
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in args) or a > b:
            raise ValueError(f"int(a, b) needs integers a ≤ b, got int({a}, {b})")
    else:
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in args):
            raise ValueError(f"{name}(a, b) needs two finite numbers, got {text.strip()}")
        if not a < b:
            raise ValueError(f"{name}(a, b) needs a < b, got {name}({a}, {b})")
        if name == "loguniform" and a <= 0:
            raise ValueError(f"loguniform(a, b) needs 0 < a, got loguniform({a}, {b})")
        args = (float(a), float(b))
    return Distribution(kind=name, args=args)


def split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes: '[16],[32, 32]' → ['[16]', '[32, 32]']."""
    items, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()] if text.strip() else []


def parse_value(text: str, source: str) -> Any:
    """One value read as YAML, as `--set` reads it: '0.01' → 0.01, '[32, 32]' → [32, 32]; also '1e-4',
    which YAML 1.1 leaves a string, is the number 0.0001."""
    value, _ = _read_yaml(text, source)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


class SweepSpec(BaseModel):
    """What a sweep varies, how many trials it draws and how it ranks them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict, description="key → the values to try (at least one)."
    )
    random: dict[str, Distribution] = Field(default_factory=dict, description="key → a distribution.")
    samples: PositiveInt = Field(1, description="Random draws per grid point (with `random`).")
    seeds: PositiveInt = Field(1, description="Repeat every trial with seeds seed, seed+1, ...")
    sweep_seed: int = Field(0, description="Seeds the random draws: the same seed, the same trials.")
    metric: Literal[METRICS] | None = Field(None, description="Summary field that ranks the trials.")  # type: ignore[valid-type]
    mode: Literal["min", "max"] | None = Field(None, description="min or max (default: from the metric).")

    @field_validator("random", mode="before")
    @classmethod
    def _parse_distributions(cls, random: Any) -> Any:
        if not isinstance(random, dict):
            return random
        parsed = {}
        for key, text in random.items():
            try:
                parsed[key] = parse_distribution(text)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        return parsed

    def check_keys(self) -> None:
        both = sorted(set(self.grid) & set(self.random))
        if both:
            raise ValueError(f"{', '.join(both)}: both in grid and in random; give each key once")
        for key in [*self.grid, *self.random]:
            if not key or not all(part.strip() for part in key.split(".")):
                raise ValueError(f"'{key}' is not a dotted config key such as optimizer.lr")


def validate_spec(raw: Any, source: str, lines: dict | None = None) -> SweepSpec:
    """A SweepSpec, or a ConfigError with one `source: field.path (line N): message` per problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a sweep spec is a YAML mapping (grid, random, samples, ...)")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        message = format_validation_error(exc, source, lines or {}, raw)
        raise ConfigError(message.replace("Value error, ", "")) from None
    try:
        spec.check_keys()
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return spec


def load_spec(path: str | Path) -> tuple[dict, dict[tuple, int]]:
    """The raw mapping of a sweep file and the line of every key (validated later, with the options)."""
    path = Path(path)
    raw, lines = _read_yaml(read_config_text(path), str(path))
    return ({} if raw is None else raw), lines


def spec_from_options(grid: list[str], random: list[str], base: dict | None = None, **scalars: Any) -> dict:
    """The raw spec of `--grid KEY=V1,V2` and `--random KEY=DIST` options over a spec file's `base`:
    options add keys (replacing the file's value of the same key) and scalars given replace the file's."""
    raw = dict(base or {})
    for option, texts, field in (("--grid", grid, "grid"), ("--random", random, "random")):
        section = dict(raw.get(field) or {})
        for text in texts:
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                example = "optimizer.lr=0.01,0.1" if field == "grid" else "optimizer.lr=loguniform(1e-4,1e-1)"
                raise ConfigError(f"{option} '{text}': expected KEY=VALUES, for example {example}")
            key = key.strip()
            if field == "grid":
                section[key] = [parse_value(v, f"{option} {key}") for v in split_top_level(value)]
            else:
                section[key] = value.strip()
        if section:
            raw[field] = section
    raw.update({k: v for k, v in scalars.items() if v is not None})
    return raw
