"""Reading configs: safe YAML with line numbers, `--set key.path=value` overrides, and pydantic errors
turned into one `field.path (line N): message` per problem."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nncli.config.errors import format_validation_error, line_for
from nncli.config.schema import RunConfig
from nncli.datasets import generate
from nncli.errors import ConfigError, DataError, excerpt


class _LineLoader(yaml.SafeLoader):
    """SafeLoader (never constructs Python objects) that remembers the line of every mapping key."""


MAX_PROBLEMS = 10  # validation problems listed; a file that is not a config would list one per line
MAX_CONFIG_BYTES = 1 << 20  # a config is a small text file; /dev/zero or a data file given by mistake is not
MAX_YAML_VALUES = 100_000  # values after expanding aliases: stops a "billion laughs" file early
_MERGE_TAG = "tag:yaml.org,2002:merge"
_INT_TAG = "tag:yaml.org,2002:int"
MAX_INT_CHARS = 100  # an integer this long is a mistake, and Python refuses to parse one of 4,300 digits
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
        if node.tag == _INT_TAG and len(node.value) > MAX_INT_CHARS:
            fail(node, f"a number of {len(node.value):,} digits; no setting takes more than {MAX_INT_CHARS}")
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
                        fail(
                            k,
                            f"the key '{excerpt(k.value)}' appears twice (lines {first[k.value]} and {line})",
                        )
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
        line = line_for(list(path), lines)
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


# Settings that are alternatives: setting one (to a value) clears the other, so the last one given wins.
ALTERNATIVES = {("training", "steps"): ("training", "epochs"), ("training", "epochs"): ("training", "steps")}


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """`raw` with each `key.path=value` set in turn (a copy); missing sections are created."""
    raw = _deep_copy(raw)
    for text in overrides:
        path, value = parse_override(text)
        _set(raw, path, value)
        other = ALTERNATIVES.get(tuple(path))
        if other is not None and value is not None:
            parent = _get(raw, other[:-1])
            if isinstance(parent, dict):
                parent.pop(other[-1], None)
    return raw


def _get(raw: Any, path: tuple | list) -> Any:
    for part in path:
        raw = raw.get(part) if isinstance(raw, dict) else None
    return raw


def _set(raw: dict, path: list[str], value: Any) -> None:
    node = raw
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def override_sources(overrides: list[str]) -> dict[tuple, str]:
    """Key path → the `--set` text that set it (the last one wins), to name it in error messages."""
    return {tuple(parse_override(text)[0]): text for text in overrides}


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


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
    try:
        raw = resolve_data_path(raw, path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return validate(raw, str(path), lines, overrides), raw


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


def validate(
    raw: dict, source: str = "config", lines: dict | None = None, overrides: list[str] = ()
) -> RunConfig:
    """The config `raw` describes; errors name `source` and line, or the `--set` override at fault."""
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        sources = override_sources(list(overrides))
        raise ConfigError(format_validation_error(exc, source, lines or {}, raw, sources)) from None
    _check_finite(config.model_dump(), (), source, lines or {})
    _check_dataset_params(config, source, lines or {})
    return config


TRIAL_SAMPLES = 64  # samples drawn to check a generated dataset's parameters at validation


def _check_dataset_params(config: RunConfig, source: str, lines: dict[tuple, int]) -> None:
    """Draw a few samples so that a generator's own range check (spirals' `arms: 1`) is reported like
    any other config error: the file, the field path and its line."""
    data = config.data
    if not hasattr(data, "dataset"):
        return
    params = data.model_dump(exclude={"dataset", "samples", "noise", "validation", "standardize"})
    try:
        generate(data.dataset, samples=min(data.samples, TRIAL_SAMPLES), noise=data.noise, seed=0, **params)
    except DataError as exc:
        problem = str(exc).split(": ", 1)[-1]
        field = next((p for p in [*params, "noise"] if re.match(rf"{p}\b", problem)), None)
        if field is None and data.samples > TRIAL_SAMPLES:
            return  # about the trial's sample count, not the config's
        path = ("data", field) if field else ("data",)
        line = line_for(list(path), lines)
        raise ConfigError(
            f"{source}: {'.'.join(path)}{f' (line {line})' if line else ''}: {problem}"
        ) from None


def dump_config(config: RunConfig) -> str:
    """The resolved config as YAML, every default filled in."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def resolve_data_path(raw: dict, base: Path) -> dict:
    """Make a relative `data.path` (and `data.validation_path`) relative to the config file's folder; a
    path no file system can take (a NUL byte, an unknown ~user, a loop of symbolic links) is a ConfigError
    naming it."""
    data = raw.get("data")
    for key in ("path", "validation_path"):
        if not (isinstance(data, dict) and isinstance(data.get(key), str)):
            continue
        shown = excerpt(data[key], 200)
        if "\x00" in data[key]:
            raise ConfigError(f"data.{key}: the path '{shown}' holds a NUL byte")
        try:
            path = Path(data[key]).expanduser()
            if not path.is_absolute():
                data = {**data, key: str((base / path).resolve())}
                raw = {**raw, "data": data}
        except RuntimeError as exc:  # pathlib's words for an unknown ~user and a symlink loop
            what = "names an unknown user's home" if "home" in str(exc) else "is a loop of symbolic links"
            raise ConfigError(f"data.{key}: the path '{shown}' {what}") from None
    return raw
