"""Opening files that someone else may have put there: regular files only, no links.

A stick, a folder a person picks for import and even the clear files beside the database
(the unlock record, the audit anchor) can hold, under a name Valise expects, a named pipe,
a device, a folder or a symbolic link. Opening a named pipe waits until something writes
to it, with the workspace lock held; a device can stream without end; a link can point at
`/etc/shadow` or at the workspace's own files. So every such file is opened here, in one
way: `O_NOFOLLOW` (a link is refused, never followed), `O_NONBLOCK` (opening a pipe does
not wait), then `fstat` on the open descriptor (no gap between a check and the open for a
swap to slip into) and anything but a regular file refused; only then is the descriptor
made blocking again for ordinary reads. What is read into memory is capped by the caller.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from storage.errors import StorageError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_FLAGS = (
    os.O_RDONLY | _NOFOLLOW | _NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


class NotARegularFile(StorageError):
    """A file to read is a link, folder, pipe, device or socket; it was not read."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(
            f"{path} is {kind}, not an ordinary file; Valise does not read it (nothing was"
            " read from it). Remove it, or put the real file in its place."
        )
        self.path = path
        self.kind = kind


class FileTooLarge(StorageError):
    """A file to read into memory is larger than what such a file can be."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(
            f"{path} is larger than {limit:,} bytes, more than such a file can hold; it was"
            " not read."
        )
        self.path = path
        self.limit = limit


def kind_of(mode: int) -> str:
    """What a file of this mode is, in words ("a named pipe (FIFO)")."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not an ordinary file"


def _refusal_for_open_error(path: Path, exc: OSError) -> NotARegularFile | None:
    """The refusal an `os.open` error stands for, if it was the file's kind that failed."""
    if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link (EMLINK on BSD)
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return NotARegularFile(path, "a symbolic link")
    if exc.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
        with contextlib.suppress(OSError):
            return NotARegularFile(path, kind_of(os.lstat(path).st_mode))
    if exc.errno == errno.EISDIR:
        return NotARegularFile(path, "a folder")
    return None


def open_regular(path: Path, *, buffering: int = -1) -> BinaryIO:
    """Open `path` for reading if it is a regular file and not a link; raise
    NotARegularFile otherwise, and OSError (FileNotFoundError, ...) as `os.open` does."""
    if not _NOFOLLOW and os.path.islink(path):  # no O_NOFOLLOW (Windows): check first
        raise NotARegularFile(path, "a symbolic link")
    try:
        fd = os.open(path, _FLAGS)
    except OSError as exc:
        refusal = _refusal_for_open_error(path, exc)
        if refusal is not None:
            raise refusal from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(path, kind_of(mode))
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, limit: int) -> bytes:
    """The whole of a regular file of at most `limit` bytes (see `open_regular`); raise
    FileTooLarge past it, having read no more than `limit + 1` bytes."""
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit)
    return data
