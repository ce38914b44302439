"""Reading configs: safe YAML with line numbers, `--set key.path=value` overrides, and pydantic errors
turned into one `field.path (line N): message` per problem."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nncli.config.schema import RunConfig
from nncli.errors import ConfigError, did_you_mean


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (never constructs Python objects) that remembers the line of every mapping key."""


MAX_CONFIG_BYTES = 1 << 20  # a config is a small text file; /dev/zero or a data file given by mistake is not
MAX_YAML_VALUES = 100_000  # values after expanding aliases: stops a "billion laughs" file early
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SAFE_TAGS = frozenset({_MERGE_TAG, *(t for t in _LineLoader.yaml_constructors if t is not None)})


def _read_yaml(text: str, source: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML safely; returns the data and a map from key paths to 1-based line numbers.

    The node graph is checked before anything is constructed: only the safe loader's tags, no key twice
    in one mapping, no alias that contains itself, at most MAX_YAML_VALUES values once aliases expand.
    """
    loader = None
    try:
        loader = _LineLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines = _check_nodes(node, source)
        data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(
            f"{source}{_where(exc.problem_mark)}: {exc.problem}; a config holds plain values, lists, mappings"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        if isinstance(exc, yaml.reader.ReaderError):
            mark = _mark_at(text, exc.position)
            char = exc.character if isinstance(exc.character, int) else ord(exc.character)
            problem = f"the character U+{char:04X} is not allowed in YAML ({exc.reason})"
        raise ConfigError(f"{source}{_where(mark, column=True)}: not valid YAML: {problem or exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to be a config") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


def _where(mark, column: bool = False) -> str:
    if mark is None:
        return ""
    return f" (line {mark.line + 1}, column {mark.column + 1})" if column else f" (line {mark.line + 1})"


def _mark_at(text: str, position: int) -> yaml.Mark:
    line = text.count("\n", 0, position)
    return yaml.Mark("", position, line, position - (text.rfind("\n", 0, position) + 1), None, None)


def _check_nodes(root: yaml.Node, source: str) -> dict[tuple, int]:
    """Lines of every key path, after refusing unsafe tags, repeated keys, recursive or explosive aliases.

    A node reached a second time is an alias: it is counted (at its expanded size) but not walked again,
    so its keys keep the lines of the anchor and a file of nested aliases costs linear time."""
    lines: dict[tuple, int] = {}
    sizes: dict[int, int] = {}  # id(node) -> values under it, aliases expanded
    open_nodes: set[int] = set()

    def fail(node: yaml.Node, problem: str) -> None:
        raise ConfigError(f"{source}{_where(node.start_mark)}: {problem}")

    def walk(node: yaml.Node, path: tuple) -> int:
        key = id(node)
        if key in open_nodes:
            fail(node, "an alias refers to a value that contains it; a config cannot contain itself")
        if key in sizes:
            return sizes[key]
        if node.tag not in _SAFE_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            fail(node, f"the tag {tag} is not allowed; nncli reads plain YAML and never constructs objects")
        open_nodes.add(key)
        size = 1
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for k, v in node.value:
                line = k.start_mark.line + 1
                if k.tag != _MERGE_TAG and isinstance(k, yaml.ScalarNode):
                    if k.value in first:
                        fail(k, f"the key '{k.value}' appears twice (lines {first[k.value]} and {line})")
                    first[k.value] = line
                p = (*path, k.value) if isinstance(k, yaml.ScalarNode) else path
                lines.setdefault(p, line)
                size += walk(k, p) + walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                lines.setdefault((*path, i), v.start_mark.line + 1)
                size += walk(v, (*path, i))
        open_nodes.discard(key)
        if size > MAX_YAML_VALUES:
            fail(node, f"expands to more than {MAX_YAML_VALUES:,} values (aliases nested in aliases?)")
        sizes[key] = size
        return size

    walk(root, ())
    return lines


def _check_finite(value: Any, path: tuple, source: str, lines: dict[tuple, int]) -> None:
    """Refuse .inf, .nan and numbers too large for a double (1e400): no setting of nncli means infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        line = _line_for(list(path), lines)
        where = f" (line {line})" if line else ""
        raise ConfigError(f"{source}: {'.'.join(map(str, path))}{where}: {value} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, (*path, k), source, lines)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_finite(v, (*path, i), source, lines)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'optimizer.lr=0.01' → (['optimizer', 'lr'], 0.01); the value is read as YAML."""
    key, sep, value = text.partition("=")
    path = [part.strip() for part in key.split(".")]
    if not sep or not all(path):
        raise ConfigError(f"--set '{text}': expected key.path=value, for example optimizer.lr=0.01")
    parsed, _ = _read_yaml(value, f"--set {key.strip()}") if value.strip() else (None, {})
    return path, parsed


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
    path = Path(path)
    raw, lines = _read_yaml(read_config_text(path), str(path))
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


def read_config_text(path: Path) -> str:
    """The text of a config file: an existing, regular, small, UTF-8 file."""
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file")
    if not path.is_file():
        raise ConfigError(f"{path}: is not a regular file; give a YAML config file")
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: is {size / 2**20:.1f} MiB; a config is a small YAML file (data goes in data.path)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save the config as UTF-8"
        ) from None


def validate(raw: dict, source: str = "config", lines: dict | None = None) -> RunConfig:
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source, lines or {}, raw)) from None
    _check_finite(config.model_dump(), (), source, lines or {})
    return config


def dump_config(config: RunConfig) -> str:
    """The resolved config as YAML, every default filled in."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def resolve_data_path(raw: dict, base: Path) -> dict:
    """Make a relative `data.path` (and `data.validation_path`) relative to the config file's folder."""
    data = raw.get("data")
    for key in ("path", "validation_path"):
        if isinstance(data, dict) and isinstance(data.get(key), str):
            path = Path(data[key]).expanduser()
            if not path.is_absolute():
                data = {**data, key: str((base / path).resolve())}
                raw = {**raw, "data": data}
    return raw
