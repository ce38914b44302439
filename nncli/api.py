"""The library in a few calls: read a config, build a run, train it (into a run directory if asked).

What `nncli train` does, without the terminal: `train("configs/xor.yaml", out="runs/xor")` writes the
same run directory the command writes, and returns the trained `Run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from nncli.config.loading import load_config
from nncli.config.schema import RunConfig
from nncli.rundir.directory import new_run
from nncli.training.build import Run, build_run
from nncli.training.events import Event


def train(
    config: RunConfig | str | Path,
    *,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    overwrite: bool = False,
    listeners: Iterable[Callable[[Event], None]] = (),
) -> Run:
    """Train the run a config (a `RunConfig` or a YAML file, with `key.path=value` overrides) describes.

    With `out`, the run directory (config, metrics, checkpoints, summary) is written there; each listener
    gets every event the trainer emits. Returns the run, its parameters trained.
    """
    if not isinstance(config, RunConfig):
        config, _ = load_config(config, list(overrides))
    elif overrides:
        raise TypeError("overrides apply to a config file; change a RunConfig with model_copy(update=...)")
    if out is not None:
        run, directory = new_run(config, Path(out), overwrite=overwrite)
        directory.start()
        run.trainer.subscribe(directory)
    else:
        run = build_run(config)
    for listener in listeners:
        run.trainer.subscribe(listener)
    run.trainer.run()
    return run
