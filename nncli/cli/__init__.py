"""The `nncli` command line: a thin typer layer over the library.

`common` holds what every command shares (the consoles, the error policy, the options); each other module
is one group of commands. COMMANDS names each command's function as "module:function", and `lazy` imports
a module only when its command is used, so that `nncli explain` or `nncli --version` starts without
importing the trainer, the sweeps or the exporters. Nothing in nncli imports this package.
"""

import typer

from nncli.cli.common import EPILOG, main
from nncli.cli.lazy import HELP_OPTIONS, Group, lazy_group

COMMANDS: dict[str, str | Group] = {
    "train": "train:train",
    "evaluate": "runs:evaluate",
    "predict": "runs:predict",
    "runs": "listing:runs",
    "gradcheck": "gradcheck:gradcheck",
    "init": "init:init",
    "config": Group(
        "Inspect and check config files.",
        {
            "schema": "config:config_schema",
            "validate": "config:config_validate",
            "reference": "config:config_reference",
        },
    ),
    "datasets": Group(
        "The bundled datasets.", {"list": "datasets:datasets_list", "export": "datasets:datasets_export"}
    ),
    "compare-optimizers": "compare:compare_optimizers",
    "sweep": "sweep:sweep",
    "plot": "plot:plot",
    "report": "report:report",
    "attention": "attention:attention",
    "export": "export:export",
    "explain": "explain:explain",
}

app = typer.Typer(
    cls=lazy_group(COMMANDS),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings=HELP_OPTIONS,
    help="Train small neural networks from YAML configs on a NumPy engine.",
    epilog=EPILOG,
)
app.callback()(main)

__all__ = ["COMMANDS", "app"]
