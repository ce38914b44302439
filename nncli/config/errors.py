"""Validation errors as the user wrote the config: `source: field.path (line N): message`, or the `--set`
override at fault, with a did-you-mean for unknown keys, names and values."""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Tag, ValidationError

from nncli.config.schema import RunConfig
from nncli.errors import did_you_mean, excerpt

MAX_PROBLEMS = 10  # validation problems listed; a file that is not a config would list one per line


def format_validation_error(
    exc: ValidationError,
    source: str,
    lines: dict[tuple, int],
    raw: Any = None,
    overrides: dict[tuple, str] | None = None,
) -> str:
    """One line per problem: `source: field.path (line N): message`, or `--set key=value: message` when
    an override set the value at fault; at most MAX_PROBLEMS of them. Keys and values are quoted as short
    excerpts: a file that is not a config (/etc/shadow) must not be echoed."""
    out = []
    errors = exc.errors()
    for err in errors[:MAX_PROBLEMS]:
        loc = user_path(err["loc"], raw)
        path = ".".join(excerpt(p) for p in loc) or "(top level)"
        msg = _message(err, loc, path)
        at = [*loc, _tag_key(err["ctx"])] if err["type"].startswith("union_tag") else loc
        given = _override_for(at, overrides or {}, lines)
        if given is not None:
            set_path, text = given
            inner = f"{path}: " if len(set_path) < len(loc) else ""
            out.append(f"--set {text}: {inner}{msg}")
            continue
        line = line_for(loc, lines)
        where = f" (line {line})" if line else ""
        out.append(f"{source}: {path}{where}: {msg}")
    if len(errors) > MAX_PROBLEMS:
        out.append(f"{source}: ... and {len(errors) - MAX_PROBLEMS} more problems")
    return "\n".join(out)


def _message(err: dict, loc: list, path: str) -> str:
    """pydantic's message, with the name at fault and a did-you-mean for unknown keys, names and values."""
    if err["type"] == "extra_forbidden":
        key, parent = excerpt(loc[-1]) if loc else "", ".".join(excerpt(p) for p in loc[:-1])
        inside = f" in {parent}" if parent else ""
        return f"unknown key '{key}'{inside}{did_you_mean(key, known_keys(err['loc']))}"
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_message(err.get("ctx", {}), path)
    if err["type"] == "literal_error" and isinstance(err.get("input"), str):
        choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        what = str(loc[-1]) if loc and isinstance(loc[-1], str) else "value"
        value = excerpt(err["input"])
        return f"unknown {what} '{value}'{did_you_mean(value, choices)}; choose from: {', '.join(choices)}"
    return err["msg"]


def _override_for(loc: list, overrides: dict[tuple, str], lines: dict) -> tuple[tuple, str] | None:
    """The `--set` that put the faulty value there: the longest override path the location lies under,
    or one that created the faulty section (a key the file does not have)."""
    key = tuple(str(p) for p in loc)
    for end in range(len(key), 0, -1):
        if key[:end] in overrides:
            return key[:end], overrides[key[:end]]
    if key and key not in lines:
        for path, text in overrides.items():
            if path[: len(key)] == key:
                return key, text
    return None


def known_keys(loc: tuple) -> list[str]:
    """The keys allowed in the section that contains pydantic location `loc` (union tags included)."""
    node: Any = RunConfig
    for part in loc[:-1]:
        node = _step(node, part)
        if node is None:
            return []
    models = _models(node)
    return list(models[0].model_fields) if len(models) == 1 else []


def _step(node: Any, part: Any) -> Any:
    """One step of a pydantic location down the config's types: a field, a union member, a list item."""
    for model in _models(node):
        if part in model.model_fields:
            return model.model_fields[part].annotation
    members = _members(node)
    for tag, member in members:
        if tag == part:
            return member
    if isinstance(part, int):
        args = [a for a in typing.get_args(_strip(node)) if a is not type(None)]
        return args[0] if args else None
    return None


def _strip(node: Any) -> Any:
    while typing.get_origin(node) is Annotated:
        node = typing.get_args(node)[0]
    return node


def _members(node: Any) -> list[tuple[Any, Any]]:
    """(tag, member) of a union: its `Tag`, or the value of its member's Literal `kind`/`name` field."""
    out = []
    for member in typing.get_args(_strip(node)) if _is_union(_strip(node)) else [node]:
        tags = [m.tag for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
        model = _strip(member)
        if not tags and isinstance(model, type) and issubclass(model, BaseModel):
            for key in ("kind", "name"):
                field = model.model_fields.get(key)
                if field is not None and typing.get_origin(field.annotation) is Literal:
                    tags = list(typing.get_args(field.annotation))
        out += [(t, model) for t in tags]
    return out


def _is_union(node: Any) -> bool:
    return typing.get_origin(node) in (typing.Union, types.UnionType)


def _models(node: Any) -> list[type[BaseModel]]:
    node = _strip(node)
    candidates = typing.get_args(node) if _is_union(node) else (node,)
    return [c for c in map(_strip, candidates) if isinstance(c, type) and issubclass(c, BaseModel)]


def _tag_key(ctx: dict) -> str:
    """The key that picks a union's member: kind, name, or (the data section's function) dataset."""
    key = ctx.get("discriminator", "kind").strip("'")
    return "dataset" if key.endswith("()") else key


def _tag_message(ctx: dict, path: str) -> str:
    key = _tag_key(ctx)
    expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
    if key == "dataset":  # the data section: a bundled dataset, or a file (the member tagged 'file')
        expected = [t for t in expected if t != "file"]
        key = "dataset" if ctx.get("tag") else "dataset' or 'path"
    tag = excerpt(ctx.get("tag", ""))
    if not tag:
        return f"missing '{key}'" + (f"; choose from: {', '.join(expected)}" if expected else "")
    return f"unknown {key} '{tag}'{did_you_mean(tag, expected)}; choose from: {', '.join(expected)}"


def user_path(loc: tuple, raw: Any) -> list:
    """The error location as the user wrote it: pydantic also names the union member it tried
    (`optimizer.sgd.lr`), a step that is not a key of the input, so it is dropped (`optimizer.lr`)."""
    path, node = [], raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict):
            if part in node or last:
                path.append(part)
                node = node.get(part)
            continue  # a union tag
        if isinstance(node, list) and isinstance(part, int):
            path.append(part)
            node = node[part] if part < len(node) else None
            continue
        if node is None or not isinstance(part, str):
            path.append(part)
    return path


def line_for(loc: list, lines: dict[tuple, int]) -> int | None:
    for end in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:end]))
        if line:
            return line
    return None
