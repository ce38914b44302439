"""Errors a user can cause and fix. The CLI prints their message and exits 2; anything else is a bug."""

from __future__ import annotations

import difflib


class NncliError(Exception):
    """Bad input from the user: a config, a data file, a run directory, a checkpoint, an argument."""


class ConfigError(NncliError):
    """A config file or override that does not validate."""


class DataError(NncliError):
    """A data file or generated dataset that cannot be used as asked."""


class CheckpointError(NncliError):
    """A parameter or checkpoint file that does not fit the model, or a run directory that is unusable."""


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
