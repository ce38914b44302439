"""The live view's loss table, drawn as rich's boxed Table would draw it, one text line per row.

rich's Table lays out every cell of every row at every redraw, about 0.7 ms a row: the live view's
four redraws a second and the whole table printed at the end cost a small model a tenth of its training
time. The table's columns have fixed widths and one-line, right-justified cells, so a row is a line of
text that can be formatted once, when it is logged, and kept (`LineCache`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich import box
from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table

# (header, width, cell of a row): the reporter's columns
Column = tuple[str, int, Callable]
BOX = box.HEAVY_HEAD  # rich's default for a Table
HEADER = Style(bold=True)


def table_width(cols: Sequence[Column]) -> int:
    """Width of the boxed table with these columns: each is padded by one space a side, plus the rules."""
    return sum(width + 3 for _, width, _ in cols) + 1


def fit(text: str, width: int) -> str:
    """`text` right-justified in `width` cells, cut with an ellipsis when longer (rich's "ellipsis")."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return " " * (width - cell_len(text)) + text


def row_line(cols: Sequence[Column], row) -> str:
    """One body row, its rules included: │ cell │ cell │."""
    cells = (f" {fit(cell(row), width)} " for _, width, cell in cols)
    return BOX.mid_left + BOX.mid_vertical.join(cells) + BOX.mid_right


class LineCache:
    """Each row's line, formatted once per set of columns (the set changes only when the terminal's
    width does)."""

    def __init__(self) -> None:
        self._key: tuple = ()
        self._lines: list[str] = []

    def lines(self, cols: Sequence[Column], rows: Sequence, start: int = 0) -> list[str]:
        """The lines of rows[start:]."""
        key = tuple((name, width) for name, width, _ in cols)
        if key != self._key:
            self._key, self._lines = key, []
        self._lines.extend(row_line(cols, r) for r in rows[len(self._lines) :])
        return self._lines[start : len(rows)]


def rich_table(cols: Sequence[Column], rows: Sequence) -> Table:
    """The same table laid out by rich, which also squeezes it into less than its width."""
    table = Table(title=None, expand=False, header_style=HEADER)
    for name, width, _ in cols:
        table.add_column(name, justify="right", width=width, no_wrap=True, overflow="ellipsis")
    for r in rows:
        table.add_row(*(cell(r) for _, _, cell in cols))
    return table


class LossTable:
    """A boxed table with a bold header over the rows' lines (`LineCache.lines(cols, rows)`)."""

    def __init__(self, cols: Sequence[Column], rows: Sequence, lines: Sequence[str]) -> None:
        self.cols, self.rows, self.lines = cols, rows, lines
        self.widths = [width + 2 for _, width, _ in cols]  # one space of padding a side
        self.width = table_width(cols)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # rich's own layout where it has to squeeze the table (a terminal too narrow even for the first
        # three columns) or draw it in ASCII (an encoding without box characters, a legacy console)
        if options.max_width < self.width or BOX.substitute(options, safe=console.safe_box) is not BOX:
            yield rich_table(self.cols, self.rows)
            return
        new_line = Segment.line()
        yield Segment(BOX.get_top(self.widths))
        yield new_line
        yield Segment(BOX.head_left)
        for i, (name, width, _) in enumerate(self.cols):
            yield Segment(" ", HEADER)
            yield Segment(fit(name, width), HEADER)
            yield Segment(" ", HEADER)
            yield Segment(BOX.head_vertical if i < len(self.cols) - 1 else BOX.head_right)
        yield new_line
        yield Segment(BOX.get_row(self.widths, "head"))
        yield new_line
        for line in self.lines:
            yield Segment(line)
            yield new_line
        yield Segment(BOX.get_bottom(self.widths))
        yield new_line
