"""Encrypting a large bundle's evidence on every core.

pyrage holds Python's GIL while it encrypts, so one process encrypts at one core's speed,
about 60% of the `age` tool's here. A bundle's parts are independent age files, so the
evidence, which comes last in the payload, is cut into parts that worker processes encrypt
side by side, each reading its own stretch of the encrypted store; the main process writes
the changeset parts meanwhile. Evidence keys and plaintext pass only through the pipes to
the workers, never through a file. Small bundles, and machines with one core or where a
worker cannot start, write every part in the main process as before.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrage import x25519

from storage.blobs import BlobStore, Cancelled
from storage.errors import IntegrityError
from sync.errors import SyncError
from sync.parts import PayloadSource, write_part
from sync.worker_processes import end_resource_tracker

PARALLEL_MIN_BYTES = 64 << 20  # evidence in a bundle before workers are worth starting
MIN_PART_BYTES = 32 << 20
MAX_WORKERS = 4
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class StoredBlob:
    """One evidence file of the payload: its frame header and where its bytes are stored."""

    header: bytes
    store_name: str
    key: bytes = field(repr=False)
    size: int


@dataclass(frozen=True)
class Stretch:
    """Bytes `start` to `end` of a stored file, after its frame header when it begins one."""

    header: bytes
    store_name: str
    key: bytes = field(repr=False)
    start: int
    end: int

    @property
    def size(self) -> int:
        """Payload bytes this stretch puts in its part."""
        return len(self.header) + self.end - self.start


@dataclass(frozen=True)
class PartJob:
    """One evidence part for a worker: where to write it and what goes in, in order."""

    path: Path
    store_folder: Path
    recipients: list[str]
    stretches: list[Stretch]

    @property
    def size(self) -> int:
        """The part's plaintext bytes."""
        return sum(stretch.size for stretch in self.stretches)


def part_bytes(blobs: Sequence[StoredBlob], workers: int, budget: int) -> int:
    """Plaintext per evidence part: about two parts per worker, so they finish together."""
    total = sum(len(blob.header) + blob.size for blob in blobs)
    share = -(-total // (2 * workers))
    return min(budget, max(MIN_PART_BYTES, share))


def cut_into_parts(blobs: Sequence[StoredBlob], per_part: int) -> list[list[Stretch]]:
    """The evidence frames, cut into parts of at most `per_part` bytes. A frame header
    always shares its part with the first bytes of its file."""
    parts: list[list[Stretch]] = []
    current: list[Stretch] = []
    room = per_part
    for blob in blobs:
        header, offset = blob.header, 0
        while offset < blob.size:
            if room < len(header) + 1:
                parts.append(current)
                current, room = [], per_part
            take = min(blob.size - offset, room - len(header))
            current.append(Stretch(header, blob.store_name, blob.key, offset, offset + take))
            room -= len(header) + take
            offset += take
            header = b""
    if current:
        parts.append(current)
    return parts


# -- in the worker process -----------------------------------------------------------------

_done: Any = None  # a shared counter of plaintext bytes encrypted, across the workers
_stop: Any = None  # set when the export is cancelled or failed


def _start_worker(done: Any, stop: Any) -> None:
    global _done, _stop
    _done, _stop = done, stop


def _stretch_bytes(store: BlobStore, stretches: list[Stretch]) -> Iterator[bytes]:
    for stretch in stretches:
        if stretch.header:
            yield stretch.header
        for chunk in store.read_range(stretch.store_name, stretch.key, stretch.start, stretch.end):
            if _stop is not None and _stop.is_set():
                raise Cancelled()
            yield chunk
            if _done is not None:
                with _done.get_lock():
                    _done.value += len(chunk)


def encrypt_part(job: PartJob) -> int:
    """Write one evidence part (runs in a worker); its size on disk."""
    recipients = [x25519.Recipient.from_str(text) for text in job.recipients]
    source = PayloadSource(_stretch_bytes(BlobStore(job.store_folder), job.stretches))
    size = write_part(job.path, source, job.size, recipients)
    if source.size != job.size or not source.exhausted:
        raise IntegrityError("A stored evidence file is shorter or longer than recorded.")
    return size


# -- in the main process -------------------------------------------------------------------


class EvidenceWorkers:
    """Worker processes that encrypt evidence parts side by side."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._done = context.Value("q", 0)
        self._stop = context.Event()
        self.count = count
        self._pool = concurrent.futures.ProcessPoolExecutor(
            count,
            mp_context=context,
            initializer=_start_worker,
            initargs=(self._done, self._stop),
        )
        self._futures: list[concurrent.futures.Future[int]] = []
        self._closed = False

    @classmethod
    def start(cls, evidence_bytes: int) -> EvidenceWorkers | None:
        """Workers for a bundle carrying `evidence_bytes`, or None when the main process
        should write everything itself. They start now, while the main process prepares."""
        count = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
        if evidence_bytes < PARALLEL_MIN_BYTES or count < 2:
            return None
        try:
            workers = cls(count)
            workers._pool.submit(int)  # spawns the processes without waiting for them
        except (OSError, ValueError, RuntimeError):
            return None
        return workers

    def submit(self, jobs: Sequence[PartJob]) -> None:
        """Start encrypting `jobs`, in order, as workers come free."""
        self._futures.extend(self._pool.submit(encrypt_part, job) for job in jobs)

    def done_bytes(self) -> int:
        """Plaintext bytes the workers have encrypted so far."""
        return int(self._done.value)

    def wait(
        self,
        progress: Callable[[int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[int]:
        """Each part's size once all are written; a worker's error is raised here."""
        pending = set(self._futures)
        while pending:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            finished, pending = concurrent.futures.wait(
                pending, POLL_SECONDS, concurrent.futures.FIRST_EXCEPTION
            )
            for future in finished:
                try:
                    future.result()  # a failure stops the export now, not after the rest
                except BrokenProcessPool:
                    raise SyncError(
                        "A helper process that encrypts the evidence stopped unexpectedly"
                        " (out of memory?); none of this bundle's files were left. Close other"
                        " programs and export again."
                    ) from None
            if progress is not None:
                progress(self.done_bytes())
        return [future.result() for future in self._futures]

    def close(self) -> None:
        """Stop the workers, wait until none is writing any more, and reap every process
        the pool started (see `sync.worker_processes`). Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        # Drop the pool's and our semaphores now, so the tracker has nothing left to track.
        del self._pool, self._done, self._stop
        self._futures.clear()
        end_resource_tracker()
