"""Datasets: generators registered by name, sequence tasks, and .csv / .npz files.

import numpy as np
from nncli.datasets import generate, load_file, train_val_split

data = generate("spirals", samples=300, noise=0.05, seed=0, arms=3)
train, val = train_val_split(data, 0.2, np.random.default_rng(0))
"""

from nncli.datasets import tabular  # noqa: F401, I001  (importing registers the generators, tabular first)
from nncli.datasets import sequences  # noqa: F401
from nncli.datasets.base import (
    DATASETS,
    Dataset,
    DatasetSpec,
    generate,
    register_dataset,
    train_val_split,
)
from nncli.datasets.files import load_file, load_like
from nncli.datasets.writing import save_file

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetSpec",
    "generate",
    "load_file",
    "load_like",
    "register_dataset",
    "save_file",
    "train_val_split",
]
