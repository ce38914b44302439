"""The run directory: resolved config, metrics, parameter files, checkpoint and summary.

    config.yaml       the resolved config (every default filled in)
    metrics.jsonl     one JSON object per logged step (see `nncli.events.StepEnd`)
    init.npz          parameters at initialisation, dotted names (`layers.0.weight`)
    final.npz         parameters at the end
    checkpoint.npz    parameters, optimizer state, RNG state and step (see `nncli.checkpoint`)
    summary.json      how the run ended, final and best numbers

Every file is written atomically; metrics.jsonl grows by whole lines, one write per line.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from nncli import checkpoint
from nncli.build import Run, count_sparse
from nncli.configio import dump_config
from nncli.errors import CheckpointError
from nncli.events import CheckpointDue, Event, StepEnd, TrainingEnd

FILES = ("config.yaml", "metrics.jsonl", "init.npz", "final.npz", "checkpoint.npz", "summary.json")


def default_run_dir(name: str, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{name}-{stamp}"
    i = 1
    while path.exists():
        i += 1
        path = Path(root) / f"{name}-{stamp}-{i}"
    return path


def prepare_new(path: Path, overwrite: bool) -> None:
    """Create the folder; an existing non-empty one is only reused with `overwrite`."""
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"{path}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise CheckpointError(
                f"{path}: already holds files; pass --overwrite to replace them, or pick another --out"
            )
        for name in (*FILES, "predictions.csv"):
            (path / name).unlink(missing_ok=True)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot create the run directory: {exc}") from None


def _finite(value):
    return value if value is None or math.isfinite(value) else None


class RunDirectory:
    """Listens to the trainer and keeps the run directory up to date."""

    def __init__(self, path: Path, run: Run) -> None:
        self.path, self.run = path, run
        self.summary: dict | None = None

    def start(self) -> None:
        checkpoint.atomic_write_text(self.path / "config.yaml", dump_config(self.run.config))
        checkpoint.save_npz(self.path / "init.npz", self.run.params.state_dict())
        checkpoint.atomic_write_text(self.path / "metrics.jsonl", "")

    def resume(self) -> int:
        """Load checkpoint.npz into the run and trim metrics.jsonl to the checkpoint's step."""
        source = self.path / "checkpoint.npz"
        arrays = checkpoint.load_npz(source, "checkpoint")
        step = checkpoint.restore_checkpoint(self.run, arrays, str(source))
        metrics = self.path / "metrics.jsonl"
        kept = []
        if metrics.exists():
            for line in metrics.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if row.get("step", math.inf) <= step:
                    kept.append(row)
        self.run.trainer.state.history = kept
        checkpoint.atomic_write_text(metrics, "".join(json.dumps(r) + "\n" for r in kept))
        return step

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEnd):
            line = (
                json.dumps({k: _finite(v) if isinstance(v, float) else v for k, v in event.to_dict().items()})
                + "\n"
            )
            fd = os.open(self.path / "metrics.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        elif isinstance(event, CheckpointDue):
            checkpoint.save_npz(
                self.path / "checkpoint.npz", checkpoint.checkpoint_arrays(self.run, event.step)
            )
        elif isinstance(event, TrainingEnd):
            if event.status != "diverged":
                checkpoint.save_npz(self.path / "final.npz", self.run.params.state_dict())
            self.summary = build_summary(self.run, event, self.path)
            checkpoint.atomic_write_text(
                self.path / "summary.json", json.dumps(self.summary, indent=2) + "\n"
            )


def build_summary(run: Run, end: TrainingEnd, path: Path | None = None) -> dict:
    trainer, st = run.trainer, run.trainer.state
    elapsed = st.elapsed_s
    history = st.history
    last = history[-1] if history else {}
    summary = {
        "name": run.config.name,
        "status": end.status,
        "message": end.message,
        "steps": st.step,
        "total_steps": trainer.settings.total_steps,
        "wall_time_s": elapsed,
        "steps_per_s": st.step / elapsed if elapsed > 0 else None,
        "final_train_loss": _finite(st.last_train_loss),
        "final_val_loss": _finite(st.last_val_loss),
        "final_val_metric": _finite(st.last_val_metric),
        "best_val_loss": _finite(st.best_val_loss),
        "best_val_metric": _finite(st.best_val_metric),
        "best_step": st.best_step,
        "metric": trainer.metric_name,
        "loss": run.loss_name,
        "last_lr": last.get("lr"),
        "parameters": run.params.size,
        "sparsity": count_sparse(run.params),
    }
    if path is not None:
        summary["run_dir"] = str(path)
    return summary


def new_run(
    config, out: Path | None = None, *, overwrite: bool = False, dataset=None
) -> tuple[Run, RunDirectory]:
    """Build a run from a config and give it a fresh run directory (written on `start`)."""
    from nncli.build import build_run

    run = build_run(config, dataset)
    path = Path(out) if out is not None else default_run_dir(config.name or "run")
    prepare_new(path, overwrite)
    return run, RunDirectory(path, run)


def resumed_run(path: Path) -> tuple[Run, RunDirectory]:
    """Rebuild the run of an existing run directory from its config.yaml and load its checkpoint."""
    from nncli.build import build_run
    from nncli.configio import load_config

    path = Path(path)
    if not (path / "config.yaml").exists():
        raise CheckpointError(f"{path}: not a run directory (no config.yaml)")
    if not (path / "checkpoint.npz").exists():
        raise CheckpointError(f"{path}: has no checkpoint.npz to resume from")
    config, _ = load_config(path / "config.yaml")
    run = build_run(config)
    rundir = RunDirectory(path, run)
    rundir.resume()
    return run, rundir


def load_trained(path: Path) -> Run:
    """A run rebuilt from its directory with its final (else checkpointed) parameters, for evaluation."""
    from nncli.build import build_run
    from nncli.configio import load_config

    path = Path(path)
    if not (path / "config.yaml").exists():
        raise CheckpointError(f"{path}: not a run directory (no config.yaml)")
    config, _ = load_config(path / "config.yaml")
    run = build_run(config)
    if (path / "final.npz").exists():
        source = path / "final.npz"
        run.params.load_state_dict(checkpoint.load_npz(source, "parameter file"), source=str(source))
        ckpt = path / "checkpoint.npz"
        if ckpt.exists():  # running statistics live in the checkpoint
            arrays = checkpoint.load_npz(ckpt, "checkpoint")
            buffers = {k[len("buffer/") :]: v for k, v in arrays.items() if k.startswith("buffer/")}
            if set(buffers) == {n for n, _ in run.model.named_buffers()}:
                run.model.load_buffers(buffers)
    elif (path / "checkpoint.npz").exists():
        source = path / "checkpoint.npz"
        checkpoint.restore_checkpoint(run, checkpoint.load_npz(source, "checkpoint"), str(source))
    else:
        raise CheckpointError(f"{path}: has neither final.npz nor checkpoint.npz")
    return run
