"""Checking many changeset signatures on the other cores.

Ed25519 verification takes about 75 µs (libsodium, storage.identity), so for a bundle of
100,000 changesets it is the largest single cost of staging. Large bundles hand it, in
batches, to worker processes (one per core, at most WORKERS) while the main process goes
on decrypting and parsing; when the main process has parsed everything, the workers have
every core to themselves. Staging waits for every batch before anything is applied.
Small bundles, and any machine where a worker cannot start, verify in the main process.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections import deque
from concurrent.futures.process import BrokenProcessPool

from storage.identity import verify_changeset
from sync.worker_processes import end_resource_tracker

BATCH = 1_000
IN_FLIGHT_PER_WORKER = 8  # batches queued at most per worker (about 6 MB of changesets)
WORKERS = 4  # at most; never more than the cores this process may use
POOL_THRESHOLD = 5_000  # changesets in a bundle before a worker is worth starting

Item = tuple[str, bytes, bytes, bytes]  # changeset id, signing key, body, signature


def failed_in(batch: list[Item]) -> list[str]:
    """The ids in `batch` whose signature does not verify (runs in a worker)."""
    return [cs_id for cs_id, key, body, sig in batch if not verify_changeset(key, body, sig)]


def worker_count() -> int:
    """One worker per core this process may run on, at most WORKERS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(WORKERS, cores))


def _broken() -> concurrent.futures.Future[list[str]]:
    """A result that says the worker is gone, so the batch is checked here."""
    future: concurrent.futures.Future[list[str]] = concurrent.futures.Future()
    future.set_exception(BrokenProcessPool("the signature worker stopped"))
    return future


class SignatureChecker:
    """Collects (id, key, body, signature) and reports the ids that fail to verify."""

    def __init__(self, expected: int) -> None:
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._workers = 1
        if expected >= POOL_THRESHOLD:
            try:
                context = multiprocessing.get_context("spawn")
                self._workers = worker_count()
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    self._workers, mp_context=context
                )
            except (OSError, ValueError, RuntimeError):
                self._pool = None
        self._batch: list[Item] = []
        self._pending: deque[tuple[concurrent.futures.Future[list[str]], list[Item]]] = deque()
        self.failed: list[str] = []

    def add(self, cs_id: str, key: bytes, body: bytes, sig: bytes) -> None:
        """Queue one signature; without a worker it is checked at once."""
        if self._pool is None:
            if not verify_changeset(key, body, sig):
                self.failed.append(cs_id)
            return
        self._batch.append((cs_id, key, body, sig))
        if len(self._batch) >= BATCH:
            self._submit()

    def _submit(self) -> None:
        assert self._pool is not None
        if self._batch:
            try:
                self._pending.append((self._pool.submit(failed_in, self._batch), self._batch))
            except BrokenProcessPool:
                self._pending.append((_broken(), self._batch))
            self._batch = []
        while len(self._pending) > IN_FLIGHT_PER_WORKER * self._workers:
            self._collect()

    def _collect(self) -> None:
        """The oldest batch's result; if the worker died (out of memory, killed), that
        batch is checked here instead, and so is every later one."""
        future, batch = self._pending.popleft()
        try:
            self.failed.extend(future.result())
        except BrokenProcessPool:
            self.failed.extend(failed_in(batch))

    def finish(self) -> list[str]:
        """Wait for every batch; the ids that failed."""
        if self._pool is not None:
            try:
                self._submit()
                while self._pending:
                    self._collect()
            finally:
                self.close()
        return self.failed

    def close(self) -> None:
        """Stop the worker (also after a refusal half-way)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            end_resource_tracker()
