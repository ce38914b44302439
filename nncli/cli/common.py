"""What every command shares: the app, the consoles, the error policy and the options declared once.

Every command turns user mistakes (`nncli.errors.NncliError`) into one clear message and exit code 2;
anything else is a bug: exit 1, with the traceback behind `--debug`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from nncli.errors import NncliError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    help="Train small neural networks from YAML configs on a NumPy engine.",
)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """A closed standard output raises BrokenPipeError, for the command to handle (`train` stops
        with a checkpoint), instead of rich's immediate exit 1."""
        self.quiet = True  # drop whatever else is printed
        raise BrokenPipeError("standard output closed")


console = _Console()
err_console = Console(stderr=True)
_debug = {"on": False}

# Options shared by several commands, declared once.
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a config value: key.path=value (repeatable).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
RunDirArg = Annotated[Path, typer.Argument(help="A run directory written by `nncli train`.")]


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False):
    _debug["on"] = debug


def user_errors(fn):
    """Exit 2 with the message for user errors; exit 1 for bugs (traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NncliError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except typer.Exit:
            raise
        except MemoryError:
            err_console.print(
                "[bold red]error:[/] not enough memory for this run; use fewer data.samples or smaller layers"
            )
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            if _debug["on"]:
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                "This is a bug in nncli; run again with --debug for the traceback.",
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper
