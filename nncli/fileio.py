"""Files nncli writes and reads: atomic writes (a reader, or a crash, sees the old file or the new one,
never half of one) and the one safe `.npz` reader."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import numpy as np

from nncli.errors import CheckpointError, NncliError

TMP_SUFFIX = ".tmp"


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a temporary file in the same folder, fsync it, then rename it over `path`, so a
    reader (or a crash) sees the old file or the new one, never half of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; run files are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # make the rename itself durable; some filesystems cannot fsync a folder, and the file is already safe
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def leftover_temporaries(path: str | Path, names: Iterable[str]) -> list[Path]:
    """Temporary files `atomic_write` left in `path` for these names when the process was killed."""
    path = Path(path)
    return sorted(p for name in names for p in path.glob(f".{glob.escape(name)}.*{TMP_SUFFIX}"))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write named arrays to an .npz, atomically."""
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_npz(
    path: str | Path, what: str = "file", error: type[NncliError] = CheckpointError
) -> dict[str, np.ndarray]:
    """Every array of an .npz, read with `allow_pickle=False` so nothing in the file can run; a missing,
    damaged or foreign file, or one holding Python objects, raises `error` naming the file and member."""
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: no such {what}")
    if not path.is_file():
        raise error(f"{path}: is not a file; expected an .npz {what}")
    # numpy leaks its own file handle when the zip is corrupt, so the file is opened here
    with path.open("rb") as f:
        try:
            npz = np.load(f, allow_pickle=False)
        except ValueError:  # neither .npz nor .npy: numpy would have to unpickle it, and refuses
            raise error(f"{path}: not an .npz archive; nncli never unpickles a file") from None
        except (OSError, EOFError, zipfile.BadZipFile) as err:
            raise error(f"{path}: not a readable {what} (truncated or not an .npz: {err})") from None
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise error(f"{path}: holds a single .npy array, not an .npz {what}")
        arrays = {}
        with npz:
            for key in npz.files:
                try:
                    arrays[key] = npz[key]
                except ValueError:  # "Object arrays cannot be loaded when allow_pickle=False"
                    raise error(
                        f"{path}: array '{key}' holds Python objects (a pickle), which nncli never loads; "
                        "save plain numeric arrays"
                    ) from None
                except (OSError, EOFError, KeyError, zipfile.BadZipFile) as err:
                    raise error(f"{path}: not a readable {what}: array '{key}' ({err})") from None
    return arrays
