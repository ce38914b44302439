"""The run directory: resolved config, metrics, parameter files, checkpoint and summary.

    config.yaml       the resolved config (every default filled in)
    data.json         the task and why, the target, the input columns and the class labels (see `Data.info`)
    metrics.jsonl     one JSON object per logged step (see `nncli.training.events.StepEnd`)
    init.npz          parameters at initialisation, dotted names (`layers.0.weight`)
    best.npz          parameters at the lowest validation loss (with validation data)
    final.npz         parameters at the end
    checkpoint.npz    parameters, optimizer state, RNG state and step (see `nncli.rundir.checkpoint`)
    summary.json      how the run ended, final and best numbers

    .nncli.lock       held (flock) by the one process writing the run; see `nncli.rundir.lock`

Every file is written atomically; metrics.jsonl grows by whole lines, one write per line. A file-system
fault while training (disk full, read-only, permission denied) stops the run with a message that says
what was kept, and summary.json is still written where it can be.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

from nncli import fileio
from nncli.config.loading import dump_config, load_config
from nncli.errors import CheckpointError, ConfigError, FileSystemError, NncliError, visible
from nncli.rundir import checkpoint
from nncli.rundir.lock import RunLock
from nncli.rundir.outputs import RUN_FILES
from nncli.rundir.records import read_metrics, read_summary, require_run_directory
from nncli.rundir.summary import FINISHED, build_summary, finite_or_none
from nncli.training.build import Run, build_run
from nncli.training.events import CheckpointDue, Event, StepEnd, TrainingEnd

FILES = RUN_FILES
OWN_FILES = (*FILES, "predictions.csv")  # what --overwrite may remove; anything else stays


def default_run_dir(name: str, root: str | Path = "runs") -> Path:
    """runs/<name>-<time>; the name comes from the config, so only its safe characters are kept, and the
    folder always lies inside `root` (a name of '../x' or '/etc' cannot point elsewhere)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).lstrip(".-") or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{name}-{stamp}"
    i = 1
    while path.exists():
        i += 1
        path = Path(root) / f"{name}-{stamp}-{i}"
    return path


def prepare_new(path: Path, overwrite: bool, inputs: tuple = ()) -> RunLock:
    """Create the folder and lock it for this run; an existing non-empty one is only reused with
    `overwrite`, which removes nncli's own files (and temporaries a killed run left) and nothing else.
    A folder another process is writing is refused, `overwrite` or not, and so is one whose files
    include an input of this run (`inputs`: the config and data files)."""
    path = fileio.check_path(path, "--out")
    shown = visible(path)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"{shown}: exists and is not a folder; pick another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"{shown}: cannot create the run directory: {fileio.describe(exc)}") from None
    lock = RunLock.acquire(path)
    try:
        # looked at under the lock: a writer that finished a moment ago has left its files here
        if any(p.name != lock.name for p in path.iterdir()):
            if not overwrite:
                raise CheckpointError(
                    f"{shown}: already holds files; pass --overwrite to replace them, or pick another --out"
                )
            own = [*(path / name for name in OWN_FILES), *fileio.leftover_temporaries(path, OWN_FILES)]
            real_inputs = {os.path.realpath(p) for p in inputs if p is not None}
            for file in own:
                if file.is_dir() and not file.is_symlink():
                    raise CheckpointError(
                        f"{visible(file)}: is a folder where nncli writes a file; pick another --out"
                    )
                if (file.exists() or file.is_symlink()) and os.path.realpath(file) in real_inputs:
                    raise CheckpointError(
                        f"{visible(file)}: is an input of this run; --overwrite would replace it. Copy it "
                        "elsewhere or pick another --out"
                    )
            for file in own:
                file.unlink(missing_ok=True)
    except BaseException:
        lock.release()
        raise
    return lock


