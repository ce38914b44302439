"""`plot_run`: every figure that applies to a run directory (`nncli plot`, and the report's figures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nncli.rundir.directory import load_run
from nncli.rundir.outputs import check_output, check_output_folder
from nncli.rundir.records import read_metrics, read_summary
from nncli.rundir.summary import step_zero
from nncli.training.predictor import predictor, view_kind
from nncli.views import plots, regpicture

# the picture of the data each `nncli.training.predictor.view_kind` gets: (figure function, file name)
DATA_VIEWS = {
    "boundary": (plots.save_decision_boundary, "decision_boundary"),
    "curve": (plots.save_fitted_curve, "fitted_curve"),
}


def plot_run(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    log_y: bool | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Every figure that applies to a run: curves.png, then decision_boundary.png or fitted_curve.png,
    neurons.png (an MLP on 2-D inputs), regularization.png (a run with L1 or L2), weights.png and, for
    transformers, attention.png. Returns the paths written (default RUN_DIR/plots). Every target is
    checked before the first is drawn: existing PNGs are replaced only with `overwrite`."""
    plots.require_matplotlib()
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "plots"
    name = run_dir.name
    summary = read_summary(run_dir)  # read (and checked) even when the run supplies the metric's name
    metric = run.trainer.metric_name if run is not None else summary.get("metric", "metric")
    first = step_zero(run, run_dir) if run is not None else None
    rows = ([first] if first is not None else []) + read_metrics(run_dir)
    kind = view_kind(run) if run is not None else None
    names = ["curves.png"]
    if run is not None:
        names += [f"{DATA_VIEWS[kind][1]}.png"] if kind is not None else []
        names += regpicture.run_figure_names(run) + ["weights.png"]
        names += ["attention.png"] if _draws_attention(run) else []
    check_output_folder(out)
    for target in names:
        check_output(out / target, overwrite=overwrite)
    written = [plots.save_training_curves(rows, metric, out / "curves.png", log_y=log_y, title=name)]
    if run is None:  # diverged before any parameters were saved: the curves are all there is
        return written
    train, val = run.data.train, run.data.val
    if kind is not None:
        draw, stem = DATA_VIEWS[kind]
        extra = {"X_val": val.X, "y_val": val.y} if val is not None else {}
        names = run.data.feature_names
        if kind == "boundary":
            extra.update(names=names or ("x₀", "x₁"), classes=run.data.train.classes)
        else:
            extra.update(names=(names[0] if names else "x", train.target_name))
        title = f"{name}: {stem.replace('_', ' ')}"
        written.append(draw(predictor(run), train.X, train.y, out / f"{stem}.png", title=title, **extra))
    written += regpicture.run_figures(run, out, name)
    weights = {n: p.data for n, p in run.params.params.items() if p.decay}
    written.append(plots.save_weight_histograms(weights, out / "weights.png", title=f"{name}: weights"))
    if _draws_attention(run):
        written.append(
            save_run_attention(run, out / "attention.png", title=f"{name}: attention, validation sample 0")
        )
    return written


def _draws_attention(run) -> bool:
    return run.config.model.kind == "transformer" and hasattr(run.model, "attention_maps")


def save_run_attention(run, path: Path, *, title: str = "") -> Path:
    """The attention maps of a transformer run's first validation (else training) sample."""
    trainer, data = run.trainer, run.data
    X = trainer.X_val if trainer.X_val is not None else trainer.X
    raw = (data.val if data.val is not None else data.train).X[0]
    tokens = (
        [str(int(t)) for t in raw] if raw.ndim == 1 and not np.issubdtype(raw.dtype, np.floating) else None
    )
    return plots.save_attention_maps(run.model.attention_maps(X[:1]), path, tokens=tokens, title=title)
