"""Figures as PNG files: loss curves, loss landscapes, decision boundaries, fitted curves, weight histograms
and attention maps (`nncli.views.runplots.plot_run` draws all that apply to a run directory).

matplotlib is the optional `plot` extra: importing this module never needs it; each figure imports it
when drawn, with the non-interactive Agg backend. Colours are `nncli.views.termviz.PALETTE` (tab10), so a PNG
matches the terminal picture of the same run.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nncli.errors import NncliError
from nncli.fileio import atomic_write
from nncli.views import termviz
from nncli.views.scales import log_axis

INSTALL_HINT = "plotting needs matplotlib: pip install 'nncli[plot]'"
DPI = 110


def has_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def require_matplotlib() -> None:
    if not has_matplotlib():
        raise NncliError(INSTALL_HINT)


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no window)."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def rgb(i: int) -> tuple[float, float, float]:
    return tuple(c / 255 for c in termviz.colour(i))


def save(fig, path: str | Path) -> Path:
    """Write the figure (PNG unless the name says otherwise, as matplotlib does) and return its path."""
    path = Path(path)
    path = path if path.suffix else path.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI, bbox_inches="tight"))
    finally:
        pyplot().close(fig)
    return path


# ---------------------------------------------------------------------------------------------- curves


LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "x", "+", "*")


def draw_curves(
    ax, series: dict[str, tuple[np.ndarray, np.ndarray]], *, log_y: bool | None = False, styles=None
) -> bool:
    """Each named (x, y) series as a line in its own colour, line style and marker (readable in grey);
    non-positive values are dropped on a log axis. `log_y=None` chooses (`scales.log_axis`); returns it."""
    log_y = log_axis([y for _, y in series.values()], log_y)
    for i, (name, (x, y)) in enumerate(series.items()):
        x, y = np.asarray(x, float), np.asarray(y, float)
        if log_y:  # matplotlib's log ticks overflow near 1e308: a diverged run's last losses are left out
            y = np.where((y > 0) & (y < 1e100), y, np.nan)
        style = {"linestyle": LINE_STYLES[i % len(LINE_STYLES)], "marker": MARKERS[i % len(MARKERS)]}
        style |= {"markevery": max(1, len(x) // 10), "markersize": 4, **(styles or {}).get(name, {})}
        ax.plot(x, y, label=name, color=rgb(i), linewidth=1.5, **style)
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if series:
        ax.legend(frameon=False)
    return log_y


def save_loss_curves(
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    path: str | Path,
    *,
    log_y: bool | None = None,
    title: str = "",
) -> Path:
    """Several loss curves (name → (steps, losses)) on one axes."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    draw_curves(ax, series, log_y=log_y)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    return save(fig, path)


