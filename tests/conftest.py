"""Shared fixtures. The tests' own NumPy work runs on one BLAS thread, as small models do under nncli's
thread policy (a training run still sets its own count, nncli.runtime.choose_threads)."""

import os
import sys
import tempfile
from pathlib import Path

import numpy  # noqa: F401  (loaded first, so that the limit below reaches its BLAS)
import pytest
from threadpoolctl import threadpool_limits

import nncli  # noqa: F401

threadpool_limits(limits=1, user_api="blas")
# nncli's user cache (explain's PyTorch values) goes to a folder of this test session, never ~/.cache;
# the CLI's subprocesses inherit it
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="nncli-test-cache-")

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
