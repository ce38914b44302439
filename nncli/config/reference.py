"""The config reference (docs/config.md) as Markdown, generated from the JSON Schema: every field of every
section with its type, default and description, so the page cannot drift from what the loader accepts."""

from __future__ import annotations

import json
from typing import Any

from nncli.config.json_schema import config_schema

HEADER = """# Config reference

Every field of a config file, generated from the config's JSON Schema (`nncli config schema`); do not edit
by hand, regenerate with `nncli config reference -o docs/config.md`. A test keeps this page equal to
the schema. Every section rejects keys it does not list here. A section picked by name (`loss`,
`optimizer`, `schedule`) may be given as just the name, meaning that entry with its defaults:
`optimizer: adam` is `optimizer: {name: adam}`.
"""


def config_reference() -> str:
    """docs/config.md: one table per section, and one per choice within a section (model kinds, ...)."""
    schema = config_schema()
    defs = schema["$defs"]
    out = [HEADER, "## Top level\n", _table(schema, defs)]
    for section, prop in schema["properties"].items():
        members = _refs(prop)
        if not members:
            continue
        out.append(f"## {section}\n")
        out.append(_clean(prop.get("description", "")) + "\n")
        for name in members:
            out += _section(section, defs[name], defs, len(members) > 1)
    return "\n".join(out).rstrip() + "\n"


def _section(path: str, model: dict, defs: dict, choice: bool) -> list[str]:
    title = f"### {path}" + (f": {_choice(model)}" if choice else "")
    out = [title + "\n"]
    if model.get("description"):
        out.append(_clean(model["description"]) + "\n")
    out.append(_table(model, defs))
    for field, prop in model.get("properties", {}).items():
        for name in _refs(prop):
            out += _section(f"{path}.{field}", defs[name], defs, False)
    return out


def _choice(model: dict) -> str:
    """How a union member is picked: `kind: mlp`, `name: adam`, `dataset: spirals`, or `path: FILE`."""
    props = model.get("properties", {})
    for key in ("kind", "name", "dataset"):
        if "const" in props.get(key, {}):
            return f"{key}: {props[key]['const']}"
    return "path: FILE"


def _table(model: dict, defs: dict) -> str:
    required = set(model.get("required", ()))
    rows = ["| field | type | default | description |", "|---|---|---|---|"]
    for field, prop in model.get("properties", {}).items():
        default = "required" if field in required else f"`{json.dumps(prop.get('default'))}`"
        if "default" not in prop and field not in required:
            default = "its defaults"  # a section with a default_factory
        cells = [f"`{field}`", _type(prop, defs), default, _clean(prop.get("description", ""))]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def _type(prop: dict, defs: dict) -> str:
    """A field's type in words: integer ≥ 1, one of `a`, `b`, a list of ..., a section."""
    if "$ref" in prop:
        return "section"
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    for key in ("anyOf", "oneOf"):
        if key in prop:
            kinds = [_type(p, defs) for p in prop[key]]
            return " or ".join(dict.fromkeys(kinds))
    kind = prop.get("type", "any")
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(_type(p, defs) for p in prop["prefixItems"]) + "]"
        return f"list of {_type(prop.get('items', {}), defs)}"
    bounds = [
        f"{sign} {prop[key]}"
        for key, sign in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("exclusiveMaximum", "<"),
        )
        if key in prop
    ]
    return kind + (" " + ", ".join(bounds) if bounds else "")


def _refs(prop: Any) -> list[str]:
    """The $defs a property refers to (union members in order), not looking into the defs themselves."""
    found: list[str] = []
    if isinstance(prop, dict):
        if "$ref" in prop:
            found.append(prop["$ref"].rsplit("/", 1)[-1])
        for key in ("anyOf", "oneOf", "allOf"):
            for item in prop.get(key, ()):
                found += [r for r in _refs(item) if r not in found]
    return found


def _clean(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
