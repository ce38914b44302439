"""The architecture, held by tests: import rules between the layers, one source for each default, and
a README map that names only paths that exist."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path
from typing import get_args

import pytest

from nncli.config.schema import ModelConfig, OptimizerConfig
from nncli.engine.models import MODELS
from nncli.engine.optimizers import OPTIMIZERS
from tools.import_rules import check_tree

ROOT = Path(__file__).resolve().parent.parent


def test_the_tree_follows_the_import_rules():
    violations = check_tree(ROOT / "nncli")
    assert not violations, "\n".join(map(str, violations))


def _fake_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "nncli"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_the_checker_finds_each_kind_of_planted_violation(tmp_path):
    root = _fake_tree(
        tmp_path,
        {
            "errors.py": "",
            "engine/__init__.py": "",
            "engine/layers.py": "import numpy\nimport rich\nfrom nncli.training import trainer\n",
            "engine/norm.py": "def f():\n    import torch\n",
            "config/__init__.py": "",
            "config/schema.py": "import pydantic\nfrom nncli.engine import layers\n",
            "training/__init__.py": "",
            "training/build.py": "import yaml\nfrom nncli.cli import common\n",
            "training/trainer.py": "from nncli.training import loop\n",
            "training/loop.py": "from nncli.training.trainer import X\n",
            "rundir/__init__.py": "",
            "rundir/files.py": "def read():\n    from nncli.training import build\n",
            "views/__init__.py": "",
            "views/big.py": "x = 1\n" * 401,
            "cli/__init__.py": "",
            "cli/common.py": "import typer\nimport rich\nfrom nncli.views import big\n",
        },
    )
    found = "\n".join(map(str, check_tree(root)))
    expected = [
        r"engine/layers.py:2: engine/ imports 'rich'",  # a library outside its layer
        r"engine/layers.py:3: engine/ imports nncli.training.trainer, a layer above",  # an upward import
        r"engine/norm.py:2: engine/ imports 'torch' inside a function",  # no framework in the engine
        r"training/build.py:1: training/ imports 'yaml'",  # yaml only in the config
        r"training/build.py:2: training/ imports nncli.cli.common, a layer above",  # nothing imports cli
        r"import cycle: nncli.training.loop ↔ nncli.training.trainer",
        r"rundir/files.py:2: imports nncli.training.build inside a function",
        r"views/big.py:1: 401 lines, over 400",
    ]
    for pattern in expected:
        assert re.search(pattern, found), f"not found: {pattern}\n{found}"
    # and what is allowed is not reported
    for allowed in ("config/schema.py", "cli/common.py", "engine/layers.py:1"):
        assert allowed not in found


# ----------------------------------------------------------------------------- one source for defaults

# Builder arguments the data or the builder supplies, not the config.
SUPPLIED = {"params", "in_features", "out_features", "vocab_size", "seq_len", "rng", "dtype"}
# Where the config has a value the engine does not, on purpose.
CONFIG_ONLY = {
    ("transformer", "pooling"): "auto: the builder picks none or mean from the data's targets",
}
# Config fields of every model kind that the builder applies after construction.
BUILDER_FIELDS = {"init_values": "parameters set by hand, loaded by name once the model is built"}
# Engine arguments the config reaches another way.
ENGINE_ONLY = {
    ("adam", "decoupled_weight_decay"): "the config names decoupled Adam `adamw`",
}


def _config_classes(union) -> dict[str, type]:
    classes = get_args(get_args(union)[0])
    out = {}
    for cls in classes:
        tag = "kind" if "kind" in cls.model_fields else "name"
        out[cls.model_fields[tag].default] = cls
    return out


def _signature_defaults(component) -> dict[str, object]:
    target = component.__init__ if inspect.isclass(component) else component
    params = inspect.signature(target).parameters.values()
    return {p.name: p.default for p in params if p.name not in SUPPLIED | {"self"}}


def _cases():
    for registry, union, tag in ((MODELS, ModelConfig, "kind"), (OPTIMIZERS, OptimizerConfig, "name")):
        classes = _config_classes(union)
        assert sorted(classes) == sorted(registry.names()), "a registered component without a config, or back"
        for name in registry.names():
            yield pytest.param(registry.get(name), classes[name], name, tag, id=name)


@pytest.mark.parametrize("component, config_cls, name, tag", list(_cases()))
def test_each_config_class_states_its_constructors_arguments_and_defaults(component, config_cls, name, tag):
    engine = _signature_defaults(component)
    config = {k: f.default for k, f in config_cls.model_fields.items() if k != tag}
    for key in sorted(set(engine) | set(config)):
        if (name, key) in CONFIG_ONLY or (name, key) in ENGINE_ONLY or key in BUILDER_FIELDS:
            continue
        assert key in config, f"{name}: the engine takes '{key}' but the config has no such field"
        assert key in engine, f"{name}: the config has '{key}' but the engine takes no such argument"
        want, have = engine[key], config[key]
        if isinstance(want, tuple | list):
            want, have = list(want), list(have)
        assert have == want, f"{name}.{key}: config default {have!r}, engine default {want!r}"


def test_the_exceptions_above_are_still_real():
    """An exception that no longer applies is removed, so the lists cannot hide a new disagreement."""
    models, optimizers = _config_classes(ModelConfig), _config_classes(OptimizerConfig)
    for name, key in CONFIG_ONLY:
        assert key in (models.get(name) or optimizers[name]).model_fields
    for name, key in ENGINE_ONLY:
        component = MODELS.get(name) if name in MODELS else OPTIMIZERS.get(name)
        assert key in _signature_defaults(component)


# ----------------------------------------------------------------------------------------- the README map


def test_every_path_the_readme_names_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:nncli|tools|benchmarks|tests|configs|docs)/[\w./-]*)`", text))
    # bare module names in the map belong to the package named at the start of their line
    for line in text.split("\n- ")[1:]:
        package = re.match(r"`(nncli/\w+/)`", line)
        if package:
            named |= {package.group(1) + m for m in re.findall(r"`(\w+\.py)`", line)}
    assert len(named) > 20
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"the README names paths that do not exist: {missing}"


def test_the_public_api_is_importable_from_nncli():
    import nncli

    for name in nncli.__all__:
        assert getattr(nncli, name) is not None, name
    with pytest.raises(AttributeError):
        nncli.no_such_thing  # noqa: B018
