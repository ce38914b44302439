"""Where a command may write: the one policy every command's output goes through.

No command writes over a file of a run directory (`RUN_FILES`), over one of its own inputs, or over any
other existing file unless the user passed `--overwrite`. Paths are compared after resolving symbolic
links, so a link cannot smuggle a run's checkpoint in as an output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from nncli.errors import FileSystemError, visible
from nncli.fileio import check_path, fault

# the files `nncli train` writes into a run directory (see `nncli.rundir.directory`)
RUN_FILES = (
    "config.yaml",
    "data.json",
    "metrics.jsonl",
    "init.npz",
    "best.npz",
    "final.npz",
    "checkpoint.npz",
    "summary.json",
)


def is_run_directory(folder: str | Path) -> bool:
    """A folder `nncli train` wrote: its config.yaml beside its metrics.jsonl."""
    folder = Path(folder)
    return (folder / "config.yaml").is_file() and (folder / "metrics.jsonl").exists()


def run_file_of(path: str | Path) -> Path | None:
    """The run directory `path` is one of the files of, else None."""
    real = Path(os.path.realpath(path))
    return real.parent if real.name in RUN_FILES and is_run_directory(real.parent) else None


def check_output(
    path: str | Path,
    *,
    inputs: Iterable[str | Path | None] = (),
    overwrite: bool = False,
    option: str = "--out",
) -> Path:
    """Refuse to write `path` when it is a run's own file or one of `inputs`, or when it exists and
    `overwrite` is false; also a folder, or a file in a folder that does not exist. Checked before any
    work is done; `option` names where the path came from."""
    path = check_path(path, option)
    shown = visible(path)
    real = os.path.realpath(path)
    for source in inputs:
        if source is not None and os.path.realpath(source) == real:
            raise FileSystemError(f"{option} {shown}: is an input of this command; write elsewhere")
    run = run_file_of(path)
    if run is not None:
        raise FileSystemError(
            f"{option} {shown}: is the {Path(real).name} of the run directory {visible(run)}; nncli never "
            "writes over a run's own files (--overwrite neither); write the output elsewhere"
        )
    if path.is_dir():
        raise FileSystemError(f"{option} {shown}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise FileSystemError(f"{option} {shown}: the folder {visible(path.parent)} does not exist")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise FileSystemError(f"{option} {shown}: already exists; pass --overwrite to replace it")
    return path


def check_output_folder(folder: str | Path, option: str = "--out") -> Path:
    """A folder outputs go into: created if missing, refused if a file is in its place."""
    folder = check_path(folder, option)
    if run_file_of(folder) is not None or (folder.exists() and not folder.is_dir()):
        raise FileSystemError(
            f"{option} {visible(folder)}: is a file, not a folder; remove it or pick another"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fault(exc, "creating the folder", folder) from None
    return folder
