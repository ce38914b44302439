"""The `nncli` command line: a thin typer layer over the library.

`common` holds what every command shares (the app, the consoles, the error policy, the options); each other
module is one group of commands, registered here. Nothing in nncli imports this package.
"""

import typer

from nncli.cli import (
    attention,
    compare,
    config,
    datasets,
    explain,
    export,
    gradcheck,
    init,
    listing,
    plot,
    report,
    runs,
    sweep,
    train,
)
from nncli.cli.common import HELP_OPTIONS, app


def _add(group: typer.Typer, fn, name: str | None = None) -> None:
    """Register a command; its examples (`common.examples`) end its --help."""
    group.command(name, epilog=getattr(fn, "examples", None), context_settings=HELP_OPTIONS)(fn)


config_app = typer.Typer(no_args_is_help=True, help="Inspect and check config files.")
_add(config_app, config.config_schema, "schema")
_add(config_app, config.config_validate, "validate")
_add(config_app, config.config_reference, "reference")
datasets_app = typer.Typer(no_args_is_help=True, help="The bundled datasets.")
_add(datasets_app, datasets.datasets_list, "list")
_add(datasets_app, datasets.datasets_export, "export")

_add(app, train.train)
_add(app, runs.evaluate)
_add(app, runs.predict)
_add(app, listing.runs, "runs")
_add(app, gradcheck.gradcheck)
_add(app, init.init)
app.add_typer(config_app, name="config")
app.add_typer(datasets_app, name="datasets")
_add(app, compare.compare_optimizers, "compare-optimizers")
_add(app, sweep.sweep)
_add(app, plot.plot)
_add(app, report.report)
_add(app, attention.attention)
_add(app, export.export)
_add(app, explain.explain)

__all__ = ["app"]
