"""The config's JSON Schema for editors: pydantic's schema of `RunConfig`, with `$schema` and `$id` set."""

from __future__ import annotations

from typing import Any

from nncli.config.schema import RunConfig
from nncli.version import __version__

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = f"urn:nncli:config:{__version__}"


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a config file."""
    schema = RunConfig.model_json_schema()
    return {"$schema": SCHEMA_DIALECT, "$id": SCHEMA_ID, **schema}
