"""Command groups whose commands are imported on first use.

`nncli explain` should not pay for importing the trainer, the sweeps, Ray's glue and the exporters, nor
`nncli --version` for any of them: a command is named in a table as "module:function" (a module of
`nncli.cli`), and its module is imported only when the command runs, its help is shown or a listing
(`nncli --help`, completion) asks for it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping

import typer
from typer.core import TyperGroup

from nncli.cli.common import tolerate_encoding

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


class Group:
    """A nested group in a command table: `nncli config schema`."""

    def __init__(self, help: str, commands: Mapping[str, str | Group]) -> None:
        self.help, self.commands = help, commands


def command_from(name: str, target: str):
    """The click command for "module:function": the function registered as typer does, its examples
    (`common.examples`) at the end of its --help."""
    module, function = target.split(":")
    fn = getattr(importlib.import_module(f"nncli.cli.{module}"), function)
    single = typer.Typer(add_completion=False, rich_markup_mode="rich")
    single.command(name, epilog=getattr(fn, "examples", None), context_settings=HELP_OPTIONS)(fn)
    return typer.main.get_command(single)


class LazyCommands(MutableMapping):
    """name → click command, built from a table the first time each name is looked up."""

    def __init__(self, table: Mapping[str, str | Group]) -> None:
        self._table, self._built = dict(table), {}

    def __getitem__(self, name: str):
        if name not in self._built:
            entry = self._table[name]  # KeyError for an unknown name, as a dict
            if isinstance(entry, Group):
                self._built[name] = lazy_group(entry.commands)(
                    name=name, help=entry.help, no_args_is_help=True, context_settings=HELP_OPTIONS
                )
            else:
                self._built[name] = command_from(name, entry)
        return self._built[name]

    def __setitem__(self, name: str, command) -> None:
        self._table.setdefault(name, "")
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._table[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table


def lazy_group(table: Mapping[str, str | Group]) -> type[TyperGroup]:
    """A TyperGroup class whose commands are `table`'s, each loaded when first looked up."""

    class LazyGroup(TyperGroup):
        def __init__(self, *, commands=None, **kwargs) -> None:
            kwargs.setdefault("rich_markup_mode", "rich")
            super().__init__(commands=LazyCommands(table), **kwargs)
            for command in (commands or {}).values() if isinstance(commands, Mapping) else commands or ():
                self.add_command(command)

        def main(self, *args, **kwargs):
            tolerate_encoding()  # before anything is printed, --help included
            return super().main(*args, **kwargs)

    return LazyGroup
