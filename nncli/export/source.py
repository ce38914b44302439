"""What every export format starts from: a trained run with the chosen weights, and what the run knows
about its data (task, target, feature and class names) to carry along as metadata."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nncli.config.loading import dump_config
from nncli.errors import CheckpointError, NncliError, UnknownNameError
from nncli.rundir.directory import WEIGHTS, load_trained
from nncli.rundir.records import require_run_directory
from nncli.training.build import Run, model_inputs

BEST_FILE = "best.npz"  # the best validation weights, when the run directory keeps them
DATA_FILE = "data.json"  # {"task", "target", "features", "classes", ...}, when the run directory has it


@contextlib.contextmanager
def needs_extra() -> Iterator[None]:
    """Around the import of an optional dependency: a missing one fails with the line that installs it."""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "a dependency").split(".")[0]
        raise NncliError(
            f"export needs {missing}, which is not installed: pip install 'nncli[export]'"
        ) from None


@dataclass(frozen=True)
class Source:
    """A trained run to export.

    Attributes:
        run: the rebuilt run with its parameters (`weights`) and running statistics loaded.
        features: input column names (real-valued inputs; empty for tokens).
        classes: class names for classification, None for regression.
    """

    run: Run
    run_dir: Path
    weights: str
    task: str
    target: str
    features: tuple[str, ...]
    classes: tuple | None

    @property
    def dtype(self) -> np.dtype:
        return self.run.params.dtype

    @property
    def tokens(self) -> bool:
        return self.run.data.train.vocab_size is not None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape, as `nncli predict` takes it."""
        return self.run.data.train.X.shape[1:]

    def output_shape(self) -> tuple[int, ...]:
        """One sample's model output shape, from the engine itself (run on the first training input)."""
        first = model_inputs(self.run.data, self.run.data.train.X[:1], self.dtype)
        return self.run.trainer.predict(first).shape[1:]

    def tensors(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer (batch norm's running statistics) under its PyTorch name."""
        state = self.run.params.state_dict()
        state.update((name, np.array(value)) for name, value in self.run.model.named_buffers())
        return state

    def standardizer(self) -> dict[str, list[float]] | None:
        s = self.run.data.standardizer
        return None if s is None else {"mean": s.mean.tolist(), "std": s.std.tolist()}

    def metadata(self) -> dict[str, str]:
        """String metadata every format carries (ONNX metadata_props, safetensors header)."""
        meta = {
            "nncli.run": self.run.config.name or self.run_dir.name,
            "nncli.weights": self.weights,
            "nncli.task": self.task,
            "nncli.target": self.target,
            "nncli.features": json.dumps(list(self.features)),
            "nncli.classes": json.dumps(None if self.classes is None else list(self.classes)),
            "nncli.loss": self.run.loss_name,
            "nncli.config": dump_config(self.run.config),
        }
        if self.standardizer() is not None:
            meta["nncli.standardizer"] = json.dumps(self.standardizer())
        return meta


def check_run(run_dir: Path, weights: str = "final") -> Path:
    """The run directory, if it is one and keeps the asked-for weights; cheap, so that it comes before
    any work (the rest, such as a run with no weights at all, is found when loading)."""
    if weights not in WEIGHTS:
        raise UnknownNameError("weights", weights, list(WEIGHTS))
    run_dir = require_run_directory(run_dir)
    if weights == "best" and not (run_dir / BEST_FILE).is_file():
        raise CheckpointError(
            f"{run_dir}: keeps no best weights ({BEST_FILE}); this run directory has only its final "
            "weights: use --weights final"
        )
    return run_dir


def load_source(run_dir: Path, weights: str = "final") -> Source:
    """The run in `run_dir` with its `final` weights or its `best` ones (`best.npz`), ready to export."""
    run_dir = check_run(run_dir, weights)
    run = load_trained(run_dir, weights)  # best.npz with the running statistics kept beside it
    train = run.data.train
    info = _data_info(run_dir)
    default_features = () if train.vocab_size is not None else _default_features(train)
    classes = None if train.n_classes is None else tuple(range(train.n_classes))
    return Source(
        run=run,
        run_dir=run_dir,
        weights=weights,
        task=info.get("task") or train.task,
        target=info.get("target") or train.target_name,
        features=tuple(info.get("features") or default_features),
        classes=tuple(info["classes"]) if info.get("classes") is not None else classes,
    )


def _default_features(train) -> tuple[str, ...]:
    return tuple(train.feature_names) or tuple(f"x{i}" for i in range(train.X.shape[-1]))


def _data_info(run_dir: Path) -> dict:
    """data.json of the run directory, or {} when it has none."""
    path = run_dir / DATA_FILE
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{path}: expected a JSON object, found {type(info).__name__}")
    return info
