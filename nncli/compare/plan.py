"""Compare optimizers, planning and running: one model, one dataset, one set of initial weights, several
optimizers. How the runs are ranked and written to files is in nncli.compare.results.

A comparison is a sweep over `optimizer` (nncli.compare.sweep): each label's section at each learning
rate, × seeds. Each run is a small frozen spec (a label, a seed, an lr and its sweep `Trial`, whose
config is resolved); `spec.run()` trains it with the sweep's `run_trial` and returns a `RunResult`. Two
specs that differ only in `optimizer` build identical initial parameters and see identical batches in
identical order, because the data, the initialisation and the shuffling depend only on `config.seed`
(see nncli.training.build). An `Executor` maps runs to results in input order, in this process or in
worker processes; the results do not depend on which.

    from nncli.compare.plan import DEFAULT_CONFIG, compare
    from nncli.config.loading import validate

    result = compare(validate(DEFAULT_CONFIG), ["sgd", "adam"], seeds=2)
    for entry in result.ranking:
        print(entry.label, entry.final_loss.mean)

The loss of a curve is the data loss over the whole training set after each logged step (not the noisy
mini-batch loss), so the curves, the final loss and "steps to reach a target loss" are exact. Landscapes
(`plan_landscape`) run the same optimizers on a 2-parameter surface and record the path of every step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from nncli.compare.executors import Executor, SerialExecutor, make_executor
from nncli.compare.landscapes import LANDSCAPES
from nncli.compare.records import Plan, RunResult
from nncli.compare.results import Comparison, summarize
from nncli.compare.sweep import Trial, plan_sweep
from nncli.compare.trial import run_trial
from nncli.config.loading import validate
from nncli.config.schema import RunConfig
from nncli.config.sweep import SweepSpec, validate_optimizer
from nncli.engine.optimizers import OPTIMIZERS
from nncli.errors import NncliError, did_you_mean
from nncli.registry import Registry
from nncli.training.build import build_run

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adagrad", "adam")
CURVE_POINTS = 100  # logged rows per training curve
LR_GRID_FACTORS = tuple(10 ** np.linspace(-1.0, 1.0, 5))  # base lr × 0.1 … 10, log-spaced

# The default problem: three spiral arms curled 1.25 turns, a small tanh MLP, mini-batches of 32.
# Five optimizers take about a second together and their curves come apart clearly.
DEFAULT_CONFIG: dict = {
    "name": "spirals",
    "seed": 0,
    "data": {"dataset": "spirals", "samples": 600, "arms": 3, "turns": 1.25, "noise": 0.05},
    "model": {"kind": "mlp", "hidden_sizes": [32, 32], "activation": "tanh"},
    "optimizer": {"name": "adam", "lr": 0.01},
    "training": {"steps": 1500, "batch_size": 32},
}

# ---------------------------------------------------------------------------------------------- presets

PRESETS: Registry = Registry("optimizer")
for _label, _section in {
    "sgd": {"name": "sgd", "lr": 0.1},
    "momentum": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "nesterov": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
    "rmsprop": {"name": "rmsprop", "lr": 0.005},
    "adagrad": {"name": "adagrad", "lr": 0.1},
    "adam": {"name": "adam", "lr": 0.01},
    "adamw": {"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
}.items():
    PRESETS.register(_label)(_section)


def preset_label(section: dict) -> str:
    """Which preset an optimizer section is an instance of: sgd with momentum is `momentum` or `nesterov`."""
    if section["name"] == "sgd" and section.get("momentum", 0) > 0:
        return "nesterov" if section.get("nesterov") else "momentum"
    return section["name"]


def optimizer_sections(
    labels: Sequence[str], lrs: dict[str, float], own: dict | None = None
) -> dict[str, dict]:
    """The optimizer section of each label: its preset, or the config's own optimizer when that is an
    instance of the label (so a tuned config keeps its settings), with the lr from `lrs`; validated."""
    sections = {}
    for label in check_labels(labels):
        section = dict(own) if own is not None and preset_label(own) == label else dict(PRESETS.get(label))
        if label in lrs:
            section["lr"] = lrs[label]
        sections[label] = validate_optimizer(section, label)
    return sections


def section_sources(
    labels: Sequence[str], lrs: dict[str, float], own: dict | None = None, surface_lrs: Sequence[str] = ()
) -> dict[str, str]:
    """Where each label's arguments come from, as optimizer_sections chose them: the config's own
    optimizer or the preset, and the lr from --lr or from the landscape's own learning rates."""
    sources = {}
    for label in labels:
        origin = "the config" if own is not None and preset_label(own) == label else "preset"
        if label in lrs:
            origin += ", lr from --lr"
        elif label in surface_lrs:
            origin += ", lr suited to the surface"
        sources[label] = origin
    return sources


