"""`optimizer: adam` for `optimizer: {name: adam}`: a section picked by name may be given as just the name."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BeforeValidator, GetJsonSchemaHandler


class ByName:
    """A section picked by name may be just the name: `optimizer: adam` means `optimizer: {name: adam}`,
    that entry with its defaults; in validation and in the JSON Schema alike."""

    def __init__(self, union: Any, key: str = "name") -> None:
        members = typing.get_args(typing.get_args(union)[0])
        self.key = key
        self.names = [typing.get_args(m.model_fields[key].annotation)[0] for m in members]

    def lift(self, value: Any) -> Any:
        return {self.key: value} if isinstance(value, str) else value

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> dict:
        short = {"type": "string", "enum": self.names, "description": f"Short for {{{self.key}: ...}}."}
        return {"anyOf": [short, handler(schema)]}


def by_name(union: Any, key: str = "name") -> Any:
    """`union` (a discriminated union of sections) that also accepts just the name of a member."""
    names = ByName(union, key)
    return typing.Annotated[union, BeforeValidator(names.lift), names]
