"""The `nncli` command line: a thin typer layer over the library."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.command()
def version() -> None:
    """Print nncli's version."""
    from nncli import __version__

    typer.echo(__version__)
