"""Crash-safe file replacement: write a temp name in the same folder, fsync, rename, fsync dir.

A power cut or a `kill -9` at any moment leaves either the old file or the new one, never a
half-written file under the real name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from storage.errors import StorageError
from storage.regular_files import read_regular

TEMP_SUFFIX = ".partial"


def fsync_path(path: Path) -> None:
    """Make what was written to the file or folder at `path` durable (for a folder: the
    renames and new files in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable."""
    fsync_path(folder)


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


PLAIN_COPY_PREFIX = ".valise-export-"
_PLAIN_COPY_NAME = re.compile(rf"{re.escape(PLAIN_COPY_PREFIX)}[0-9a-f]{{24}}{TEMP_SUFFIX}")
_pending_lock = threading.Lock()


def _pending_names(pending: Path) -> list[str]:
    try:
        text = read_regular(pending, 1 << 20).decode("utf-8", "surrogateescape")
    except (OSError, StorageError):
        return []
    return [line for line in text.splitlines() if line]


def _remember_pending(pending: Path, temp: Path) -> None:
    """Note a named temp copy before it exists, so a kill cannot leave it unknown."""
    with _pending_lock:
        names = [*_pending_names(pending), os.fsdecode(temp)]
        atomic_write_bytes(pending, "\n".join(names).encode("utf-8", "surrogateescape") + b"\n")


def _forget_pending(pending: Path, temp: Path) -> None:
    with _pending_lock:
        names = [name for name in _pending_names(pending) if name != os.fsdecode(temp)]
        if names:
            text = "\n".join(names).encode("utf-8", "surrogateescape") + b"\n"
            atomic_write_bytes(pending, text)
        else:
            pending.unlink(missing_ok=True)


def remove_interrupted_copies(pending: Path) -> None:
    """Delete the named temp copies a killed `WholeNewFile` left (listed in `pending`).
    Only a regular file whose name has the copy's own pattern is removed, so a list
    someone planted cannot make Valise delete anything else."""
    with _pending_lock:
        for name in _pending_names(pending):
            path = Path(name)
            if not _PLAIN_COPY_NAME.fullmatch(path.name):
                continue
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(path).st_mode):
                    path.unlink()
        pending.unlink(missing_ok=True)


class WholeNewFile:
    """A new file that appears under its name only once it is whole and its writer calls
    `publish`, and never replaces a file already there.

    Its bytes go to an unnamed file in the target's folder (Linux `O_TMPFILE`), which is
    linked under the name (`linkat` through `/proc/self/fd`) after an fsync; a kill or a
    failure before that leaves nothing anybody can open, as the kernel frees the unnamed
    file. Where the folder's file system has no unnamed files (some FUSE mounts, vfat on
    older kernels), the bytes go to a hidden name (`.valise-export-<random>.partial`,
    mode 0600) that is listed in `pending` before it is made: it is removed on failure, and
    after a kill by the next unlock of the workspace (`remove_interrupted_copies`).
    """

    def __init__(self, target: Path, pending: Path) -> None:
        self.target = target
        self._pending = pending
        self._temp: Path | None = None
        fd = self._open_unnamed()
        if fd is None:
            fd = self._open_hidden()
        self._file = os.fdopen(fd, "wb", buffering=1 << 20)

    def _open_unnamed(self) -> int | None:
        flag = getattr(os, "O_TMPFILE", 0)
        if not flag:
            return None
        try:
            fd = os.open(self.target.parent, flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                return None  # this file system (or kernel) has no unnamed files
            raise
        if not os.path.exists(f"/proc/self/fd/{fd}"):  # no /proc: it could not be linked
            os.close(fd)
            return None
        return fd

    def _open_hidden(self) -> int:
        temp = self.target.parent / f"{PLAIN_COPY_PREFIX}{secrets.token_hex(12)}{TEMP_SUFFIX}"
        _remember_pending(self._pending, temp)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(temp, flags, 0o600)
        except BaseException:
            _forget_pending(self._pending, temp)
            raise
        self._temp = temp
        return fd

    def write(self, data: bytes | memoryview) -> None:
        """Add bytes to the file (nobody can open them under the name yet)."""
        self._file.write(data)

    def publish(self) -> None:
        """Make the file durable, then visible under its name; FileExistsError (and
        nothing written there) when something took the name meanwhile."""
        self._file.flush()
        os.fsync(self._file.fileno())
        source = self._temp or f"/proc/self/fd/{self._file.fileno()}"
        folder = os.open(self.target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            # linkat(AT_SYMLINK_FOLLOW): a dir fd makes Python call linkat, not link(2),
            # which would link the /proc entry itself. It never replaces: EEXIST instead.
            os.link(source, self.target.name, dst_dir_fd=folder, follow_symlinks=True)
            os.fsync(folder)
        finally:
            os.close(folder)

    def close(self) -> None:
        """Close, and remove the hidden name if one was used (published or not)."""
        with contextlib.suppress(OSError):
            self._file.close()
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temp.unlink()
            _forget_pending(self._pending, self._temp)
            self._temp = None

    def __enter__(self) -> WholeNewFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
