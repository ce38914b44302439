"""Reading configs: safe YAML with line numbers, `--set key.path=value` overrides, and pydantic errors
turned into one `field.path (line N): message` per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nncli.config import RunConfig
from nncli.errors import ConfigError


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (never constructs Python objects) that remembers the line of every mapping key."""


def _read_yaml(text: str, source: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML safely; returns the data and a map from key paths to 1-based line numbers."""
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(
            f"{source}{where}: the tag {_tag_of(exc)} is not allowed; "
            "nncli reads plain YAML only and never constructs Python objects"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}:{where}: not valid YAML: {problem}") from None
    lines: dict[tuple, int] = {}

    def walk(n, path: tuple) -> None:
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                p = (*path, key.value)
                lines[p] = key.start_mark.line + 1
                walk(value, p)
        elif isinstance(n, yaml.SequenceNode):
            for i, value in enumerate(n.value):
                lines[(*path, i)] = value.start_mark.line + 1
                walk(value, (*path, i))

    walk(node, ())
    return data, lines


def _tag_of(exc: yaml.constructor.ConstructorError) -> str:
    return exc.problem.split("tag ")[-1] if exc.problem else ""


def parse_override(text: str) -> tuple[list[str], Any]:
    """'optimizer.lr=0.01' → (['optimizer', 'lr'], 0.01); the value is read as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set '{text}': expected key.path=value, for example optimizer.lr=0.01")
    parsed, _ = _read_yaml(value, f"--set {key}") if value.strip() else (None, {})
    return key.strip().split("."), parsed


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    raw = _deep_copy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = value
    return raw


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def format_validation_error(
    exc: ValidationError, source: str, lines: dict[tuple, int], raw: Any = None
) -> str:
    """One line per problem: `source: field.path (line N): message`."""
    out = []
    for err in exc.errors():
        loc = user_path(err["loc"], raw)
        path = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_for(loc, lines)
        where = f" (line {line})" if line else ""
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _suggest(loc, err)
        elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            msg = _tag_message(err.get("ctx", {}), path)
        out.append(f"{source}: {path}{where}: {msg}")
    return "\n".join(out)


def _tag_message(ctx: dict, path: str) -> str:
    from nncli.registry import did_you_mean

    key = ctx.get("discriminator", "kind").strip("'")
    if key.endswith("()"):  # the data section: a bundled dataset or a file path
        key = "dataset" if ctx.get("tag") else "dataset' or 'path"
    tag = str(ctx.get("tag", ""))
    expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
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


def _line_for(loc: list, lines: dict[tuple, int]) -> int | None:
    for end in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:end]))
        if line:
            return line
    return None


def _suggest(loc: list, err: dict) -> str:
    import difflib

    key = str(loc[-1]) if loc else ""
    known = err.get("ctx", {}).get("allowed", None)
    if not known:
        return ""
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load_config(path: str | Path, overrides: list[str] = ()) -> tuple[RunConfig, dict]:
    """Read, override and validate a config file; returns the config and the raw dict it came from.

    Relative data paths are resolved against the config file's folder.
    """
    from nncli.build import resolve_data_path

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from None
    raw, lines = _read_yaml(text, str(path))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: a config is a YAML mapping of sections (data, model, ...), got {type(raw).__name__}"
        )
    raw = apply_overrides(raw, list(overrides))
    raw.setdefault("name", path.stem)
    raw = resolve_data_path(raw, path.parent)
    return validate(raw, str(path), lines), raw


def validate(raw: dict, source: str = "config", lines: dict | None = None) -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, lines or {}, raw)) from None


def dump_config(config: RunConfig) -> str:
    """The resolved config as YAML, every default filled in."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
