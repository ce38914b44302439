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
    listing,
    plot,
    report,
    runs,
    sweep,
    train,
)
from nncli.cli.common import app

config_app = typer.Typer(no_args_is_help=True, help="Inspect and check config files.")
config_app.command("schema")(config.config_schema)
config_app.command("validate")(config.config_validate)
datasets_app = typer.Typer(no_args_is_help=True, help="The bundled datasets.")
datasets_app.command("list")(datasets.datasets_list)
datasets_app.command("export")(datasets.datasets_export)

app.command()(train.train)
app.command()(runs.evaluate)
app.command()(runs.predict)
app.command("runs")(listing.runs)
app.command()(gradcheck.gradcheck)
app.add_typer(config_app, name="config")
app.add_typer(datasets_app, name="datasets")
app.command("compare-optimizers")(compare.compare_optimizers)
app.command("sweep")(sweep.sweep)
app.command("plot")(plot.plot)
app.command("report")(report.report)
app.command("attention")(attention.attention)
app.command("export")(export.export)
app.command("explain")(explain.explain)

__all__ = ["app"]