def column(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the rows where `key` has a value."""
    kept = [r for r in rows if r.get(key) is not None]
    return np.array([r["step"] for r in kept], float), np.array([r[key] for r in kept], float)


def validation_column(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of each evaluation once, at the step it was made: rows repeat the latest
    evaluation until the next, and `val_step` says when it was made. Rows without it (files from
    before that field, a run resumed from such a checkpoint) are taken at their own step, a row that
    repeats the value before it being the same evaluation."""
    points: dict[int, float] = {}
    last = None
    for r in rows:
        value, made = r.get(key), r.get("val_step")
        if value is None or (made is None and value == last):
            continue
        points.setdefault(r["step"] if made is None else made, value)
        last = value
    return np.array(list(points), float), np.array(list(points.values()), float)


def save_training_curves(
    rows: list[dict], metric_name: str, path: str | Path, *, log_y: bool | None = None, title: str = ""
) -> Path:
    """The training data loss (mean over each logging interval), the validation loss, and the objective
    with regularisation when that differs; the validation metric; against step, from metrics.jsonl rows."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    train = "data_loss_mean" if any(r.get("data_loss_mean") is not None for r in rows) else "train_loss"
    series = {
        "train (mean over interval)": column(rows, train),
        "validation": validation_column(rows, "val_loss"),
    }
    if any(r.get("penalty") for r in rows):
        series["train objective with penalty (one batch)"] = column(rows, "train_loss")
    series = {k: v for k, v in series.items() if v[0].size}
    log_y = draw_curves(
        left, series, log_y=log_y, styles={"train objective with penalty (one batch)": {"linestyle": "--"}}
    )
    left.set(xlabel="step", ylabel="loss (log)" if log_y else "loss", title="loss")
    steps, metric = validation_column(rows, "val_metric")
    if steps.size:
        draw_curves(right, {f"validation {metric_name}": (steps, metric)})
        if np.ptp(metric) < 1e-9:  # a flat metric: one tick at its value, not 1.02, 1.04 around it
            right.set_yticks([metric[0]])
    else:
        right.text(0.5, 0.5, "no validation set", ha="center", va="center", transform=right.transAxes)
    right.set(xlabel="step", ylabel=metric_name, title=metric_name)
    fig.suptitle(title)
    return save(fig, path)


def save_landscape(
    grid: np.ndarray,
    extent: tuple[float, float, float, float],
    paths: dict[str, np.ndarray],
    path: str | Path,
    *,
    title: str = "",
    axes: tuple[str, str] = ("x", "y"),
) -> Path:
    """A loss landscape as filled contours at log-spaced levels, its lowest point marked, with optimizer
    paths drawn on top; `axes` names the two parameters.

    grid[i, j] is the loss at x = linspace(xmin, xmax, nx)[j], y = linspace(ymin, ymax, ny)[i]. As in
    `termviz.contour_map`, values are shifted by −min + δ (δ = 10⁻³·span) so the log levels work for any loss.
    """
    plt = pyplot()
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter

    grid = np.asarray(grid, float)
    xmin, xmax, ymin, ymax = extent
    lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
    delta = 1e-3 * (hi - lo) if hi > lo else 1.0
    shifted = grid - lo + delta
    levels = np.geomspace(delta, hi - lo + delta, 25)
    fig, ax = plt.subplots(figsize=(7, 6))
    xs, ys = np.linspace(xmin, xmax, grid.shape[1]), np.linspace(ymin, ymax, grid.shape[0])
    filled = ax.contourf(xs, ys, shifted, levels=levels, norm=LogNorm(), cmap="viridis")
    ax.contour(xs, ys, shifted, levels=levels[::3], colors="white", linewidths=0.4, alpha=0.5)
    bar = fig.colorbar(filled, ax=ax, format=FuncFormatter(lambda v, _: f"{v + lo - delta:.3g}"))
    bar.set_label("loss (log-spaced levels)")
    for i, (name, points) in enumerate(paths.items()):
        points = np.asarray(points, float).reshape(-1, 2)
        ax.plot(points[:, 0], points[:, 1], "-", color=rgb(i), linewidth=1.5, label=name)
        ax.plot(*points[0], "o", color=rgb(i), markerfacecolor="none", markersize=7)
        ax.plot(*points[-1], "*", color=rgb(i), markersize=11, markeredgecolor="black", markeredgewidth=0.5)
    j, i = np.unravel_index(np.nanargmin(grid), grid.shape)
    ax.plot(xs[i], ys[j], "X", color="white", markeredgecolor="black", markersize=10, label="grid minimum")
    ax.annotate(
        f"min ({xs[i]:.3g}, {ys[j]:.3g})", (xs[i], ys[j]), (6, -12), textcoords="offset points", color="white"
    )
    ax.set(xlim=(xmin, xmax), ylim=(ymin, ymax), title=title, xlabel=axes[0], ylabel=axes[1])
    ax.legend(loc="upper right", framealpha=0.8)
    return save(fig, path)


# ---------------------------------------------------------------------------------------------- data views


def scatter_classes(
    ax, X: np.ndarray, y: np.ndarray, *, marker: str = "o", label: str = "", classes: tuple | None = None
) -> None:
    for k in np.unique(y):
        pts = X[y == k]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=14,
            marker=marker,
            color=rgb(int(k)),
            edgecolors="black",
            linewidths=0.3,
            label=f"{label}{classes[k]}" if classes else f"{label}class {k}",
        )


def save_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    path: str | Path,
    *,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    n_classes: int | None = None,
    title: str = "",
    resolution: int = 300,
    names: tuple[str, str] = ("x₀", "x₁"),
    classes: tuple | None = None,
) -> Path:
    """The input plane coloured by `predict` (raw points (n, 2) → labels), with the data on top; the axes
    named after the features, the legend after the classes."""
    plt = pyplot()
    from matplotlib.colors import ListedColormap

    y = np.asarray(y).astype(np.int64)
    extent = termviz.plane_extent(X)
    labels = np.asarray(predict(termviz.pixel_centres(extent, resolution, resolution))).reshape(
        resolution, -1
    )
    k = n_classes or int(max(labels.max(), y.max())) + 1
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.imshow(
        labels,
        extent=extent,
        origin="upper",
        cmap=ListedColormap([rgb(i) for i in range(k)]),
        vmin=-0.5,
        vmax=k - 0.5,
        alpha=0.35,
        interpolation="nearest",
        aspect="auto",
    )
    scatter_classes(ax, X, y, label="train ", classes=classes)
    if X_val is not None and y_val is not None:
        val = np.asarray(y_val).astype(np.int64)
        scatter_classes(ax, X_val, val, marker="^", label="val ", classes=classes)
    ax.set(xlim=extent[:2], ylim=extent[2:], xlabel=names[0], ylabel=names[1], title=title)
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    return save(fig, path)


def save_fitted_curve(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    path: str | Path,
    *,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    title: str = "",
    names: tuple[str, str] = ("x", "y"),
) -> Path:
    """1-D regression: the data and the model's curve `predict` (raw x (n, 1) → (n,)); axes `names`."""
    plt = pyplot()
    x = np.asarray(X, float).reshape(-1)
    lo, hi = termviz.value_range(x, 0.03)
    grid = np.linspace(lo, hi, 400)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(x, y, s=10, color=rgb(0), alpha=0.6, label="train")
    if X_val is not None and y_val is not None:
        ax.scatter(
            np.reshape(X_val, -1), y_val, s=12, marker="^", color=rgb(2), alpha=0.6, label="validation"
        )
    ax.plot(grid, predict(grid[:, None]), color=rgb(1), linewidth=2, label="model")
    ax.set(xlabel=names[0], ylabel=names[1], title=title)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return save(fig, path)


# ---------------------------------------------------------------------------------------------- parameters


def save_weight_histograms(weights: dict[str, np.ndarray], path: str | Path, *, title: str = "") -> Path:
    """One histogram per weight tensor. Exact zeros get their own red bar at 0 with their count, so L1's
    zeros stand apart from L2's small-but-non-zero weights, which stay in the blue histogram."""
    plt = pyplot()
    n = max(len(weights), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(weights) :]:
        ax.set_visible(False)
    for ax, (name, w) in zip(axes.flat, weights.items()):
        w = np.asarray(w, float).ravel()
        zeros = int(np.sum(w == 0))
        rest = w[(w != 0) & np.isfinite(w)]
        counts, edges = np.histogram(rest, bins=40) if rest.size else (np.zeros(1), np.array([-1.0, 1.0]))
        ax.hist(rest, bins=edges, color=rgb(0), alpha=0.85)
        top = max(float(counts.max()), 1.0) * 1.15
        if zeros:
            ax.bar(
                0.0,
                min(zeros, top),
                width=(edges[-1] - edges[0]) / 40,
                color=rgb(3),
                label=f"{zeros} exactly 0",
            )
            ax.legend(frameon=False, fontsize=8)
        ax.set_ylim(0, top)
        ax.set_title(f"{name} {tuple(np.shape(weights[name]))}\n{zeros} of {w.size} exactly 0", fontsize=9)
        ax.tick_params(labelsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def save_attention_maps(
    maps: list[np.ndarray], path: str | Path, *, tokens: list[str] | None = None, title: str = ""
) -> Path:
    """Attention weights of one sample: a row of panels per layer, one panel per head.

    maps: per layer, (H, T, T) or (B, H, T, T) (sample 0 is drawn); entry [q, k] is how much query
    position q looks at key position k, so each row sums to 1.
    """
    plt = pyplot()
    maps = [np.asarray(m, float)[0] if np.ndim(m) == 4 else np.asarray(m, float) for m in maps]
    layers, heads = len(maps), max(m.shape[0] for m in maps)
    fig, axes = plt.subplots(
        layers, heads, figsize=(2.6 * heads + 1, 2.5 * layers), squeeze=False, layout="constrained"
    )
    image = None
    for l, m in enumerate(maps):
        for h in range(heads):
            ax = axes[l, h]
            if h >= m.shape[0]:
                ax.set_visible(False)
                continue
            image = ax.imshow(m[h], cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_title(f"layer {l} head {h}", fontsize=9)
            t = m.shape[-1]
            ticks = np.arange(t) if t <= 16 else []
            named = tokens is not None and len(tokens) == t
            names = [f"{i}:{tokens[i]}" if named else str(i) for i in range(t)]
            ax.set_xticks(ticks, [names[i] for i in ticks], fontsize=7, rotation=90 if named else 0)
            ax.set_yticks(ticks, [names[i] for i in ticks], fontsize=7)
            if l == layers - 1:
                ax.set_xlabel("key (position:token)" if named else "key position")
            if h == 0:
                ax.set_ylabel("query (position:token)" if named else "query position")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    fig.suptitle(title)
    return save(fig, path)
