"""The evidence store: encrypted, content-addressed files beside the database.

Each distinct content is one file under `blobs/`, named by a random id (the name says
nothing about the content) and sealed with its own random AES-256-GCM key, which lives in
the encrypted database. The file is a 16-byte header followed by 1 MiB chunks, each sealed
with its index and a last-chunk flag as associated data, so a chunk cannot be swapped,
reordered, dropped or cut off unnoticed (the STREAM construction).

Files are written under a temporary name, fsynced and renamed; the database row is the
commit point, and files no row refers to are collected as orphans. Reading and writing
stream: memory use does not grow with the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import secrets
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.atomic import TEMP_SUFFIX, BackgroundFlush, fsync_directory
from storage.errors import EvidenceFileError, IntegrityError

MAGIC = b"VALISEB1"
CHUNK = 1 << 20
TAG = 16
HEADER = struct.Struct(">8sII")  # magic, chunk size, reserved

Progress = Callable[[int, int], None]


class Cancelled(Exception):
    """The person cancelled a long operation; nothing was kept."""


@dataclass(frozen=True)
class StagedBlob:
    """An encrypted file written under a temporary name, not yet part of the store."""

    temp_path: Path
    sha256: str
    size: int
    key: bytes


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


class BlobStore:
    """Encrypted evidence files under one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, store_name: str) -> Path:
        """Where the file for `store_name` lives (two-level fan-out)."""
        if len(store_name) != 32 or not all(c in "0123456789abcdef" for c in store_name):
            raise IntegrityError("A stored evidence name is malformed.")
        return self.folder / store_name[:2] / store_name

    def stage(
        self,
        source: Path,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> StagedBlob:
        """Stream `source` in, hashing and encrypting on the way, into a temporary file."""
        total = _source_size(source)
        self.folder.mkdir(parents=True, exist_ok=True)
        key = AESGCM.generate_key(bit_length=256)
        temp = self.folder / f".{secrets.token_hex(16)}{TEMP_SUFFIX}"
        reader = _HashingReader(source)
        try:
            size = self._write_encrypted(temp, key, reader.chunks(), total, progress, cancel)
            digest = reader.hexdigest()
        except BaseException:
            reader.stop()
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        if size == 0:
            temp.unlink()
            raise EvidenceFileError(
                f"The file is empty (0 bytes); there is nothing to add: {source}"
            )
        return StagedBlob(temp, digest, size, key)

    def _write_encrypted(
        self,
        temp: Path,
        key: bytes,
        chunks: Iterator[tuple[bytes, bool]],
        total: int,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> int:
        sealer = AESGCM(key)
        header = HEADER.pack(MAGIC, CHUNK, 0)
        written = 0
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb", buffering=0) as out:
            out.write(header)
            for index, (plain, final) in enumerate(chunks):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                out.write(sealer.encrypt(_nonce(index), plain, _aad(header, index, final)))
                written += len(plain)
                if progress:
                    progress(written, total)
            os.fsync(out.fileno())
        return written

    def writer(self) -> BlobWriter:
        """A staged file written piece by piece, for evidence that arrives in a bundle."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return BlobWriter(self.folder / f".{secrets.token_hex(16)}{TEMP_SUFFIX}")

    def commit(self, staged: StagedBlob) -> str:
        """Move a staged file to its final random name; returns that name."""
        name = secrets.token_hex(16)
        final = self.path_of(name)
        final.parent.mkdir(exist_ok=True)
        os.replace(staged.temp_path, final)
        fsync_directory(final.parent)
        return name

    def discard(self, staged: StagedBlob) -> None:
        """Drop a staged file (duplicate content, or the database refused the row)."""
        with contextlib.suppress(FileNotFoundError):
            staged.temp_path.unlink()

    def read(self, store_name: str, key: bytes) -> Iterator[bytes]:
        """Yield the plaintext chunk by chunk, each authenticated before it is yielded."""
        return self.read_range(store_name, key, 0, None)

    def read_range(
        self, store_name: str, key: bytes, start: int, end: int | None
    ) -> Iterator[bytes]:
        """Yield plaintext bytes `start` to `end` (None: to the last), reading only the
        chunks that hold them; each chunk is authenticated before any of it is yielded.
        Evidence workers use it to encrypt different stretches of one file side by side."""
        path = self.path_of(store_name)
        try:
            handle = path.open("rb", buffering=0)
        except FileNotFoundError:
            raise IntegrityError(
                f"The stored file for an evidence item is missing: {path}"
            ) from None
        with handle:
            header, chunk_size = _read_header(handle, path)
            sealed_size = chunk_size + TAG
            chunks = -(-(os.fstat(handle.fileno()).st_size - HEADER.size) // sealed_size)
            if chunks <= 0:
                raise IntegrityError(f"A stored evidence file is empty: {path}")
            opener = AESGCM(key)
            index = start // chunk_size
            handle.seek(HEADER.size + index * sealed_size)
            while index < chunks and (end is None or index * chunk_size < end):
                sealed = handle.read(sealed_size)
                try:
                    plain = opener.decrypt(
                        _nonce(index), sealed, _aad(header, index, index == chunks - 1)
                    )
                except InvalidTag:
                    raise IntegrityError(
                        f"A stored evidence file is damaged or was altered (chunk {index}): {path}"
                    ) from None
                first = max(start - index * chunk_size, 0)
                last = len(plain) if end is None else min(end - index * chunk_size, len(plain))
                yield plain if first == 0 and last == len(plain) else plain[first:last]
                index += 1

    def stored_names(self) -> Iterator[Path]:
        """Every file in the store, finished or not."""
        if not self.folder.exists():
            return
        for sub in self.folder.iterdir():
            if sub.is_dir():
                yield from sub.iterdir()
            else:
                yield sub

    def collect_orphans(self, known: set[str]) -> int:
        """Delete files no database row refers to (an interrupted add); returns how many."""
        removed = 0
        for path in list(self.stored_names()):
            if path.name not in known:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                removed += 1
        return removed


class BlobWriter:
    """Encrypts bytes pushed into it into a staged store file, hashing them on the way.

    Hashing runs in one worker thread, sealing and writing in another (hashlib, file
    writes and mostly AES-GCM release the GIL), so both overlap with each other and with
    whatever produces the bytes, such as decrypting a bundle. The last chunk is flagged as
    last, so a chunk is only sealed once the next byte after it is known to exist; a few
    chunks (1 MiB each) are in flight at most.
    """

    _QUEUE_CHUNKS = 8

    def __init__(self, temp_path: Path) -> None:
        self.temp_path = temp_path
        self._key = AESGCM.generate_key(bit_length=256)
        self._sealer = AESGCM(self._key)
        self._header = HEADER.pack(MAGIC, CHUNK, 0)
        self._hash = hashlib.sha256()
        self._pending = bytearray()
        self._full: bytes | None = None  # a whole chunk, sealed once we know what follows
        self._size = 0
        fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out: BinaryIO = os.fdopen(fd, "wb")
        self._out.write(self._header)
        self._flusher = BackgroundFlush(self._out.fileno())
        self._queue: queue.Queue[tuple[bytes, bool] | None] = queue.Queue(self._QUEUE_CHUNKS)
        self._hash_queue: queue.Queue[bytes | None] = queue.Queue(self._QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name="blob-writer", daemon=True)
        self._hasher = threading.Thread(target=self._run_hash, name="blob-hasher", daemon=True)
        self._worker.start()
        self._hasher.start()

    def _run(self) -> None:
        index = 0
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain after a failure; the producer learns of it
            plain, final = item
            try:
                aad = _aad(self._header, index, final)
                sealed = self._sealer.encrypt(_nonce(index), plain, aad)
                self._out.write(sealed)
                self._flusher.wrote(len(sealed))
            except BaseException as exc:  # reported to the producer, not lost in a thread
                self._error = exc
            index += 1

    def _run_hash(self) -> None:
        while (plain := self._hash_queue.get()) is not None:
            self._hash.update(plain)

    def _push(self, plain: bytes, final: bool) -> None:
        self._hash_queue.put(plain)
        self._queue.put((plain, final))

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes | memoryview) -> None:
        """Add the next plaintext bytes (copied once when they arrive chunk-aligned)."""
        self._check()
        view = memoryview(data)
        self._size += len(view)
        while view:
            if self._full is not None:  # more bytes follow it, so it is not the last
                self._push(self._full, False)
                self._full = None
            take = min(CHUNK - len(self._pending), len(view))
            if not self._pending and take == CHUNK:
                self._full = bytes(view[:CHUNK])
            else:
                self._pending += view[:take]
                if len(self._pending) == CHUNK:
                    self._full, self._pending = bytes(self._pending), bytearray()
            view = view[take:]

    def _stop(self) -> None:
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()
        if self._hasher.is_alive():
            self._hash_queue.put(None)
            self._hasher.join()

    def finish(self) -> StagedBlob:
        """Seal the last chunk, fsync, and return the staged file (not yet in the store)."""
        if self._size == 0:
            self.abort()
            raise EvidenceFileError("An evidence file with no bytes cannot be stored.")
        if self._full is not None and self._pending:
            self._push(self._full, False)
            self._push(bytes(self._pending), True)
        elif self._full is not None:
            self._push(self._full, True)
        else:
            self._push(bytes(self._pending), True)
        self._full, self._pending = None, bytearray()
        self._stop()
        self._check()
        self._out.flush()
        self._flusher.close()
        os.fsync(self._out.fileno())
        self._out.close()
        return StagedBlob(self.temp_path, self._hash.hexdigest(), self._size, self._key)

    def abort(self) -> None:
        """Drop the staged file."""
        self._error = self._error or Cancelled()
        self._stop()
        with contextlib.suppress(OSError):
            self._flusher.close()
        with contextlib.suppress(OSError):
            self._out.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()


def _read_header(handle: BinaryIO, path: Path) -> tuple[bytes, int]:
    """A stored file's header and chunk size, checked."""
    header = handle.read(HEADER.size)
    if len(header) != HEADER.size or HEADER.unpack(header)[0] != MAGIC:
        raise IntegrityError(f"A stored evidence file is damaged (bad header): {path}")
    chunk_size = int(HEADER.unpack(header)[1])
    if not 1024 <= chunk_size <= 64 << 20:
        raise IntegrityError(f"A stored evidence file is damaged (bad header): {path}")
    return header, chunk_size


def _source_size(source: Path) -> int:
    """Check that `source` is a readable regular file; say plainly what is wrong if not."""
    try:
        info = source.stat()
    except FileNotFoundError:
        raise EvidenceFileError(f"No such file: {source}") from None
    except PermissionError:
        raise EvidenceFileError(f"The file cannot be read (permission denied): {source}") from None
    except OSError as exc:
        raise EvidenceFileError(f"The file cannot be read ({exc.strerror}): {source}") from None
    if source.is_dir():
        raise EvidenceFileError(f"This is a folder, not a file; add the files inside it: {source}")
    if not source.is_file():
        raise EvidenceFileError(f"This is not a regular file: {source}")
    if not os.access(source, os.R_OK):
        raise EvidenceFileError(f"The file cannot be read (permission denied): {source}")
    if info.st_size == 0:
        raise EvidenceFileError(f"The file is empty (0 bytes); there is nothing to add: {source}")
    return info.st_size


def _read_full(handle: BinaryIO, size: int) -> bytes:
    """Read exactly `size` bytes unless the file ends first (raw reads may come up short)."""
    data = handle.read(size)
    if not data or len(data) == size:
        return data or b""
    parts = [data]
    got = len(data)
    while got < size:
        more = handle.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class _HashingReader:
    """Reads a file in a second thread, hashing as it goes, so hashing overlaps encryption."""

    def __init__(self, source: Path) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[tuple[bytes, bool] | BaseException | None] = queue.Queue(8)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evidence-reader", daemon=True)

    def _put(self, item: tuple[bytes, bool] | BaseException | None) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            with self._source.open("rb", buffering=0) as handle:
                held = _read_full(handle, CHUNK)
                while held:
                    self._hash.update(held)
                    following = _read_full(handle, CHUNK)
                    if not self._put((held, not following)):
                        return
                    held = following
            self._put(None)
        except OSError as exc:
            self._put(
                EvidenceFileError(f"Reading the file failed ({exc.strerror}): {self._source}")
            )

    def chunks(self) -> Iterator[tuple[bytes, bool]]:
        """Plaintext chunks with a flag on the last one."""
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def hexdigest(self) -> str:
        """The SHA-256 of everything read (valid once `chunks` is exhausted)."""
        self._thread.join()
        return self._hash.hexdigest()

    def stop(self) -> None:
        """Abandon reading (cancel or error)."""
        self._stopped.set()
