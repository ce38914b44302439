"""The JSON Schema accepts exactly what the loader accepts: every example config and the README's example
pass both, a set of bad configs fails both; every property is described; the committed schema file and
docs/config.md are what the code generates."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from nncli.cli import app
from nncli.config.json_schema import config_schema
from nncli.config.loading import load_config, validate
from nncli.config.reference import config_reference
from nncli.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))
VALIDATOR = jsonschema.Draft202012Validator(config_schema())


def schema_errors(raw) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(raw)]


def test_the_schema_is_a_valid_draft_2020_12_schema_with_an_id():
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:nncli:config:")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_every_example_config_passes_the_schema_and_the_loader(path):
    raw = yaml.safe_load(path.read_text())
    assert schema_errors(raw) == []
    load_config(path)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_every_example_config_points_editors_at_the_schema(path):
    first = path.read_text().splitlines()[0]
    target = first.removeprefix("# yaml-language-server: $schema=")
    assert target != first and (path.parent / target).resolve() == ROOT / "configs" / "nncli.schema.json"


def readme_example() -> dict:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Configs\n.*?```yaml\n(.*?)```", text, re.S).group(1)
    return yaml.safe_load(block)


def test_the_readme_example_passes_the_schema_and_the_loader():
    raw = readme_example()
    assert raw["loss"] == "cross_entropy"  # the shorthand the schema once refused
    assert schema_errors(raw) == []
    validate(raw, "README")


SHORTHANDS = [
    {"loss": "mse"},
    {"optimizer": "adam"},
    {"schedule": "cosine"},
    {"optimizer": {"name": "sgd", "momentum": 0.9}, "schedule": {"name": "step", "step_size": 10}},
    {"training": {"steps": 5}},
    {"data": {"path": "d.csv", "target": "label"}},
    {"model": {"kind": "transformer", "d_model": 8, "n_heads": 2}, "data": {"dataset": "reverse"}},
]


@pytest.mark.parametrize("extra", SHORTHANDS, ids=lambda e: json.dumps(e)[:40])
def test_good_variants_pass_both(extra):
    raw = {"data": {"dataset": "xor"}, "training": {"epochs": 1}} | extra
    assert schema_errors(raw) == []
    validate(raw)


BAD = [
    {"training": {"epochs": 1}},  # no data
    {"data": {"dataset": "xor"}},  # no training
    {"data": {"dataset": "xorr"}, "training": {"epochs": 1}},
    {"data": {"dataset": "xor", "arms": 3}, "training": {"epochs": 1}},  # another dataset's parameter
    {"data": {"path": "d.txt"}, "training": {"epochs": 1}} | {"extra": 1},
    {"data": {"dataset": "xor"}, "training": {"epochs": 0}},
    {"data": {"dataset": "xor"}, "training": {"epochs": 1, "bach_size": 4}},
    {"data": {"dataset": "xor"}, "training": {"epochs": 1}, "optimizer": "adma"},
    {"data": {"dataset": "xor"}, "training": {"epochs": 1}, "optimizer": {"name": "adam", "lr": 0}},
    {
        "data": {"dataset": "xor"},
        "training": {"epochs": 1},
        "optimizer": {"name": "sgd", "betas": [0.9, 0.9]},
    },
    {"data": {"dataset": "xor"}, "training": {"epochs": 1}, "model": {"kind": "mlp", "activation": "tanhh"}},
    {"data": {"dataset": "xor"}, "training": {"epochs": 1}, "model": {"kind": "mlp", "norm": "layernorm"}},
    {"data": {"dataset": "xor"}, "training": {"epochs": 1}, "model": {"kind": "mlp", "hidden_sizes": [0]}},
    {"data": {"dataset": "xor"}, "training": {"epochs": 1}, "dtype": "float16"},
    {"data": {"dataset": "xor"}, "training": {"epochs": 1}, "schedule": {"name": "step"}},
    {"data": {"dataset": "xor", "validation": 1.0}, "training": {"epochs": 1}},
]


@pytest.mark.parametrize("raw", BAD, ids=lambda r: json.dumps(r)[:60])
def test_bad_configs_fail_both(raw):
    assert schema_errors(raw)
    with pytest.raises(ConfigError):
        validate(raw)


def properties(schema):
    """(where, name, property) of every property of every object in the schema."""
    for where, model in [("(top level)", schema), *schema["$defs"].items()]:
        for name, prop in model.get("properties", {}).items():
            yield where, name, prop


def test_every_property_has_a_description():
    missing = [
        f"{where}.{name}" for where, name, prop in properties(config_schema()) if not prop.get("description")
    ]
    assert missing == []


def test_dataset_parameters_are_described_by_their_generators():
    spirals = config_schema()["$defs"]["SpiralsData"]["properties"]
    assert spirals["arms"]["description"] == "Number of spiral arms, one class each; ≥ 2."
    assert not any("parameter '" in p.get("description", "") for _, _, p in properties(config_schema()))


def test_the_committed_schema_file_is_what_the_code_generates():
    committed = json.loads((ROOT / "configs" / "nncli.schema.json").read_text())
    assert committed == config_schema(), "regenerate: nncli config schema -o configs/nncli.schema.json"


def test_docs_config_md_is_what_the_schema_generates():
    page = (ROOT / "docs" / "config.md").read_text()
    assert page == config_reference(), "regenerate: nncli config reference -o docs/config.md"


def test_the_reference_lists_every_field_with_type_and_default():
    page = config_reference()
    for where, name, _ in properties(config_schema()):
        assert f"| `{name}` |" in page, (where, name)
    assert "| `lr` | number > 0.0 | `0.001` | Learning rate; > 0 (PyTorch: lr). |" in page
    assert "### optimizer: name: adamw" in page and "### data: dataset: spirals" in page


def test_config_reference_command_writes_the_page(tmp_path):
    result = CliRunner().invoke(app, ["config", "reference", "-o", str(tmp_path / "config.md")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "config.md").read_text() == config_reference()