def check_labels(labels: Sequence[str]) -> list[str]:
    if not labels:
        raise NncliError("--optimizers: name at least one optimizer")
    for i, label in enumerate(labels):
        PRESETS.get(label)  # unknown names: "did you mean"
        if label in labels[:i]:
            raise NncliError(f"--optimizers: '{label}' is named twice")
    return list(labels)


def parse_lrs(text: str | None, labels: Sequence[str]) -> dict[str, float]:
    """'adam=0.01,sgd=0.1' → {'adam': 0.01, 'sgd': 0.1}; a bare number applies to every label."""
    lrs: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        label, sep, value = item.rpartition("=")
        label = label.strip()
        try:
            lr = float(value)
        except ValueError:
            raise NncliError(f"--lr '{item.strip()}': '{value.strip()}' is not a number") from None
        if not sep:
            lrs.update(dict.fromkeys(labels, lr))
        elif label not in labels:
            raise NncliError(
                f"--lr: '{label}' is not among the compared optimizers{did_you_mean(label, list(labels))}; "
                f"compared: {', '.join(labels)}"
            )
        else:
            lrs[label] = lr
    return lrs


def lr_grid(lr: float) -> list[float]:
    """The learning rates `--lr-grid` tries around `lr` (3 significant digits)."""
    return [float(f"{lr * f:.3g}") for f in LR_GRID_FACTORS]


# ---------------------------------------------------------------------------------------------- one run


RowListener = Callable[[dict], None]


@dataclass(frozen=True)
class TrainSpec:
    """One optimizer's sweep trial (its resolved config as a plain dict), run by the sweep's trial
    function with the whole-training-set loss logged."""

    label: str
    seed: int
    lr: float
    trial: Trial

    @property
    def config(self) -> dict:
        return self.trial.config

    def run(self, on_row: RowListener | None = None) -> RunResult:
        result = run_trial(self.trial, on_row)
        if result.status == "failed":
            raise NncliError(f"{self.label}: {result.message}")
        steps = result.summary["steps"]
        return RunResult(
            self.label, self.seed, self.lr, result.status, steps, result.train_time_s, result.curve
        )


@dataclass(frozen=True)
class LandscapeSpec:
    """Descend a 2-parameter surface from its fixed start with one optimizer, recording every step."""

    label: str
    seed: int
    lr: float
    problem: str
    optimizer: dict
    steps: int

    def run(self, on_row: RowListener | None = None) -> RunResult:
        problem = LANDSCAPES.get(self.problem)
        surface = problem.surface(self.seed)
        params = surface.params
        params.data[:] = problem.start
        kwargs = {k: v for k, v in self.optimizer.items() if k != "name"}
        optimizer = OPTIMIZERS.get(self.optimizer["name"])(params, **kwargs)
        every, rows, status = max(1, self.steps // 100), [], "completed"
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):
            for step in range(self.steps + 1):
                loss = surface.loss_and_grad()
                x, y = params.data
                rows.append({"step": step, "loss": loss, surface.names[0]: x, surface.names[1]: y})
                rows[-1]["time_s"] = time.perf_counter() - start
                if not (math.isfinite(loss) and np.isfinite(params.grad).all()):
                    status = "diverged"
                    break
                if on_row is not None and step % every == 0:
                    on_row(rows[-1])
                if step < self.steps:
                    optimizer.step()
        wall = time.perf_counter() - start
        return RunResult(self.label, self.seed, self.lr, status, rows[-1]["step"], wall, rows)


Spec = TrainSpec | LandscapeSpec


def execute(spec: Spec) -> RunResult:
    """Run one spec (a module-level function, so worker processes can receive it)."""
    return spec.run()


def _call(fn: Callable[[], RunResult]) -> RunResult:
    return fn()


# ---------------------------------------------------------------------------------------------- plans


