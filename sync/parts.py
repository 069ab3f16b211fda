"""Writing a bundle's parts: a slice of the payload, age-encrypted into a new file.

The main process and the evidence workers (`sync.evidence_parts`) both write parts this
way: pyrage reads the plaintext from a stream that ends where the part must end, and the
file goes to disk in the background while pyrage writes more, then is fsynced.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyrage
from pyrage import x25519

from storage.atomic import BackgroundFlush
from sync.errors import SyncError

AGE_CHUNK = 64 * 1024
AGE_TAG = 16

Progress = Callable[[int, int], None]


class PayloadSource(io.RawIOBase):
    """The payload as a raw stream that ends after `budget` bytes, so each part's pyrage
    call sees its own end; pyrage reads it through a buffer, in large slices."""

    def __init__(
        self, chunks: Iterator[bytes], progress: Progress | None = None, total: int = 0
    ) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = memoryview(b"")
        self._budget = 0
        self._done = False
        self.size = 0
        self._progress = progress
        self._total = total
        self.error: BaseException | None = None  # what stopped the payload, as raised

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Stay open: each part's buffered reader closes its raw stream when it is done,
        and the payload goes on into the next part."""

    def start_part(self, budget: int) -> io.BufferedReader:
        """A reader for the next part, ending after `budget` bytes."""
        self._budget = budget
        return io.BufferedReader(self, buffer_size=1 << 20)

    def _refill(self) -> bool:
        while not self._pending and not self._done:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                self._done = True
            except BaseException as exc:
                self.error = exc  # pyrage wraps it; `write_part` raises the original
                raise
        return bool(self._pending)

    @property
    def exhausted(self) -> bool:
        """True when every payload byte has been handed out."""
        return not self._refill()

    def readinto(self, buffer: Any) -> int:
        if self._budget <= 0 or not self._refill():
            return 0
        size = min(len(buffer), self._budget, len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self._budget -= size
        self.size += size
        if self._progress:
            self._progress(self.size, self._total)
        return size


def plaintext_budget(part_size: int, recipients: int) -> int:
    """Payload bytes that fit in one part once age's header (a stanza per recipient) and
    its 16-byte tag per 64 KiB chunk are added."""
    header = 512 + 160 * recipients
    room = part_size - header
    if room < 4 * 1024:
        raise SyncError("The part size is too small to hold a bundle part.")
    return room * AGE_CHUNK // (AGE_CHUNK + AGE_TAG) - AGE_TAG


class _PartFile:
    """A new part file whose bytes go to disk in the background while pyrage writes more."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb", buffering=1 << 20)
        self._flusher = BackgroundFlush(fd)
        self.size = 0
        self.error: BaseException | None = None

    def write(self, data: bytes) -> int:
        try:
            written = self._file.write(data)
            self._flusher.wrote(written)
        except BaseException as exc:
            self.error = exc
            raise
        self.size += written
        return written

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        """Make the part durable (fsync) and close it; the file is closed even on an error."""
        try:
            self._file.flush()
            self._flusher.close()
            os.fsync(self._file.fileno())
        finally:
            with contextlib.suppress(OSError):
                self._flusher.close()
            self._file.close()

    def abandon(self) -> None:
        """Close without waiting for the disk: the part is about to be deleted."""
        with contextlib.suppress(OSError):
            self._flusher.close()
        with contextlib.suppress(OSError):
            self._file.close()


def write_part(
    path: Path, payload: PayloadSource, budget: int, recipients: list[x25519.Recipient]
) -> int:
    """Encrypt the next `budget` bytes of the payload into a new part file, fsynced; its
    size. An error from the payload or the disk is raised as itself, not as pyrage's."""
    part = _PartFile(path)
    try:
        pyrage.encrypt_io(payload.start_part(budget), part, recipients)
    except BaseException as exc:
        part.abandon()
        cause = payload.error or part.error
        if cause is not None and cause is not exc:
            raise cause from None
        raise
    part.close()
    return part.size
