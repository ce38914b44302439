"""Sweeps, planned: a base config and a `SweepSpec` expanded into a list of trials, each a list of
`--set` overrides.

The expansion is deterministic: the grid's combinations in the order the keys and values were given,
`samples` draws of the random keys from `numpy.random.default_rng(sweep_seed)` (the same draws at every
grid point), then `seeds` copies of each with `seed` = the config's seed + 0, 1, .... The whole list is
hashed (`SweepPlan.digest`) so that a sweep resumed in the same folder is known to be the same sweep.

    from nncli.compare.sweep import plan_sweep
    from nncli.compare.trial import run_trial

    plan = plan_sweep(raw_config, spec)
    results = [run_trial(t) for t in plan.trials]

Every key's every value is validated against the config schema here, before anything runs: an unknown
key or a value the schema rejects is a ConfigError naming the key and where it came from. A combination
that only fails together (or at build time) becomes that trial's recorded failure.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncli.config.loading import apply_overrides, validate
from nncli.config.schema import RunConfig
from nncli.config.sweep import Distribution, SweepSpec
from nncli.errors import ConfigError


@dataclass(frozen=True)
class Trial:
    """One training of the sweep: the base config with `overrides` applied (a plain dict, data paths
    absolute), so that it runs the same in any process on any machine."""

    index: int
    overrides: tuple[str, ...]  # 'optimizer.lr=0.01', as --set takes them
    values: dict[str, Any]  # key → value, the same overrides as data
    config: dict
    # also log the loss over the whole training set, at step 0 and every logged step (the curves of
    # compare-optimizers), leaving its time out of the trial's training time
    train_set_curve: bool = False

    @property
    def id(self) -> str:
        return f"{self.index:04d}"


@dataclass
class SweepPlan:
    base: dict  # the raw base config (data paths absolute)
    spec: SweepSpec
    trials: list[Trial]
    keys: list[str]  # the swept keys, in order (seed last when seeds > 1)
    metric: str
    mode: str

    @property
    def digest(self) -> str:
        """sha256 of the base config and every trial's overrides: the identity of the sweep."""
        text = json.dumps({"base": self.base, "trials": [t.overrides for t in self.trials]}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def better(self, a: float | None, b: float | None) -> bool:
        """Whether metric value `a` beats `b` (None never beats anything)."""
        if a is None:
            return False
        return b is None or (a < b if self.mode == "min" else a > b)


def override(key: str, value: Any) -> str:
    """`key=value` with the value written as JSON (which YAML reads back exactly: floats as repr)."""
    return f"{key}={json.dumps(value)}"


def draw(dist: Distribution, rng: np.random.Generator) -> Any:
    """One value from a distribution, as a plain Python value."""
    if dist.kind == "choice":
        return dist.args[int(rng.integers(len(dist.args)))]
    a, b = dist.args
    if dist.kind == "int":
        return int(rng.integers(a, b + 1))
    if dist.kind == "uniform":
        return float(rng.uniform(a, b))
    return float(math.exp(rng.uniform(math.log(a), math.log(b))))


def default_metric(base: RunConfig, metric: str | None, mode: str | None) -> tuple[str, str]:
    """The ranking metric (best_val_loss with a validation set, else final_train_loss) and its mode
    (losses are minimised, accuracy and R² maximised)."""
    if metric is None:
        metric = "best_val_loss" if base.data.validation > 0 else "final_train_loss"
    return metric, mode or ("min" if metric.endswith("loss") else "max")


def plan_sweep(
    base: dict, spec: SweepSpec, source: str = "sweep", lines: dict[tuple, int] | None = None
) -> SweepPlan:
    """The trials of `spec` over the raw config `base`, every key's values checked first; `source` and
    the spec file's `lines` say where a bad key came from."""
    base_config = validate(base, "config")
    _check_values(base, spec, source, lines or {})
    grid = list(itertools.product(*spec.grid.values())) if spec.grid else [()]
    rng = np.random.default_rng(spec.sweep_seed)
    samples = [
        {key: draw(dist, rng) for key, dist in spec.random.items()}
        for _ in range(spec.samples if spec.random else 1)
    ]
    if spec.samples > 1 and not spec.random:
        raise ConfigError(f"{source}: samples: {spec.samples} draws need random keys to draw; add random")
    trials = []
    for point in grid:
        for sample in samples:
            for k in range(spec.seeds):
                values = {**dict(zip(spec.grid, point)), **sample}
                if spec.seeds > 1:
                    values["seed"] = base_config.seed + k
                overrides = tuple(override(key, v) for key, v in values.items())
                config = apply_overrides(base, list(overrides))
                trials.append(Trial(len(trials), overrides, values, config))
    keys = [*spec.grid, *spec.random, *(["seed"] if spec.seeds > 1 else [])]
    metric, mode = default_metric(base_config, spec.metric, spec.mode)
    return SweepPlan(base, spec, trials, keys, metric, mode)


def _check_values(base: dict, spec: SweepSpec, source: str, lines: dict[tuple, int]) -> None:
    """Validate the base with each value of each key alone: a bad key or value fails here, named."""
    candidates = {key: list(values) for key, values in spec.grid.items()}
    for key, dist in spec.random.items():
        candidates[key] = list(dist.args)  # choice: every option; ranges: both ends
    for key, values in candidates.items():
        section = "grid" if key in spec.grid else "random"
        line = lines.get((section, key))
        where = f"{source}: {section}.{key}" + (f" (line {line})" if line else "")
        for value in values:
            validate(apply_overrides(base, [override(key, value)]), f"{where} = {json.dumps(value)}")
