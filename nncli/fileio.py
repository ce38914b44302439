"""Atomic file writes: a reader, or a crash, sees the old file or the new one, never half of one. File
system faults (disk full, read-only, permission denied, odd paths) become one message naming the path.
And the one safe reader of .npz archives, for data files, parameter files and checkpoints alike."""

from __future__ import annotations

import contextlib
import errno
import glob
import math
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import numpy as np

from nncli.errors import CheckpointError, FileSystemError, NncliError, excerpt, visible

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


# ---------------------------------------------------------------------------------------------- .npz


BOMB_BYTES, BOMB_RATIO = 64 << 20, 200  # a member this large that compressed this well is refused


def available_memory() -> int:
    """Bytes of memory this process can still count on (MemAvailable; total memory where unknown)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/meminfo") as f:
            line = next(line for line in f if line.startswith("MemAvailable:"))
            return int(line.split()[1]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write named arrays to an .npz, atomically."""
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_npz(
    path: str | Path, what: str = "file", error: type[NncliError] = CheckpointError
) -> dict[str, np.ndarray]:
    """Every array of an .npz archive, read member by member without ever unpickling: a missing,
    truncated or foreign file, a member that is not a .npy array (raw pickle bytes), one holding Python
    objects, one shorter than its header promises, or arrays larger than the memory left (a zip bomb)
    raise `error` naming the file and the member, before the array is allocated."""
    path = Path(path)
    shown = visible(path)
    if not path.exists():
        raise error(f"{shown}: no such {what}")
    if not path.is_file():
        raise error(f"{shown}: is not a file; expected an .npz {what}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > available_memory():
                raise error(
                    f"{shown}: its arrays would take {total / 2**30:,.1f} GiB once decompressed, more than "
                    f"the memory left ({available_memory() / 2**30:,.1f} GiB); is it a zip bomb?"
                )
            return {_array_name(m): _read_member(archive, m, shown, error) for m in members}
    except zipfile.BadZipFile:
        with contextlib.suppress(OSError):
            if path.read_bytes()[:6] == np.lib.format.MAGIC_PREFIX:
                raise error(f"{shown}: holds a single .npy array, not an .npz archive") from None
        raise error(f"{shown}: not a readable {what}: truncated, or not an .npz archive") from None
    except OSError as exc:
        raise fault(exc, "reading", path) from None


def _array_name(member: zipfile.ZipInfo) -> str:
    return member.filename[:-4] if member.filename.endswith(".npy") else member.filename


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, shown: str, error) -> np.ndarray:
    name = excerpt(_array_name(member))
    where = f"{shown}: array '{name}'"
    if member.file_size > BOMB_BYTES and member.file_size > BOMB_RATIO * max(member.compress_size, 1):
        raise error(
            f"{where} would expand from {member.compress_size:,} to {member.file_size:,} bytes; "
            "is the file a zip bomb?"
        )
    try:
        with archive.open(member) as f:
            head = f.read(6)
            if head[:1] == b"\x80":
                raise error(f"{where} is raw pickle bytes, not a .npy array; nncli never unpickles")
            if head != np.lib.format.MAGIC_PREFIX:
                raise error(f"{where} is not a .npy array (it starts {excerpt(repr(head))})")
            f.seek(0)
            version = np.lib.format.read_magic(f)
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read_header(f)
            if dtype.hasobject:
                raise error(f"{where} holds Python objects (a pickle), which nncli never loads")
            expected = math.prod(shape) * dtype.itemsize
            if member.file_size - f.tell() < expected:
                raise error(
                    f"{where} is truncated: its header promises {expected:,} bytes of data, the archive "
                    f"holds {member.file_size - f.tell():,}"
                )
        with archive.open(member) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: zipfile's word for an encrypted member; NotImplementedError: an unknown compression
        raise error(f"{where} cannot be read: {excerpt(exc, 120)}") from None
