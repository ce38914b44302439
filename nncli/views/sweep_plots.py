"""The PNG of a sweep: its metric against each swept parameter, one panel per key (plot extra)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nncli.views.plots import pyplot, rgb, save


def _numeric(values: list) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def save_sweep_metric(
    rows: list[dict], keys: list[str], metric: str, path: str | Path, title: str = ""
) -> Path:
    """One scatter panel per swept key: the metric of every trial that has one against that key's value
    (a log axis for positive values spanning more than 10×; categories for lists and names)."""
    plt = pyplot()
    scored = [r for r in rows if r["metric"] is not None]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(3.6 * max(1, len(keys)), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        values = [r["overrides"].get(key) for r in scored]
        ys = np.array([r["metric"] for r in scored], float)
        if _numeric(values) and values:
            xs = np.array(values, float)
            ax.scatter(xs, ys, color=rgb(0), alpha=0.8)
            if xs.min() > 0 and xs.max() > 10 * xs.min():
                ax.set_xscale("log")
        else:
            labels = list(dict.fromkeys(json.dumps(v) for v in values))
            xs = np.array([labels.index(json.dumps(v)) for v in values], float)
            ax.scatter(xs, ys, color=rgb(0), alpha=0.8)
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)
