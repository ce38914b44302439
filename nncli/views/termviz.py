"""Terminal pictures with rich alone: loss curves, a loss landscape, a decision boundary, a fitted curve.

Curves are drawn with braille characters (a 2×4 grid of dots per character cell). Planes use the upper
half block ▀ with a foreground colour for the top pixel and a background colour for the bottom one, so
each character holds two pixels and, as terminal cells are about twice as tall as wide, pixels come out
roughly square. Colours follow matplotlib's tab10 cycle, so a terminal picture and `nncli plot`'s PNG of
the same run agree. Every function returns a rich renderable (a Panel).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.color import Color
from rich.console import Group
from rich.panel import Panel
from rich.style import Style
from rich.text import Span, Text

# matplotlib's tab10: one colour per series or class
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
BACKGROUND = (24, 24, 24)
# landscape levels from low to high loss: a glyph ramp (readable without colour) and viridis colours
LEVEL_GLYPHS = " .:-=+*#%@"
LEVEL_COLOURS = (
    (68, 1, 84),
    (72, 40, 120),
    (62, 74, 137),
    (49, 104, 142),
    (38, 130, 142),
    (31, 158, 137),
    (53, 183, 121),
    (109, 205, 89),
    (180, 222, 44),
    (253, 231, 37),
)
# braille dot bits by (row within the cell, column within the cell)
BRAILLE_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]])

RGB = tuple[int, int, int]


def colour(i: int) -> RGB:
    return PALETTE[i % len(PALETTE)]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """(1 − t)·a + t·b per channel."""
    return tuple(round((1 - t) * x + t * y) for x, y in zip(a, b))


def style(fg: RGB | None = None, bg: RGB | None = None, bold: bool = False) -> Style:
    return Style(
        color=Color.from_rgb(*fg) if fg else None, bgcolor=Color.from_rgb(*bg) if bg else None, bold=bold
    )


def num(v: float) -> str:
    return f"{v:.3g}"


def value_range(values: np.ndarray, pad: float = 0.0) -> tuple[float, float]:
    """(lo, hi) of the finite values, widened by `pad`·span; a flat range is widened by 5% of its value
    (at least 0.05) each side, an empty one is (0, 1)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo
    if span <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        half = 0.05 * max(abs(lo), 1.0)
        return lo - half, hi + half
    return lo - pad * span, hi + pad * span


