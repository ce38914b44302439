"""Errors a user can cause and fix. The CLI prints their message and exits 2; anything else is a bug."""

from __future__ import annotations


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
        from nncli.registry import did_you_mean

        self.kind, self.name, self.choices = kind, name, choices
        super().__init__(
            f"unknown {kind} '{name}'{did_you_mean(name, choices)}; choose from: {', '.join(choices)}"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]
