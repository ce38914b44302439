"""Shared fixtures. Importing nncli first gives the tests the CLI's runtime settings (one BLAS thread)."""

import sys
from pathlib import Path

import pytest

import nncli  # noqa: F401  (before NumPy: see nncli.runtime)

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


@pytest.fixture
def configs() -> Path:
    return CONFIGS


def pytest_configure(config):
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))


def train_config(path, out, overrides=()):
    """Train a config into run directory `out` as `nncli train` does; returns (run, summary)."""
    from nncli.config.loading import load_config
    from nncli.rundir.directory import new_run

    cfg, _ = load_config(path, list(overrides))
    run, directory = new_run(cfg, out)
    directory.start()
    run.trainer.subscribe(directory)
    run.trainer.run()
    return run, directory.summary
