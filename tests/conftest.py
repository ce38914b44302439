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
