"""Terminal pictures with rich alone: loss curves, a loss landscape, a decision boundary, a fitted curve.

Curves are drawn with braille characters (a 2×4 grid of dots per character cell). Planes use the upper
half block ▀ with a foreground colour for the top pixel and a background colour for the bottom one, so
each character holds two pixels and, as terminal cells are about twice as tall as wide, pixels come out
roughly square. Colours follow matplotlib's tab10 cycle, so a terminal picture and `nncli plot`'s PNG of
the same run agree. Every function returns a rich renderable: a Panel, or on a console without colour
its colourless twin from `nncli.views.mono`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.text import Text

from nncli.views import mono
from nncli.views.canvas import (  # noqa: F401  (re-exported: termviz is the pictures' public face)
    BACKGROUND,
    BRAILLE_BITS,
    LEVEL_COLOURS,
    LEVEL_GLYPHS,
    PALETTE,
    RGB,
    BrailleCanvas,
    colour,
    densify,
    framed,
    legend,
    mix,
    num,
    panel,
    pixel_centres,
    plane_extent,
    style,
    styled_row,
    to_pixels,
    value_range,
)
from nncli.views.scales import log_axis

# ---------------------------------------------------------------------------------------------- curves


def line_chart(
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    width: int = 64,
    height: int = 16,
    log_y: bool | None = False,
    title: str = "",
):
    """Several curves (name → (x, y)) on shared axes in braille, one colour each, with ranges and a legend.

    With `log_y` the y axis is log10 and values ≤ 0 are left out; None chooses (`scales.log_axis`).
    """
    log_y = log_axis([y for _, y in series.values()], log_y)
    canvas = BrailleCanvas(width, height)
    data = {}
    for name, (x, y) in series.items():
        x, y = np.asarray(x, float), np.asarray(y, float)
        if log_y:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), np.nan)
        data[name] = (x, y)
    xs = np.concatenate([x for x, _ in data.values()]) if data else np.zeros(0)
    ys = np.concatenate([y for _, y in data.values()]) if data else np.zeros(0)
    xlim, ylim = value_range(xs), value_range(ys)
    for i, (x, y) in enumerate(data.values()):
        canvas.plot(x, y, xlim, ylim, i)
    colours = [colour(i) for i in range(len(data))]
    labels = (num(10 ** ylim[1]), num(10 ** ylim[0])) if log_y else None
    lines = framed(canvas.rows(colours), xlim, ylim, y_labels=labels)
    notes = {}
    for name, (_, y) in data.items():
        last = y[np.isfinite(y)]
        notes[name] = f" {num(10 ** last[-1] if log_y else last[-1])}" if last.size else ""
    entries = [(f"{name}{notes[name]}", colours[i]) for i, name in enumerate(data)]
    lines.append(legend(entries) + Text("  (log y)" if log_y else "", style="dim"))
    return mono.ColourOrNot(
        panel(lines, title),
        lambda: mono.line_chart(data, xlim, ylim, width, height, labels, notes, log_y, title),
    )


def fitted_curve(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    width: int = 48,
    height: int = 24,
):
    """1-D regression: the data points (x, y) as dots and the model's curve predict(x) as a line.

    `predict` maps raw inputs (n, 1) to predictions (n,).
    """
    x = np.asarray(X, float).reshape(-1)
    xlim = value_range(x, 0.03)
    grid = np.linspace(xlim[0], xlim[1], 2 * width)
    curve = np.asarray(predict(grid[:, None]), float).reshape(-1)
    ylim = value_range(np.concatenate([np.asarray(y, float).reshape(-1), curve]), 0.05)
    canvas = BrailleCanvas(width, height)
    canvas.plot(x, y, xlim, ylim, 0, lines=False)
    canvas.plot(grid, curve, xlim, ylim, 1)
    colours = [colour(0), colour(1)]
    lines = framed(canvas.rows(colours), xlim, ylim)
    lines.append(legend([("data", colours[0])], "⠶") + Text("  ") + legend([("model", colours[1])]))
    return mono.ColourOrNot(
        panel(lines, "fitted curve"), lambda: mono.fitted_curve(x, y, grid, curve, xlim, ylim, width, height)
    )


# ---------------------------------------------------------------------------------------------- planes


def half_blocks(image: np.ndarray, colours: list[RGB]) -> list[Text]:
    """Rows of ▀ from an image (2·rows, cols) of indices into `colours`: fg = upper pixel, bg = lower one."""
    n = len(colours)
    pairs = image[0::2] * n + image[1::2]
    styles = {int(c): style(colours[c // n], colours[c % n]) for c in np.unique(pairs)}
    return [styled_row("▀" * len(codes), codes, styles) for codes in pairs]


def decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    width: int = 48,
    height: int = 24,
    names: tuple[str, str] = ("x₀", "x₁"),  # the axes' feature names
    classes: tuple | None = None,  # the class names, for the legend
):
    """The input plane coloured by predicted class, the training points on top in their class colour.

    `predict` maps raw points (n, 2) to class labels (n,); it is called once, on width × 2·height pixel
    centres over X's bounding box plus a margin. Regions are a dim shade of the class colour, points the
    full colour, so a misclassified point shows as a bright pixel of another colour.
    """
    X, y = np.asarray(X, float), np.asarray(y).astype(np.int64)
    extent = plane_extent(X)
    nx, ny = width, 2 * height
    labels = np.asarray(predict(pixel_centres(extent, nx, ny))).astype(np.int64).reshape(ny, nx)
    n_classes = int(max(labels.max(initial=0), y.max(initial=0))) + 1
    # colour k: the region of class k; colour n_classes + k: a training point of class k
    colours = [mix(BACKGROUND, colour(k), 0.45) for k in range(n_classes)]
    colours += [mix(colour(k), (255, 255, 255), 0.15) for k in range(n_classes)]
    image = labels.copy()
    row, col = to_pixels(X, extent, nx, ny)
    inside = row >= 0
    image[row[inside], col[inside]] = n_classes + y[inside]
    lines = half_blocks(image, colours)
    (xmin, xmax, ymin, ymax), (a, b) = extent, names
    lines.append(Text(f"{a} {num(xmin)} … {num(xmax)}\n{b} {num(ymin)} … {num(ymax)}", style="dim"))
    named = [str(classes[k]) if classes and k < len(classes) else f"class {k}" for k in range(n_classes)]
    lines.append(legend([(name, colour(k)) for k, name in enumerate(named)], "■"))
    cell_of_points = (row[inside] // 2, col[inside])
    return mono.ColourOrNot(
        panel(lines, "decision boundary"),
        lambda: mono.decision_boundary(labels[0::2], cell_of_points, y[inside], n_classes, extent),
    )


def contour_map(
    grid: np.ndarray,
    extent: tuple[float, float, float, float],
    paths: dict[str, np.ndarray],
    *,
    width: int = 64,
    height: int = 24,
):
    """A loss landscape as shaded characters, with optimizer paths drawn on top.

    grid[i, j] is the loss at x = linspace(xmin, xmax, nx)[j], y = linspace(ymin, ymax, ny)[i] (row 0 at
    ymin, as for matplotlib's contour). Levels are log-spaced between the smallest and largest value
    (shifted to be positive), so the valley floor keeps its detail. Each path (k, 2) is a line of • in its
    own colour from ○ (start) to ● (end).
    """
    grid = np.asarray(grid, float)
    ny, nx = grid.shape
    xmin, xmax, ymin, ymax = extent
    cells = pixel_centres(extent, width, height)  # row 0 on top
    j = np.clip(np.round((cells[:, 0] - xmin) / (xmax - xmin) * (nx - 1)), 0, nx - 1).astype(np.int64)
    i = np.clip(np.round((cells[:, 1] - ymin) / (ymax - ymin) * (ny - 1)), 0, ny - 1).astype(np.int64)
    level, lo, hi = log_levels(grid[i, j].reshape(height, width), grid, len(LEVEL_GLYPHS))
    glyphs = np.array(list(LEVEL_GLYPHS))[level]
    owner = np.full((height, width), -1, dtype=np.int64)
    marks = np.full((height, width), "•", dtype=object)
    for p, path in enumerate(paths.values()):
        path = np.asarray(path, float).reshape(-1, 2)
        cx = (path[:, 0] - xmin) / (xmax - xmin) * width - 0.5
        cy = (ymax - path[:, 1]) / (ymax - ymin) * height - 0.5
        xs, ys = densify(cx, cy)
        for k, (a, b) in enumerate(zip(np.round(ys), np.round(xs))):
            if 0 <= a < height and 0 <= b < width:
                owner[int(a), int(b)] = p
                marks[int(a), int(b)] = "○" if k == 0 else "●" if k == len(xs) - 1 else "•"
    # style code: the level for landscape cells, n_levels + p for cells of path p
    n_levels = len(LEVEL_GLYPHS)
    codes = np.where(owner >= 0, n_levels + owner, level)
    chars = np.where(owner >= 0, marks, glyphs)
    styles = {k: style(rgb) for k, rgb in enumerate(LEVEL_COLOURS)}
    styles.update({n_levels + p: style(colour(p), bold=True) for p in range(len(paths))})
    rows = [styled_row("".join(c), k, styles) for c, k in zip(chars, codes)]
    lines = framed(rows, (xmin, xmax), (ymin, ymax))
    scale = Text("loss (log levels) ", style="dim")
    scale.append(num(lo) + " ", style="dim")
    for g, rgb in zip(LEVEL_GLYPHS, LEVEL_COLOURS):
        scale.append(g if g != " " else "·", style(rgb))
    scale.append(" " + num(hi), style="dim")
    lines += [scale, legend([(name, colour(p)) for p, name in enumerate(paths)], "●")]
    return mono.ColourOrNot(
        panel(lines, "loss landscape"), lambda: mono.contour_map(glyphs, paths, extent, lo, hi)
    )


def log_levels(values: np.ndarray, reference: np.ndarray, n: int) -> tuple[np.ndarray, float, float]:
    """Level 0…n−1 of each value on a log scale between the reference's min and max; NaN goes to the top.

    Values are shifted by −min + δ (δ = 10⁻³·span) first, so zeros and negative losses work too.
    """
    finite = reference[np.isfinite(reference)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    delta = 1e-3 * (hi - lo) if hi > lo else 1.0
    with np.errstate(invalid="ignore"):
        t = np.log((values - lo + delta) / delta) / np.log((hi - lo + delta) / delta)
    level = np.floor(np.nan_to_num(t, nan=1.0, posinf=1.0, neginf=0.0) * n)
    return np.clip(level, 0, n - 1).astype(np.int64), lo, hi


def heatmap(
    matrix: np.ndarray,
    *,
    row_labels: list[str],
    col_labels: list[str],
    title: str = "attention",
    cell: int = 3,
):
    """A matrix of weights in [0, 1] as coloured cells (viridis from 0 to the row maximum), rows labelled
    on the left and columns on top: for attention, rows are queries and columns the keys they look at."""
    matrix = np.asarray(matrix, float)
    top = float(np.nanmax(matrix)) if matrix.size else 1.0
    n_levels = len(LEVEL_COLOURS)
    level = np.clip(np.floor(matrix / (top or 1.0) * n_levels), 0, n_levels - 1).astype(np.int64)
    styles = {k: style(bg=rgb) for k, rgb in enumerate(LEVEL_COLOURS)}
    label_w = max((len(s) for s in row_labels), default=0) + 1
    header = Text(" " * label_w)
    for label in col_labels:
        header.append(label[: cell - 1].rjust(cell - 1) + " ", style="dim")
    lines = [header]
    for label, row in zip(row_labels, level):
        line = Text(label.rjust(label_w - 1) + " ", style="dim")
        line += styled_row(" " * (cell * len(row)), np.repeat(row, cell), styles)
        lines.append(line)
    scale = Text("weight 0 ", style="dim")
    for rgb in LEVEL_COLOURS:
        scale.append("  ", style(bg=rgb))
    scale.append(f" {num(top)}", style="dim")
    lines += [Text("rows: queries (where from) · columns: keys (where to look)", style="dim"), scale]
    return mono.ColourOrNot(
        panel(lines, title), lambda: mono.heatmap(level, row_labels, col_labels, top, title, cell)
    )