def plan_training(
    config: RunConfig,
    optimizers: Sequence[str] = DEFAULT_OPTIMIZERS,
    lrs: dict[str, float] | None = None,
    *,
    seeds: int = 1,
    steps: int | None = None,
    grid: bool = False,
) -> Plan:
    """A sweep over `optimizer` (each label's section at each learning rate) × seeds of `config`, as one
    TrainSpec per trial. Builds the base run once here, so a config that cannot train fails before any
    worker starts."""
    own = config.optimizer.model_dump(mode="json")
    sections = optimizer_sections(optimizers, lrs or {}, own)
    sources = section_sources(list(sections), lrs or {}, own)
    raw = config.model_dump(mode="json")
    if steps is not None:
        raw["training"].update(steps=steps, epochs=None)
    trainer = build_run(validate(raw, "config")).trainer
    raw["training"]["log_every"] = max(1, trainer.settings.total_steps // CURVE_POINTS)
    # curves to compare: the validation set at every curve point too, unless the config says otherwise
    raw["training"]["eval_every"] = raw["training"]["eval_every"] or raw["training"]["log_every"]
    seed_list = [config.seed + k for k in range(seeds)]
    runs = [
        (label, lr)
        for label, section in sections.items()
        for lr in (lr_grid(section["lr"]) if grid else [section["lr"]])
    ]
    optimizers = [{**sections[label], "lr": lr} for label, lr in runs]
    sweep = plan_sweep(raw, SweepSpec(grid={"optimizer": optimizers}, seeds=seeds), "compare-optimizers")
    specs: list[Spec] = []
    for trial in sweep.trials:
        label, lr = runs[trial.index // seeds]
        resolved = validate(trial.config, label).model_dump(mode="json")
        seed = seed_list[trial.index % seeds]
        specs.append(TrainSpec(label, seed, lr, replace(trial, config=resolved, train_set_curve=True)))
    data = config.data
    problem = {
        "kind": "training",
        "name": config.name or "compare",
        "dataset": getattr(data, "dataset", None) or str(getattr(data, "path", "")),
        "model": config.model.kind,
        "steps": trainer.settings.total_steps,
        "batch_size": trainer.settings.batch_size,
        "config": {k: v for k, v in raw.items() if k != "optimizer"},  # each entry has its own
    }
    return Plan(specs, list(sections), seed_list, sections, grid, trainer.metric_name, problem, sources)


def plan_landscape(
    name: str,
    optimizers: Sequence[str] = DEFAULT_OPTIMIZERS,
    lrs: dict[str, float] | None = None,
    *,
    steps: int | None = None,
    grid: bool = False,
    seed: int = 0,
) -> Plan:
    """One LandscapeSpec per optimizer (× learning rate); the problem's own learning rates by default."""
    problem = LANDSCAPES.get(name)
    labels = check_labels(optimizers)
    sources = section_sources(labels, lrs or {}, surface_lrs=list(problem.lrs))
    lrs = {**{k: v for k, v in problem.lrs.items() if k in labels}, **(lrs or {})}
    sections = optimizer_sections(labels, lrs)
    steps = steps or problem.steps
    specs: list[Spec] = [
        LandscapeSpec(label, seed, lr, name, validate_optimizer({**section, "lr": lr}, label), steps)
        for label, section in sections.items()
        for lr in (lr_grid(section["lr"]) if grid else [section["lr"]])
    ]
    names = problem.surface(seed).names
    described = {
        "kind": "landscape",
        "name": name,
        "description": problem.description,
        "steps": steps,
        "start": list(problem.start),
        "extent": list(problem.extent),
        "parameters": list(names),
    }
    return Plan(specs, labels, [seed], sections, grid, None, described, sources)


def run_plan(
    plan: Plan,
    executor: Executor | None = None,
    *,
    on_row: Callable[[int, dict], None] | None = None,
    on_result: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Run every spec; `on_row(index, row)` sees logged rows live when the executor runs in-process."""
    executor = executor or SerialExecutor()
    if on_row is not None and executor.in_process:
        calls = [partial(spec.run, partial(on_row, i)) for i, spec in enumerate(plan.specs)]
        return executor.map(_call, calls, on_result)
    return executor.map(execute, plan.specs, on_result)


def compare(
    config: RunConfig,
    optimizers: Sequence[str] = DEFAULT_OPTIMIZERS,
    lrs: dict[str, float] | None = None,
    *,
    seeds: int = 1,
    steps: int | None = None,
    grid: bool = False,
    jobs: int = 1,
    target_loss: float | None = None,
) -> Comparison:
    """Plan, run and rank in one call (the library's way; the CLI calls the steps to show them live)."""
    plan = plan_training(config, optimizers, lrs, seeds=seeds, steps=steps, grid=grid)
    return summarize(plan, run_plan(plan, make_executor(jobs)), target_loss)
