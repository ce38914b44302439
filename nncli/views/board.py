"""A live board of many runs: redrawn in place on a terminal, silent elsewhere (its owner then prints a
plain line per finished run)."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console, RenderableType
from rich.live import Live


class LiveBoard:
    """A context manager that shows `render()` live while it is entered, on a terminal and unless quiet."""

    def __init__(
        self, console: Console, render: Callable[[], RenderableType], *, quiet: bool, fps: int
    ) -> None:
        self.console, self.quiet = console, quiet
        self.live = Live(console=console, get_renderable=render, refresh_per_second=fps, transient=True)
        self.live_mode = console.is_terminal and not quiet

    def __enter__(self):
        if self.live_mode:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live_mode:
            self.live.__exit__(*exc)
