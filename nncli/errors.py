"""Errors a user can cause and fix. The CLI prints their message and exits 2; anything else is a bug.

Text in a message that came from a file or an argument goes through `visible` (control characters made
visible: a config, data file or path can hold terminal escape sequences) or `excerpt` (also cut short:
a message quotes a value, never whole lines of a file that may not be nncli's).
"""

from __future__ import annotations

import difflib
import re


class NncliError(Exception):
    """Bad input from the user: a config, a data file, a run directory, a checkpoint, an argument."""


class ConfigError(NncliError):
    """A config file or override that does not validate."""


class DataError(NncliError):
    """A data file or generated dataset that cannot be used as asked."""


class CheckpointError(NncliError):
    """A parameter or checkpoint file that does not fit the model, or a run directory that is unusable."""


class FileSystemError(NncliError):
    """A file or folder the file system refuses: no space left, read-only, permission denied, a path too
    long or looping, or a file that belongs to a run and must not be written over."""


class UnknownNameError(NncliError, KeyError):
    """A name that no registry holds."""

    def __init__(self, kind: str, name: str, choices: list[str]) -> None:
        self.kind, self.name, self.choices = kind, name, choices
        super().__init__(
            f"unknown {kind} '{name}'{did_you_mean(name, choices)}; choose from: {', '.join(choices)}"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


def did_you_mean(name: str, choices: list[str]) -> str:
    """' (did you mean 'adam'?)' when a close match exists, else ''."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# C0 controls but tab and newline, DEL, and the C1 controls (U+0080..U+009F: 0x9B is a one-byte CSI)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
EXCERPT = 40  # characters of a value quoted in a message


def visible(text: object) -> str:
    """`text` with every control character but newline and tab written as an escape (`\\x1b`), so it
    prints as what it is instead of acting on the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def excerpt(text: object, limit: int = EXCERPT) -> str:
    """A short, visible quote of a value: one line, at most `limit` characters, then '…'."""
    flat = visible(str(text).replace("\n", "\\n").replace("\t", "\\t"))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
