"""What the terminal pictures are drawn with: the palette, value ranges, a braille canvas, styled rows of
cells, frames with axis ranges, legends and pixel grids over a plane. The pictures are in `termviz`
(in colour) and `mono` (without)."""

from __future__ import annotations

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
