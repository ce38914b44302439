"""Parameter files and checkpoints: atomic writes, and loads that never run code and refuse what does
not fit the model.

A checkpoint (`checkpoint.npz`) holds `param/<name>` for every parameter, `buffer/<name>` for running
statistics, `optim/<key>` for the optimizer state and `meta`, a JSON string with the step, the trainer's
bookkeeping and the state of the generator that draws dropout masks.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import IO

import numpy as np

from nncli.errors import CheckpointError
from nncli.trainer import TrainState

FORMAT_VERSION = 1


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a temporary file in the same folder, fsync it, then rename it over `path`, so a
    reader (or a crash) sees the old file or the new one, never half of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_npz(path: str | Path, what: str = "file") -> dict[str, np.ndarray]:
    """Load every array of an .npz without pickles; a damaged or foreign file is a CheckpointError."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such {what}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {key: z[key] for key in z.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise CheckpointError(
                f"{path}: holds Python objects (pickles), which nncli never loads"
            ) from None
        raise CheckpointError(f"{path}: not a readable {what}: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise CheckpointError(f"{path}: not a readable {what} (truncated or not an .npz): {exc}") from None


def checkpoint_arrays(run, step: int) -> dict[str, np.ndarray]:
    """Everything needed to continue `run` bit-identically after `step` steps."""
    trainer = run.trainer
    arrays = {f"param/{k}": v for k, v in run.params.state_dict().items()}
    arrays.update({f"buffer/{k}": v.copy() for k, v in run.model.named_buffers()})
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in trainer.optimizer.state_dict().items()})
    state = {k: v for k, v in asdict(trainer.state).items() if k != "history"}
    meta = {
        "format": FORMAT_VERSION,
        "step": step,
        "train_state": state,
        "model_rng": run.model_rng.bit_generator.state,
        "model": run.config.model.model_dump(mode="json"),
    }
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def restore_checkpoint(run, arrays: dict[str, np.ndarray], source: str) -> int:
    """Load a checkpoint into a freshly built run; checks everything before changing anything."""
    try:
        meta = json.loads(str(arrays["meta"]))
        step = int(meta["step"])
        train_state = meta["train_state"]
        rng_state = meta["model_rng"]
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(
            f"{source}: not an nncli checkpoint (its metadata is missing or damaged: {exc})"
        ) from None
    if meta.get("model") != run.config.model.model_dump(mode="json"):
        raise CheckpointError(f"{source}: was written for a different model than the run's config describes")
    params = {k[len("param/") :]: v for k, v in arrays.items() if k.startswith("param/")}
    buffers = {k[len("buffer/") :]: v for k, v in arrays.items() if k.startswith("buffer/")}
    optim = {k[len("optim/") :]: v for k, v in arrays.items() if k.startswith("optim/")}
    expected_buffers = dict(run.model.named_buffers())
    if set(buffers) != set(expected_buffers) or any(
        buffers[k].shape != expected_buffers[k].shape for k in expected_buffers
    ):
        raise CheckpointError(f"{source}: its running statistics do not fit this model")
    known = {f.name for f in fields(TrainState)}
    if not set(train_state) <= known:
        raise CheckpointError(f"{source}: unknown trainer state {sorted(set(train_state) - known)}")
    # validate-then-apply: parameter and optimizer loads check before they copy
    run.params.load_state_dict(params, source=source)
    run.trainer.optimizer.load_state_dict(optim)
    run.model.load_buffers(buffers)
    run.model_rng.bit_generator.state = rng_state
    for key, value in train_state.items():
        setattr(run.trainer.state, key, value)
    run.trainer.state.step = step
    return step
