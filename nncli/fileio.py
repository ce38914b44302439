"""Atomic file writes: a reader, or a crash, sees the old file or the new one, never half of one. File
system faults (disk full, read-only, permission denied, odd paths) become one message naming the path."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from nncli.errors import FileSystemError, visible

TMP_SUFFIX = ".tmp"

# how a fault reads in a message; anything else gets the system's own words
_FAULTS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "a name in the path is longer than the file system allows",
    errno.ELOOP: "the path is a loop of symbolic links",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder",
}


def describe(exc: OSError) -> str:
    """An OSError in a few words: 'no space left on device', 'permission denied', ..."""
    return _FAULTS.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__


def fault(exc: OSError, action: str, path: str | Path) -> FileSystemError:
    """The user-facing error for an OSError while `action` ('writing', 'reading') `path`."""
    return FileSystemError(f"{describe(exc)} while {action} {visible(path)}")


def check_path(path: str | Path, what: str) -> Path:
    """Refuse a path no file system can take (a NUL byte) before it reaches one; `what` names where the
    path came from ('--out', 'data.path')."""
    text = os.fspath(path)
    if "\x00" in text:
        raise FileSystemError(f"{what}: the path {visible(text)!r} holds a NUL byte")
    return Path(path)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a temporary file in the same folder, fsync it, then rename it over `path`, so a
    reader (or a crash) sees the old file or the new one, never half of one. A file-system fault
    (disk full, read-only, no permission) leaves the old file as it was and raises FileSystemError."""
    path = check_path(path, "output")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:
        raise fault(exc, "writing", path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; run files are ordinary files
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise fault(exc, "writing", path) from None
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
