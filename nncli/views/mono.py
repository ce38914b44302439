"""The terminal pictures without colour (NO_COLOR, a pipe, a dumb terminal): glyphs instead of hues.

Each picture in `termviz` is a `ColourOrNot`: rich renders the coloured picture on a console that shows
colour, and otherwise the colourless twin drawn here: a glyph per class (regions) and the class digit
(points) for a decision boundary, the character ramp " .:-=+*#%@" for heatmaps, and a marker per curve
or path. The twins use one character per cell, so they are half the resolution of the half-block and
braille pictures, and every glyph is explained by the legend.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.console import Console, ConsoleOptions, RenderableType
from rich.measure import Measurement
from rich.text import Text

from nncli.views.canvas import LEVEL_GLYPHS, densify, framed, num, panel

REGION_GLYPHS = "·░▒:=~+-'^"  # class k's region; its training points are the digit k
MARKERS = "•ox+*#@%&="  # curve or path i; in a landscape the paths are numbered instead


def has_colour(console: Console) -> bool:
    return not console.no_color and console.color_system is not None


class ColourOrNot:
    """A picture in colour, or its colourless twin (built only when needed) where the console has none."""

    def __init__(self, coloured: RenderableType, plain: Callable[[], RenderableType]) -> None:
        self.coloured, self.plain = coloured, plain

    def pick(self, console: Console) -> RenderableType:
        return self.coloured if has_colour(console) else self.plain()

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        yield self.pick(console)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.pick(console))


def glyph_rows(chars: np.ndarray) -> list[Text]:
    return [Text("".join(row), no_wrap=True, overflow="crop") for row in chars]


def curves(data: dict[str, tuple[np.ndarray, np.ndarray]], xlim, ylim, width: int, height: int):
    """Curves (already in plot coordinates) on a width × height grid of cells, marker i for curve i;
    returns the framed rows (without the legend) and the marker of each curve."""
    grid = np.full((height, width), " ", dtype=object)
    marks = {}
    for i, (name, (x, y)) in enumerate(data.items()):
        mark = MARKERS[i % len(MARKERS)]
        marks[name] = mark
        px = (np.asarray(x, float) - xlim[0]) / (xlim[1] - xlim[0]) * (width - 1)
        py = (ylim[1] - np.asarray(y, float)) / (ylim[1] - ylim[0]) * (height - 1)
        px, py = densify(px, py)
        keep = np.isfinite(px) & np.isfinite(py)
        grid[
            np.round(py[keep]).astype(int).clip(0, height - 1),
            np.round(px[keep]).astype(int).clip(0, width - 1),
        ] = mark
    return glyph_rows(grid), marks


def line_chart(data, xlim, ylim, width, height, labels, notes: dict[str, str], log_y: bool, title: str):
    rows, marks = curves(data, xlim, ylim, width, height)
    lines = framed(rows, xlim, ylim, y_labels=labels)
    legend = "  ".join(f"{marks[name]} {name}{notes.get(name, '')}" for name in data)
    lines.append(Text(legend + ("  (log y)" if log_y else ""), style="dim"))
    return panel(lines, title)


def fitted_curve(x, y, grid, curve, xlim, ylim, width: int, height: int):
    rows, _ = curves({"model": (grid, curve)}, xlim, ylim, width, height)
    chars = np.array([list(r.plain) for r in rows], dtype=object)
    px = np.round((np.asarray(x, float) - xlim[0]) / (xlim[1] - xlim[0]) * (width - 1)).astype(int)
    py = np.round((ylim[1] - np.asarray(y, float)) / (ylim[1] - ylim[0]) * (height - 1)).astype(int)
    inside = (px >= 0) & (px < width) & (py >= 0) & (py < height)
    chars[py[inside], px[inside]] = "x"
    lines = framed(glyph_rows(chars), xlim, ylim)
    lines.append(Text("x data  • model", style="dim"))
    return panel(lines, "fitted curve")


def decision_boundary(labels: np.ndarray, point_cells: tuple, classes: np.ndarray, n_classes: int, extent):
    """labels (height, width) per cell; points at (rows, cols) of class `classes` drawn as their digit."""
    if n_classes > len(REGION_GLYPHS):
        return Text(f"decision boundary: {n_classes} classes are too many to tell apart without colour")
    chars = np.array(list(REGION_GLYPHS), dtype=object)[labels]
    row, col = point_cells
    chars[row, col] = [str(k) for k in classes]
    lines = glyph_rows(chars)
    xmin, xmax, ymin, ymax = extent
    lines.append(Text(f"x₀ {num(xmin)} … {num(xmax)}\nx₁ {num(ymin)} … {num(ymax)}", style="dim"))
    lines += [
        Text(f"class {k}: region {REGION_GLYPHS[k]}, points {k}", style="dim") for k in range(n_classes)
    ]
    return panel(lines, "decision boundary")


def heatmap(level: np.ndarray, row_labels, col_labels, top: float, title: str, cell: int):
    label_w = max((len(s) for s in row_labels), default=0) + 1
    header = Text(" " * label_w, style="dim")
    for label in col_labels:
        header.append(label[: cell - 1].rjust(cell - 1) + " ")
    lines = [header]
    glyphs = np.array(list(LEVEL_GLYPHS), dtype=object)
    for label, row in zip(row_labels, level):
        cells = "".join(glyphs[k] * (cell - 1) + " " for k in row)
        lines.append(Text(label.rjust(label_w - 1) + " " + cells, no_wrap=True))
    lines.append(Text("rows: queries (where from) · columns: keys (where to look)", style="dim"))
    lines.append(Text(f"weight 0 '{LEVEL_GLYPHS}' {num(top)}", style="dim"))
    return panel(lines, title)


def contour_map(glyphs: np.ndarray, paths: dict[str, np.ndarray], extent, lo: float, hi: float):
    """The landscape's glyph ramp as it is, each optimizer's path drawn as its number (1, 2, ...) from ○
    (start) to ● (end)."""
    xmin, xmax, ymin, ymax = extent
    height, width = glyphs.shape
    chars = glyphs.astype(object).copy()
    for p, path in enumerate(paths.values()):
        path = np.asarray(path, float).reshape(-1, 2)
        cx = (path[:, 0] - xmin) / (xmax - xmin) * width - 0.5
        cy = (ymax - path[:, 1]) / (ymax - ymin) * height - 0.5
        xs, ys = densify(cx, cy)
        marks = np.full(len(xs), str((p + 1) % 10), dtype=object)
        marks[0], marks[-1] = "○", "●"
        keep = (np.round(ys) >= 0) & (np.round(ys) < height) & (np.round(xs) >= 0) & (np.round(xs) < width)
        chars[np.round(ys[keep]).astype(int), np.round(xs[keep]).astype(int)] = marks[keep]
    lines = framed(glyph_rows(chars), (xmin, xmax), (ymin, ymax))
    lines.append(Text(f"loss (log levels) {num(lo)} '{LEVEL_GLYPHS}' {num(hi)}", style="dim"))
    names = "  ".join(f"{(p + 1) % 10} {name}" for p, name in enumerate(paths))
    lines.append(Text(f"{names}  (○ start, ● end)", style="dim"))
    return panel(lines, "loss landscape")