class RunDirectory:
    """Listens to the trainer and keeps the run directory up to date, holding its lock until `close()`
    (or the end of training)."""

    def __init__(self, path: Path, run: Run, lock: RunLock | None = None) -> None:
        self.path, self.run, self.lock = path, run, lock
        self.summary: dict | None = None
        self.saved_step: int | None = None  # step of the last checkpoint written (or resumed from)

    def close(self) -> None:
        """Give up the run directory's lock; safe to call twice."""
        if self.lock is not None:
            self.lock.release()

    def start(self) -> None:
        self._guarded(self._start, None)

    def _start(self, _event) -> None:
        fileio.atomic_write_text(self.path / "config.yaml", dump_config(self.run.config))
        info = json.dumps(self.run.data.info(), indent=2, ensure_ascii=False)
        fileio.atomic_write_text(self.path / "data.json", info + "\n")
        fileio.save_npz(self.path / "init.npz", self.run.params.state_dict())
        fileio.atomic_write_text(self.path / "metrics.jsonl", "")

    def resume(self, longer: bool = False) -> int:
        """Load checkpoint.npz into the run and trim metrics.jsonl to the checkpoint's step. A checkpoint
        that does not load, or a run that is finished, changes nothing in the folder; a finished run
        continues only when `longer` (its length was raised with --set training.epochs/steps)."""
        shown = visible(self.path)
        summary = read_summary(self.path)
        rows = read_metrics(self.path)
        total = self.run.trainer.settings.total_steps
        if summary.get("status") in FINISHED and not longer:
            raise CheckpointError(_finished(shown, summary.get("status"), summary.get("steps"), total))
        source = self.path / "checkpoint.npz"
        try:
            arrays = fileio.load_npz(source, "checkpoint")
            step = checkpoint.restore_checkpoint(self.run, arrays, str(source))
        except CheckpointError as exc:
            raise CheckpointError(
                f"{exc}\ncannot resume; {shown} is left as it was (start afresh with --out NEW_DIR)"
            ) from None
        if step >= total:
            raise CheckpointError(_finished(shown, "completed", step, total))
        self.saved_step = step
        for stale in fileio.leftover_temporaries(self.path, FILES):
            stale.unlink(missing_ok=True)
        kept = [row for row in rows if row["step"] <= step]
        self.run.trainer.state.history = kept
        self._guarded(
            lambda _: fileio.atomic_write_text(
                self.path / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept)
            ),
            None,
        )
        return step

    def __call__(self, event: Event) -> None:
        self._guarded(self._write, event)

    def _write(self, event: Event) -> None:
        if isinstance(event, StepEnd):
            line = (
                json.dumps(
                    {k: finite_or_none(v) if isinstance(v, float) else v for k, v in event.to_dict().items()}
                )
                + "\n"
            )
            append_line(self.path / "metrics.jsonl", line)
        elif isinstance(event, CheckpointDue):
            fileio.save_npz(self.path / "checkpoint.npz", checkpoint.checkpoint_arrays(self.run, event.step))
            self.saved_step = event.step
            if self.run.trainer.best is not None:
                fileio.save_npz(self.path / "best.npz", self.run.trainer.best)
        elif isinstance(event, TrainingEnd):
            if event.status not in ("diverged", "failed"):
                fileio.save_npz(self.path / "final.npz", self.run.params.state_dict())
            self.summary = build_summary(self.run, event, self.path)
            fileio.atomic_write_text(self.path / "summary.json", json.dumps(self.summary, indent=2) + "\n")
            self.close()

    def _guarded(self, write, event) -> None:
        """Run `write(event)`; a file-system fault stops the run with a message that says what is kept,
        after writing summary.json (status 'failed') where the file system still allows it."""
        try:
            write(event)
        except FileSystemError as exc:
            kept = (
                f"the checkpoint of step {self.saved_step} is intact"
                if self.saved_step is not None
                else "no checkpoint had been written yet"
            )
            message = f"{exc}; {kept}"
            self.write_summary("failed", message)
            self.close()
            raise FileSystemError(message) from None

    def write_summary(self, status: str, message: str) -> None:
        """summary.json for a run that ended without its TrainingEnd (a file-system fault, a second
        signal), written where the file system still allows; the parameters are left as they were."""
        end = TrainingEnd(self.run.trainer.state.step, status, message)
        self.summary = build_summary(self.run, end, self.path)
        with contextlib.suppress(NncliError):
            fileio.atomic_write_text(self.path / "summary.json", json.dumps(self.summary, indent=2) + "\n")


def _finished(shown: str, status, steps, total: int) -> str:
    return (
        f"{shown}: the run is finished ({status} at step {steps} of {total}); --resume alone continues only "
        f"a stopped run. To train it further: nncli train --resume {shown} --set training.epochs=N"
    )


def append_line(path: Path, line: str) -> None:
    """Append one whole line with O_APPEND: one write(2) for a short line, looping only if the kernel
    writes less (disk full). A reader, or a run killed in between, sees whole lines; readers skip a last
    line that has no newline."""
    data = line.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            while data:
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)
    except OSError as exc:
        raise fileio.fault(exc, "writing", path) from None


def new_run(
    config, out: Path | None = None, *, overwrite: bool = False, dataset=None, inputs: tuple = ()
) -> tuple[Run, RunDirectory]:
    """Build a run from a config and give it a fresh, locked run directory (written on `start`);
    `inputs` are the files the run reads (config, data), which --overwrite must not remove."""
    run = build_run(config, dataset)
    path = Path(out) if out is not None else default_run_dir(config.name or "run")
    data_path = getattr(config.data, "path", None)
    lock = prepare_new(path, overwrite, (*inputs, data_path))
    return run, RunDirectory(path, run, lock)


