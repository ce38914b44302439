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
from nncli.version import __version__

EXIT_CODES = {
    0: "success",
    1: "an internal error (a bug; --debug shows the traceback), or a failed gradient check",
    2: "a user error: a bad config, data file, checkpoint or argument",
    3: "the run diverged",
    130: "interrupted by Ctrl-C (the checkpoint is written)",
    143: "stopped by SIGTERM (the checkpoint is written)",
}
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings=HELP_OPTIONS,
    help="Train small neural networks from YAML configs on a NumPy engine.",
    epilog="Exit codes:\n\n" + "\n\n".join(f"{code:>3}  {what}" for code, what in EXIT_CODES.items()),
)

console = Console()
err_console = Console(stderr=True)
_debug = {"on": False}

# Options shared by several commands, declared once.
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a config value: key.path=value (repeatable).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace the files of an existing --out directory.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result, no progress.")]
RunDirArg = Annotated[Path, typer.Argument(help="A run directory written by `nncli train`.")]
LogYOption = Annotated[
    bool | None,
    typer.Option(
        "--log-y/--linear-y",
        help="Log or linear loss axis (default: log where the loss spans more than a decade).",
        show_default=False,
    ),
]


def out_option(help: str):
    """The output location of a command: always `-o/--out` (old spellings are `hidden_alias`es)."""
    return Annotated[Path | None, typer.Option("--out", "-o", help=escape(help))]


def hidden_alias(name: str, kind: type = Path):
    """An old spelling of an option, still accepted for one release but no longer shown in --help."""
    return Annotated[kind | None, typer.Option(name, hidden=True)]


def pick(new, old, name: str, alias: str):
    """The value of an option given either as its new name or as its hidden old alias (not both)."""
    if new is not None and old is not None:
        raise NncliError(f"give {name} once ({alias} is its old name)")
    return new if new is not None else old


def examples(*commands: str):
    """Attach examples to a command; `nncli.cli` shows them at the end of its --help."""

    def attach(fn):
        fn.examples = "Examples:\n\n" + "\n\n".join(f"  {escape(c)}" for c in commands)
        return fn

    return attach


def _version(value: bool) -> None:
    if value:
        console.print(f"nncli {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print nncli's version and exit."
        ),
    ] = False,
):
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