def densify(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points along the polyline through (x, y) at most a pixel apart; segments touching NaN are dropped."""
    if x.size < 2:
        return x, y
    dx, dy = np.diff(x), np.diff(y)
    ok = np.isfinite(dx) & np.isfinite(dy)
    n = np.where(ok, np.maximum(np.ceil(np.maximum(np.abs(dx), np.abs(dy))), 1), 0).astype(np.int64)
    seg = np.repeat(np.arange(n.size), n)
    frac = (np.arange(seg.size) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    xs = np.concatenate([x[seg] + frac * dx[seg], x[-1:]])
    ys = np.concatenate([y[seg] + frac * dy[seg], y[-1:]])
    return xs, ys


class BrailleCanvas:
    """width × height characters of 2×4 dots each; a cell takes the colour of the last series drawn in it."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.bits = np.zeros((height, width), dtype=np.int64)
        self.owner = np.full((height, width), -1, dtype=np.int64)

    def dots(self, px: np.ndarray, py: np.ndarray, series: int) -> None:
        """Set the dots at pixel columns px ∈ [0, 2·width) and rows py ∈ [0, 4·height), row 0 on top."""
        keep = np.isfinite(px) & np.isfinite(py)
        px, py = np.round(px[keep]).astype(np.int64), np.round(py[keep]).astype(np.int64)
        keep = (px >= 0) & (px < 2 * self.width) & (py >= 0) & (py < 4 * self.height)
        px, py = px[keep], py[keep]
        np.bitwise_or.at(self.bits, (py // 4, px // 2), BRAILLE_BITS[py % 4, px % 2])
        self.owner[py // 4, px // 2] = series

    def plot(self, x, y, xlim, ylim, series: int, *, lines: bool = True) -> None:
        """Draw data coordinates (x, y) within xlim × ylim, joined by lines or as separate dots."""
        px = (np.asarray(x, float) - xlim[0]) / (xlim[1] - xlim[0]) * (2 * self.width - 1)
        py = (ylim[1] - np.asarray(y, float)) / (ylim[1] - ylim[0]) * (4 * self.height - 1)
        if lines:
            px, py = densify(px, py)
        self.dots(px, py, series)

    def rows(self, colours: list[RGB]) -> list[Text]:
        styles = {i: style(c) for i, c in enumerate(colours)}
        return [
            styled_row("".join(map(chr, 0x2800 + bits)), owner, styles)
            for bits, owner in zip(self.bits, self.owner)
        ]


def styled_row(chars: str, codes: np.ndarray, styles: dict[int, Style]) -> Text:
    """One line of text whose cell i has style styles[codes[i]] (none for a code not in `styles`);
    runs of equal codes share one span, which keeps big pictures cheap to build and to render."""
    cut = np.flatnonzero(np.diff(codes)) + 1
    starts, ends = np.concatenate([[0], cut]), np.concatenate([cut, [len(codes)]])
    spans = [Span(a, b, styles[codes[a]]) for a, b in zip(starts, ends) if codes[a] in styles]
    return Text(chars, spans=spans, no_wrap=True, overflow="crop")


def framed(rows: list[Text], xlim, ylim, *, y_labels: tuple[str, str] | None = None) -> list[Text]:
    """Rows with the y range on the left (max on top, min at the bottom) and the x range below."""
    top, bottom = y_labels or (num(ylim[1]), num(ylim[0]))
    lw = max(len(top), len(bottom))
    width = rows[0].cell_len if rows else 0
    out = []
    for i, row in enumerate(rows):
        label = top if i == 0 else bottom if i == len(rows) - 1 else ""
        line = Text(no_wrap=True, overflow="crop")
        line.append(f"{label:>{lw}} ┤" if label else f"{'':>{lw}} │", "dim")
        line.append_text(row)
        out.append(line)
    out.append(Text(f"{'':>{lw}} └" + "─" * width, style="dim", no_wrap=True))
    lo, hi = num(xlim[0]), num(xlim[1])
    out.append(Text(f"{'':>{lw}}  {lo}{hi:>{max(width - len(lo), len(hi) + 1)}}", style="dim", no_wrap=True))
    return out


def legend(entries: list[tuple[str, RGB]], glyph: str = "━━") -> Text:
    text = Text(no_wrap=False)
    for i, (name, rgb) in enumerate(entries):
        if i:
            text.append("  ")
        text.append(glyph, style(rgb, bold=True))
        text.append(f" {name}")
    return text


def panel(lines: list, title: str) -> Panel:
    return Panel(Group(*lines), title=title or None, expand=False, border_style="dim", padding=(0, 1))


# ---------------------------------------------------------------------------------------------- curves


def line_chart(
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    width: int = 64,
    height: int = 16,
    log_y: bool = False,
    title: str = "",
):
    """Several curves (name → (x, y)) on shared axes in braille, one colour each, with ranges and a legend.

    With `log_y` the y axis is log10 and values ≤ 0 are left out.
    """
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
    entries = []
    for i, (name, (_, y)) in enumerate(data.items()):
        last = y[np.isfinite(y)]
        value = f" {num(10 ** last[-1] if log_y else last[-1])}" if last.size else ""
        entries.append((f"{name}{value}", colours[i]))
    lines.append(legend(entries) + Text("  (log y)" if log_y else "", style="dim"))
    return panel(lines, title)


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
    return panel(lines, "fitted curve")


# ---------------------------------------------------------------------------------------------- planes


def plane_extent(X: np.ndarray, margin: float = 0.1) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax): the bounding box of the points (n, 2), widened by `margin`·span."""
    xlim, ylim = value_range(X[:, 0], margin), value_range(X[:, 1], margin)
    return (*xlim, *ylim)


def pixel_centres(extent, nx: int, ny: int) -> np.ndarray:
    """(ny·nx, 2) centres of an nx × ny pixel grid over extent, row by row from the top."""
    xmin, xmax, ymin, ymax = extent
    xs = xmin + (np.arange(nx) + 0.5) / nx * (xmax - xmin)
    ys = ymax - (np.arange(ny) + 0.5) / ny * (ymax - ymin)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def to_pixels(points: np.ndarray, extent, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel (row, column) of each point (n, 2), row 0 on top; points outside get −1."""
    xmin, xmax, ymin, ymax = extent
    col = np.floor((points[:, 0] - xmin) / (xmax - xmin) * nx)
    row = np.floor((ymax - points[:, 1]) / (ymax - ymin) * ny)
    inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    return np.where(inside, row, -1).astype(np.int64), np.where(inside, col, -1).astype(np.int64)


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
    lines.append(Text(f"{a} {num(xmin)} … {num(xmax)}   {b} {num(ymin)} … {num(ymax)}", style="dim"))
    named = [str(classes[k]) if classes and k < len(classes) else f"class {k}" for k in range(n_classes)]
    lines.append(legend([(name, colour(k)) for k, name in enumerate(named)], "■"))
    return panel(lines, "decision boundary")


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
    return panel(lines, "loss landscape")


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
    return panel(lines, title)
