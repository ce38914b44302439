"""What every command shares: the consoles, the error policy and the options declared once.

Every command turns user mistakes (`nncli.errors.NncliError`) into one clear message and exit code 2;
anything else is a bug: exit 1, with the traceback behind `--debug`.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from nncli.errors import NncliError, visible
from nncli.fileio import check_path, describe
from nncli.version import __version__

EXIT_CODES = {
    0: "success",
    1: "an internal error (a bug; --debug shows the traceback), or a failed gradient check",
    2: "a user error: a bad config, data file, checkpoint or argument",
    3: "the run diverged",
    130: "interrupted by Ctrl-C (the checkpoint is written)",
    143: "stopped by SIGTERM (the checkpoint is written)",
}
EPILOG = "Exit codes:\n\n" + "\n\n".join(f"{code:>3}  {what}" for code, what in EXIT_CODES.items())


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
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace output files that exist (never a run's own files).")
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


def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print nncli's version and exit."
        ),
    ] = False,
):
    """The options before the command (`nncli.cli` registers this as the app's callback)."""
    _debug["on"] = debug


def tolerate_encoding() -> None:
    """A terminal whose encoding lacks a character nncli prints (a dash, a box line, a Greek letter in
    a name) shows "?" in its place instead of stopping the command with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def say(label: str, style: str, message: str) -> None:
    """One message on stderr: a styled label, then `message` as plain text with its control characters
    made visible (it may quote paths, names and values from files: never markup, never escapes)."""
    err_console.print(Text.assemble((label, style), " ", visible(message)), highlight=False, soft_wrap=True)


def echo(message: str) -> None:
    """A line on stdout that may hold paths or names: plain text, control characters made visible."""
    console.print(Text(visible(message)), highlight=False, soft_wrap=True)


def user_errors(fn):
    """Exit 2 with the message for user errors and file-system faults; exit 1 for bugs (traceback with
    --debug). Path arguments are checked before the command runs."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            for name, value in kwargs.items():
                for path in value if isinstance(value, list) else [value]:
                    if isinstance(path, Path):
                        check_path(path, name.rstrip("_").replace("_", "-"))
            return fn(*args, **kwargs)
        except NncliError as exc:
            say("error:", "bold red", str(exc))
            raise typer.Exit(2) from None
        except typer.Exit:
            raise
        except OSError as exc:  # the file system refused: no space, read-only, permission, odd path
            where = f" {exc.filename}" if exc.filename is not None else ""
            say("error:", "bold red", f"{describe(exc)}:{where}")
            raise typer.Exit(2) from None
        except MemoryError:
            say(
                "error:",
                "bold red",
                "not enough memory for this run; use fewer data.samples or smaller layers",
            )
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            say("interrupted", "", "")
            raise typer.Exit(130) from None
        except Exception as exc:
            if _debug["on"]:
                raise
            say(
                "internal error:",
                "bold red",
                f"{type(exc).__name__}: {exc}\n"
                "This is a bug in nncli; run again with --debug for the traceback.",
            )
            raise typer.Exit(1) from None

    return wrapper
