"""`nncli config schema|validate`: the config's JSON Schema, and a check without training."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from nncli.cli.common import JsonOption, SetOption, console, echo, examples, out_option, user_errors
from nncli.config.json_schema import config_schema as schema
from nncli.config.loading import dump_config, load_config
from nncli.config.reference import config_reference as reference
from nncli.fileio import atomic_write_text


@examples("nncli config schema -o nncli.schema.json", "nncli config schema | jq '.properties | keys'")
@user_errors
def config_schema(out: out_option("Write the schema to this file instead of printing it.") = None) -> None:
    """Print the JSON Schema of the config file (for editor autocompletion and validation)."""

    _write_or_print(json.dumps(schema(), indent=2, ensure_ascii=False) + "\n", out)


def _write_or_print(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return

    atomic_write_text(out, text)
    console.print(f"wrote {out}", highlight=False, markup=False, soft_wrap=True)


@examples("nncli config reference -o docs/config.md", "nncli config reference | less")
@user_errors
def config_reference(out: out_option("Write the page to this file instead of printing it.") = None) -> None:
    """Print the config reference: every field with its type, default and description (Markdown)."""

    _write_or_print(reference(), out)


@examples(
    "nncli config validate configs/xor.yaml", "nncli config validate my.yaml --set model.kind=mlp --show"
)
@user_errors
def config_validate(
    file: Annotated[Path, typer.Argument(help="The config file to check.")],
    set_: SetOption = None,
    show: Annotated[bool, typer.Option("--show", help="Print the resolved config.")] = False,
    json_: JsonOption = False,
) -> None:
    """Check a config file without training."""

    cfg, _ = load_config(file, set_ or [])
    if json_:
        console.print_json(json.dumps({"valid": True, "config": cfg.model_dump(mode="json")}))
        return
    echo(f"ok: {file} is a valid config")
    if show:
        console.print(dump_config(cfg), highlight=False, markup=False, soft_wrap=True)
