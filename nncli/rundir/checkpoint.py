"""Parameter files and checkpoints: atomic writes, and loads that never run code and refuse what does
not fit the model.

A checkpoint (`checkpoint.npz`) holds `param/<name>` for every parameter, `buffer/<name>` for running
statistics, `optim/<key>` for the optimizer state, `best/param/<name>` and `best/buffer/<name>` for the
weights at the lowest validation loss so far, and `meta`, a JSON string with the step, the trainer's
bookkeeping and the state of the generator that draws dropout masks.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields

import numpy as np

from nncli.errors import CheckpointError, visible
from nncli.training.trainer import TrainState

FORMAT_VERSION = 1


def split_arrays(arrays: dict[str, np.ndarray]) -> tuple[dict, dict, dict]:
    """A checkpoint's parameters, buffers and optimizer state, each without its `param/`... prefix."""
    parts: tuple[dict, dict, dict] = ({}, {}, {})
    for key, value in arrays.items():
        for part, prefix in zip(parts, ("param/", "buffer/", "optim/")):
            if key.startswith(prefix):
                part[key[len(prefix) :]] = value
    return parts


def split_best(arrays: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """A checkpoint's best weights: parameters and running statistics (empty before a validation)."""
    return split_arrays({k[len("best/") :]: v for k, v in arrays.items() if k.startswith("best/")})[:2]


def check_best(run, params: dict[str, np.ndarray], buffers: dict[str, np.ndarray], source: str) -> None:
    """The best weights of a checkpoint must fit the model as its current ones do."""
    expected = run.params.state_dict()
    if set(params) != set(expected) or any(params[k].shape != v.shape for k, v in expected.items()):
        raise CheckpointError(f"{source}: its best weights do not fit this model")
    check_finite(params, source, "best parameter")
    check_buffers(run, buffers, f"{source} (best weights)")


def check_finite(arrays: dict[str, np.ndarray], source: str, what: str) -> None:
    """Refuse values that are not real numbers, and NaN or infinite ones: nncli never saves them, so the
    file was damaged or edited (a complex array would otherwise lose its imaginary part unseen)."""
    for name, value in arrays.items():
        if value.dtype.kind not in "biuf":
            raise CheckpointError(f"{source}: {what} '{name}' holds {value.dtype} values, not real numbers")
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise CheckpointError(f"{source}: {what} '{name}' holds NaN or infinite values")


def check_buffers(run, buffers: dict[str, np.ndarray], source: str) -> None:
    """Running statistics (batch norm) must match the model's by name, shape and number type."""
    expected = dict(run.model.named_buffers())
    if set(buffers) != set(expected):
        raise CheckpointError(
            f"{source}: its running statistics ({', '.join(sorted(buffers)) or 'none'}) do not fit this "
            f"model ({', '.join(sorted(expected)) or 'none'})"
        )
    for name, value in buffers.items():
        if value.shape != expected[name].shape or value.dtype.kind not in "biuf":
            raise CheckpointError(
                f"{source}: running statistic '{name}' is {value.dtype} {value.shape}, the model keeps "
                f"{expected[name].dtype} {expected[name].shape}"
            )
    check_finite(buffers, source, "running statistic")


def checkpoint_arrays(run, step: int) -> dict[str, np.ndarray]:
    """Everything needed to continue `run` bit-identically after `step` steps."""
    trainer = run.trainer
    arrays = {f"param/{k}": v for k, v in run.params.state_dict().items()}
    arrays.update({f"buffer/{k}": v.copy() for k, v in run.model.named_buffers()})
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in trainer.optimizer.state_dict().items()})
    if trainer.best is not None:
        arrays.update({f"best/param/{k}": v for k, v in trainer.best.items()})
        arrays.update({f"best/buffer/{k}": v for k, v in trainer.best_buffers.items()})
    state = {k: v for k, v in asdict(trainer.state).items() if k != "history"}
    meta = {
        "format": FORMAT_VERSION,
        "step": step,
        "train_state": state,
        "model_rng": run.model_rng.bit_generator.state,
        "model": run.config.model.model_dump(mode="json"),
        "data": run.data.fingerprint,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def restore_checkpoint(run, arrays: dict[str, np.ndarray], source: str) -> int:
    """Load a checkpoint into a freshly built run; checks everything before changing anything."""
    meta = _read_meta(arrays, source)
    step, train_state, rng_state = meta["step"], meta["train_state"], meta["model_rng"]
    if meta.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise CheckpointError(
            f"{source}: checkpoint format {meta['format']}, this nncli reads format {FORMAT_VERSION}"
        )
    model = run.config.model.model_dump(mode="json")
    if meta.get("model") != model:
        raise CheckpointError(
            f"{source}: was written for a different model than the run's config.yaml describes "
            f"({_difference(meta.get('model'), model)}); restore the config it was trained with"
        )
    if meta.get("data", run.data.fingerprint) != run.data.fingerprint:
        data = run.config.data
        what = f"the data file {visible(data.path)}" if hasattr(data, "path") else f"dataset {data.dataset}"
        raise CheckpointError(
            f"{source}: {what} is not the data this run was trained on (its fingerprint changed); "
            "restore that data, or train afresh with --out NEW_DIR"
        )
    total = run.trainer.settings.total_steps
    if not (isinstance(step, int) and 0 <= step <= total):
        raise CheckpointError(f"{source}: is at step {step!r}, outside this run's 0..{total} steps")
    _check_train_state(train_state, source)
    params, buffers, optim = split_arrays(arrays)
    best, best_buffers = split_best(arrays)
    check_finite(params, source, "parameter")
    check_finite(optim, source, "optimizer state")
    check_buffers(run, buffers, source)
    try:  # try the generator state on a scratch generator of the same kind first
        type(run.model_rng.bit_generator)().state = rng_state
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise CheckpointError(f"{source}: its random-generator state is damaged ({exc})") from None
    # validate-then-apply: parameter and optimizer loads check before they copy
    saved = run.params.data.copy()
    run.params.load_state_dict(params, source=f"{source}: parameters")
    try:
        if best:
            check_best(run, best, best_buffers, source)
    except CheckpointError:
        run.params.data[...] = saved
        raise
    try:
        run.trainer.optimizer.load_state_dict(optim)
    except CheckpointError as exc:
        run.params.data[...] = saved
        raise CheckpointError(f"{source}: {exc}") from None
    run.model.load_buffers(buffers)
    run.trainer.best, run.trainer.best_buffers = (best or None), best_buffers
    run.model_rng.bit_generator.state = rng_state
    for key, value in train_state.items():
        setattr(run.trainer.state, key, value)
    run.trainer.state.step = step
    return step


def _read_meta(arrays: dict[str, np.ndarray], source: str) -> dict:
    try:
        meta = json.loads(str(arrays["meta"]))
        for key, kind in (("step", int), ("train_state", dict), ("model_rng", dict)):
            if not isinstance(meta[key], kind):
                raise TypeError(f"'{key}' is not a {kind.__name__}")
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(
            f"{source}: not an nncli checkpoint (its metadata is missing or damaged: {exc})"
        ) from None
    return meta


# TrainState's annotations (strings, under `from __future__ import annotations`) → accepted JSON types
_STATE_TYPES = {
    "int": (int,),
    "int | None": (int, type(None)),
    "float": (int, float),
    "float | None": (int, float, type(None)),
}


def _check_train_state(state: dict, source: str) -> None:
    types = {f.name: f.type for f in fields(TrainState) if f.name != "history"}
    unknown = sorted(set(state) - set(types))
    if unknown:
        raise CheckpointError(f"{source}: unknown trainer state {unknown}")
    for key, value in state.items():
        allowed = _STATE_TYPES.get(types[key])
        if allowed is not None and (isinstance(value, bool) or not isinstance(value, allowed)):
            raise CheckpointError(f"{source}: trainer state '{key}' is {value!r}, expected {types[key]}")


def _difference(saved, current: dict) -> str:
    if not isinstance(saved, dict):
        return "the checkpoint names no model"
    keys = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    return "; ".join(
        f"{k}: {saved.get(k)!r} in the checkpoint, {current.get(k)!r} in the config" for k in keys
    )
