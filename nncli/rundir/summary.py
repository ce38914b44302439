"""A run's summary.json (how it ended, its final and best numbers) and the metrics of its step 0."""

from __future__ import annotations

import math
from pathlib import Path

from nncli import fileio
from nncli.training.build import Run, count_sparse
from nncli.training.events import TrainingEnd


def finite_or_none(value):
    return value if value is None or math.isfinite(value) else None


FINISHED = ("completed", "early_stopped")  # statuses of a run that --resume does not continue


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
        "threads": trainer.threads,
        "threads_source": trainer.threads_source,
        "final_train_loss": finite_or_none(st.last_train_loss),  # the last step's objective, one batch
        "final_data_loss_mean": finite_or_none(last.get("data_loss_mean")),  # over the last logging interval
        "final_val_loss": finite_or_none(st.last_val_loss),
        "final_val_metric": finite_or_none(st.last_val_metric),
        "best_val_loss": finite_or_none(st.best_val_loss),
        "best_step": st.best_step,
        "val_metric_at_best_loss": finite_or_none(st.val_metric_at_best_loss),
        "best_val_metric": finite_or_none(st.best_val_metric),
        "best_metric_step": st.best_metric_step,
        "metric": trainer.metric_name,
        "loss": run.loss_name,
        "last_lr": last.get("lr"),
        "parameters": run.params.size,
        "sparsity": count_sparse(run.params),
    }
    if path is not None:
        summary["run_dir"] = str(path)
    return summary


def step_zero(run: Run, path: Path) -> dict | None:
    """The metrics of step 0, before any update (from init.npz), so the curves start where training did:
    the training-set loss and, with a validation set, its loss and metric. None without init.npz, or for
    a model with running statistics (batch norm), whose step-0 statistics are not kept."""
    init = Path(path) / "init.npz"
    if not init.exists() or dict(run.model.named_buffers()):
        return None
    trained = run.params.state_dict()
    run.params.load_state_dict(fileio.load_npz(init, "parameter file"), source=str(init))
    try:
        trainer = run.trainer
        row = {"step": 0, "train_loss": trainer.evaluate(trainer.X, trainer.y)[0]}
        if trainer.X_val is not None:
            row["val_loss"], row["val_metric"] = trainer.evaluate()
    finally:
        run.params.load_state_dict(trained, source="the trained parameters")
    return row
