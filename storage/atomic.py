"""Crash-safe file replacement: write a temp name in the same folder, fsync, rename, fsync dir.

A power cut or a `kill -9` at any moment leaves either the old file or the new one, never a
half-written file under the real name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".partial"


def fsync_directory(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name_beside(path: Path) -> Path:
    """A fresh temporary name in the same folder, so the final rename is atomic."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


@contextlib.contextmanager
def atomic_writer(path: Path, mode: int = 0o600) -> Iterator[BinaryIO]:
    """Yield a file that replaces `path` atomically when the block ends without error."""
    tmp = temp_name_beside(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_directory(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` so a crash leaves the old or the new content whole."""
    with atomic_writer(path, mode) as handle:
        handle.write(data)


class BackgroundFlush:
    """Pushes a file that is being written to disk from a helper thread, every `every`
    bytes, so the writer never waits for the disk meanwhile and the closing fsync has
    little left to do. A failed flush is raised to the writer at its next call, so an I/O
    error reported to the helper is never lost (Linux reports it only once).
    """

    def __init__(self, fd: int, every: int = 64 << 20) -> None:
        self._fd = fd
        self._every = every
        self._unflushed = 0
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def _flush(self) -> None:
        try:
            os.fdatasync(self._fd)
        except OSError as exc:
            self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def wrote(self, count: int) -> None:
        """Note `count` more bytes handed to the OS; start a flush when enough wait."""
        self._raise_error()
        self._unflushed += count
        if self._unflushed < self._every:
            return
        if self._thread is not None and self._thread.is_alive():
            return  # the disk is still busy with the previous flush
        self._unflushed = 0
        self._thread = threading.Thread(target=self._flush, name="flush", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Wait for a flush under way (before the file is closed); raise its error."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._raise_error()
