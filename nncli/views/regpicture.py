"""The notes' regularisation picture (nncli.explain.regularization) in the terminal and as a PNG, and what
each first-layer neuron draws over the input plane (as a PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Group
from rich.table import Table

from nncli.explain.neurons import first_layer_maps, has_neuron_maps
from nncli.explain.regularization import weight_paths
from nncli.views import plots, termviz


def terminal(record, *, width: int = 72, height: int = 28) -> Group:
    """The contours with every path, the L1 square and the L2 circle, then where each path ended."""
    grid = np.asarray(record.grid)
    xmin, xmax, ymin, ymax = record.extent
    # the axes and outlines first, so that the weight paths are drawn over them
    lines = {"w₂ = 0": [(xmin, 0.0), (xmax, 0.0)], "w₁ = 0": [(0.0, ymin), (0.0, ymax)]}
    lines |= {"L2 circle": record.circle, "L1 square": record.square, **record.paths}
    picture = termviz.contour_map(grid, record.extent, lines, width=width, height=height)
    table = Table(
        title=f"after {record.steps} full-batch SGD steps (λ = {record.strength:g}, α = {record.lr:g})"
    )
    for name in ("path", "w₁", "w₂", "a weight exactly 0"):
        table.add_column(name, justify="left" if name == "path" else "right")
    for name in record.paths:
        w1, w2 = record.final(name)
        zero = "yes" if w1 == 0.0 or w2 == 0.0 else "no"
        table.add_row(name, f"{w1:.6g}", f"{w2:.6g}", zero)
    return Group(picture, table)


def save(
    record, path: str | Path, *, title: str = "L1's square lands on an axis, L2's circle does not"
) -> Path:
    """The loss contours with each path, the L2 circle and the L1 square as dashed outlines, and the axes."""
    plt = plots.pyplot()
    from matplotlib.colors import LogNorm

    grid = np.asarray(record.grid)
    xmin, xmax, ymin, ymax = record.extent
    lo, hi = float(grid.min()), float(grid.max())
    delta = 1e-3 * (hi - lo)
    xs, ys = np.linspace(xmin, xmax, grid.shape[1]), np.linspace(ymin, ymax, grid.shape[0])
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.contourf(xs, ys, grid - lo + delta, levels=np.geomspace(delta, hi - lo + delta, 25), norm=LogNorm())
    ax.axhline(0, color="white", linewidth=0.6)
    ax.axvline(0, color="white", linewidth=0.6)
    for name, shape in (("L2 circle", record.circle), ("L1 square", record.square)):
        shape = np.asarray(shape)
        ax.plot(shape[:, 0], shape[:, 1], "--", color="white", linewidth=1.2)
        ax.annotate(name, shape[len(shape) // 8], color="white", fontsize=8)
    for i, (name, points) in enumerate(record.paths.items()):
        points = np.asarray(points)
        ax.plot(points[:, 0], points[:, 1], "-", color=plots.rgb(i), linewidth=1.5, label=name)
        ax.plot(*points[-1], "*", color=plots.rgb(i), markersize=11, markeredgecolor="black")
    ax.set(xlim=(xmin, xmax), ylim=(ymin, ymax), xlabel="w₁", ylabel="w₂", title=title, aspect="equal")
    ax.legend(loc="upper right", framealpha=0.8)
    return plots.save(fig, path)


def save_neurons(run, path: str | Path, *, title: str = "") -> Path:
    """Each first-layer neuron's activation over the input plane, one small panel each (2-D inputs)."""
    plt = plots.pyplot()
    maps = first_layer_maps(run)
    n = len(maps.values)
    cols = min(n, 8)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.axis("off")
            continue
        ax.imshow(
            maps.values[k], origin="lower", extent=maps.extent, cmap="RdBu_r", vmin=maps.lo, vmax=maps.hi
        )
        ax.set_title(f"neuron {k}", fontsize=7)
    fig.suptitle(title or f"what each neuron of {maps.layer} draws ({maps.activation})", fontsize=9)
    return plots.save(fig, path)


def run_figures(run, out: Path, name: str) -> list[Path]:
    """`nncli plot`'s and the report's figures from this module: neurons.png for an MLP on 2-D inputs and
    regularization.png for a run with L1 or L2."""
    written = []
    if has_neuron_maps(run):
        written.append(
            save_neurons(run, out / "neurons.png", title=f"{name}: what each first-layer neuron draws")
        )
    reg = run.config.regularization
    if reg.l1 > 0 or reg.l2 > 0:
        written.append(save(weight_paths(), out / "regularization.png"))
    return written