LENGTH_KEYS = ("training.epochs", "training.steps")  # what --set may change when a run is continued


def resumed_run(path: Path, overrides: list[str] = ()) -> tuple[Run, RunDirectory]:
    """Rebuild the run of an existing run directory from its config.yaml and load its checkpoint.

    `overrides` may change the training length only (`training.epochs=N`), to continue a finished run;
    the result is the run that was configured that long from the start, provided the learning rate does
    not depend on the length (a cosine schedule without its own T_max does: that is refused)."""
    path = Path(path)
    config = _run_config(path)
    if not (path / "checkpoint.npz").exists():
        raise CheckpointError(f"{path}: has no checkpoint.npz to resume from; start afresh with --out")
    if overrides:
        for item in overrides:
            if item.partition("=")[0].strip() not in LENGTH_KEYS:
                raise ConfigError(
                    f"--set {item}: continuing a run changes only its length ({', '.join(LENGTH_KEYS)})"
                )
        before = build_run(config).trainer.settings.total_steps
        config, _ = load_config(path / "config.yaml", list(overrides))
    run = build_run(config)
    if overrides:
        _check_longer(config, before, run.trainer.settings.total_steps)
    rundir = RunDirectory(path, run, RunLock.acquire(path))
    try:
        rundir.resume(longer=bool(overrides))  # refuses a length shorter than the steps already done
    except BaseException:
        rundir.close()
        raise
    if overrides:
        fileio.atomic_write_text(path / "config.yaml", dump_config(config))
    return run, rundir


def _check_longer(config, before: int, after: int) -> None:
    schedule = config.schedule
    if after != before and schedule.name == "cosine" and schedule.T_max is None:
        raise ConfigError(
            f"schedule.name: cosine anneals over the run's length (T_max = total steps, {before}); a run "
            f"of {after} steps would have had other learning rates from the first step, so continuing "
            "cannot give it. Train afresh with the new length, or give schedule.T_max"
        )


def _check_data_info(path: Path, run: Run) -> None:
    """The data a run is rebuilt from must be read as it was in training: same columns, same classes."""
    source = path / "data.json"
    if not source.is_file():  # a run from before data.json
        return
    try:
        saved = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{source}: not readable ({exc})") from None
    now = run.data.info()
    changed = [k for k in ("task", "features", "classes") if saved.get(k) != now[k]]
    if changed:
        raise CheckpointError(
            f"{source}: the training data now gives another {', '.join(changed)} "
            f"({'; '.join(f'{k}: {saved.get(k)} then, {now[k]} now' for k in changed)}); "
            "the file the run was trained from has changed"
        )


def _run_config(path: Path):
    config, _ = load_config(require_run_directory(path) / "config.yaml")
    return config


WEIGHTS = ("final", "best")  # which parameters evaluate/predict use: final.npz or best.npz


def load_trained(path: Path, weights: str = "final") -> Run:
    """A run rebuilt from its directory with its final (else checkpointed) or best parameters."""
    path = Path(path)
    run = build_run(_run_config(path))
    _check_data_info(path, run)
    final, ckpt = path / f"{weights}.npz", path / "checkpoint.npz"
    if weights == "best" and not final.exists():
        raise CheckpointError(
            f"{path}: has no best.npz; only a run with validation data keeps its best weights"
        )
    if final.exists():
        params = fileio.load_npz(final, "parameter file")
        checkpoint.check_finite(params, str(final), "parameter")
        run.params.load_state_dict(params, source=str(final))
        if ckpt.exists() and dict(run.model.named_buffers()):  # running statistics live in the checkpoint
            arrays = fileio.load_npz(ckpt, "checkpoint")
            _, buffers, _ = checkpoint.split_arrays(arrays)
            if weights == "best":
                buffers = checkpoint.split_best(arrays)[1]
            checkpoint.check_buffers(run, buffers, str(ckpt))
            run.model.load_buffers(buffers)
    elif ckpt.exists():
        checkpoint.restore_checkpoint(run, fileio.load_npz(ckpt, "checkpoint"), str(ckpt))
    else:
        raise CheckpointError(
            f"{path}: has neither final.npz nor checkpoint.npz; the run stopped before its first checkpoint"
        )
    return run


def load_run(run_dir: str | Path) -> Run | None:
    """The run of a run directory with its trained parameters, or None when it stopped before saving any
    (diverged at once): then its metrics are all there is to show."""
    run_dir = require_run_directory(run_dir)
    try:
        return load_trained(run_dir)
    except CheckpointError:
        if (run_dir / "final.npz").exists() or (run_dir / "checkpoint.npz").exists():
            raise
        return None
