"""One writer per run directory: an exclusive `flock` on `RUN_DIR/.nncli.lock`, held for the whole run.

The kernel drops a `flock` when its process dies, so a run killed with -9 leaves no lock that blocks its
`--resume`. The holder writes its PID into the file for the message a second writer gets. The file is
removed on release; a writer that locked a file which was removed meanwhile notices (another inode under
the name) and locks afresh, so two writers never hold locks on two different files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from nncli.errors import CheckpointError
from nncli.fileio import describe

LOCK_NAME = ".nncli.lock"


class RunLock:
    """An exclusive lock on a run directory; `release()` (or the process ending) gives it up."""

    name = LOCK_NAME

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder, self.fd = folder, fd

    @classmethod
    def acquire(cls, folder: str | Path) -> RunLock:
        """Lock `folder` or raise CheckpointError naming the process that holds it."""
        folder = Path(folder)
        path = folder / LOCK_NAME
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise CheckpointError(f"{path}: cannot create the run's lock file: {describe(exc)}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f"nncli process {holder}" if holder else "another nncli process"
                raise CheckpointError(
                    f"{folder}: is in use by {who}, which is writing this run; wait for it to end or "
                    "pick another --out"
                ) from None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder before us removed the file after we opened it: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(folder, fd)

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            (self.folder / LOCK_NAME).unlink()  # while still locked: nobody can hold the name's lock
        os.close(self.fd)
        self.fd = -1

    def __del__(self) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    """The holder's PID; it writes it just after locking, so a writer that lost a race by microseconds
    waits for it a little (at most half a second) rather than name nobody."""
    for _ in range(100):
        try:
            text = os.pread(fd, 32, 0).decode("ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if text.isdigit():
            return int(text)
        time.sleep(0.005)
    return None
