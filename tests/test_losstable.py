"""The live view's loss table draws exactly what rich's boxed Table draws, from lines made once a row."""

import io

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.table import Table

from nncli.training.events import StepEnd
from nncli.views.losstable import LineCache, LossTable
from nncli.views.reporter import fitting_columns


def rows(n: int) -> list[StepEnd]:
    return [
        StepEnd(
            step=10 * i,
            epoch=123456 if i == 3 else i,  # wider than its column: cut with an ellipsis
            train_loss=1.0,
            data_loss=0.5,
            data_loss_mean=0.4 / (i + 1) * 1e-3,
            penalty=0.0,
            lr=1e-3 * i,
            grad_norm=123456789.0 * i,
            time_s=1.0,
            val_loss=None if i < 2 else 0.3,
            val_metric=None if i < 2 else 0.9,
            val_step=None if i < 2 else 10 * i,
        )
        for i in range(n)
    ]


def rich_table(cols, logged) -> Table:
    """The table as the reporter built it before: rich lays out every cell."""
    table = Table(title=None, expand=False, header_style="bold")
    for name, width, _ in cols:
        table.add_column(name, justify="right", width=width, no_wrap=True, overflow="ellipsis")
    for r in logged:
        table.add_row(*(cell(r) for _, _, cell in cols))
    return table  # written out here, not taken from losstable: what the fast path must match


def printed(renderable, width: int, color: bool) -> str:
    console = Console(
        file=io.StringIO(), width=width, force_terminal=color, color_system="truecolor" if color else None
    )
    console.print(renderable)
    return console.file.getvalue()


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("width", [30, 44, 60, 80, 120])
@pytest.mark.parametrize("metric", ["accuracy", "r2", "a_very_long_metric_name"])
def test_it_prints_what_richs_table_prints(color, width, metric):
    cols = fitting_columns(metric, width)
    for n in (0, 1, 5):
        logged = rows(n)
        ours = LossTable(cols, logged, LineCache().lines(cols, logged))
        assert printed(ours, width, color) == printed(rich_table(cols, logged), width, color)
        console = Console(file=io.StringIO(), width=width)
        drawn = list(ours.__rich_console__(console, console.options))
        fast = all(isinstance(s, Segment) for s in drawn)
        assert fast == (ours.width <= width)  # rich lays it out only where it must squeeze it
    assert "…" in printed(ours, width, False) or len(cols) < 5  # the epoch cell was cut


class Latin1(io.StringIO):
    encoding = "latin-1"  # a terminal without box-drawing characters


def test_without_box_characters_rich_draws_it_in_ascii_as_before():
    cols, logged = fitting_columns("accuracy", 100), rows(5)
    ours = LossTable(cols, logged, LineCache().lines(cols, logged))
    outs = []
    for renderable in (ours, rich_table(cols, logged)):
        console = Console(file=Latin1(), width=100, force_terminal=True)
        console.print(renderable)
        outs.append(console.file.getvalue())
    assert outs[0] == outs[1] and "+---" in outs[0] and "┃" not in outs[0]


def test_lines_are_made_once_per_row_and_again_when_the_columns_change():
    cache, logged = LineCache(), rows(5)
    wide, narrow = fitting_columns("accuracy", 120), fitting_columns("accuracy", 44)
    first = cache.lines(wide, logged[:2])
    assert cache.lines(wide, logged, start=3) == cache.lines(wide, logged)[3:]
    assert cache.lines(wide, logged)[:2] == first
    assert len(cache.lines(narrow, logged)) == 5 and len(narrow) < len(wide)
    assert all(len(line) < len(first[0]) for line in cache.lines(narrow, logged))
