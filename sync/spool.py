"""Where a bundle's verified changesets wait for the apply transaction.

A bundle may hold hundreds of thousands of changesets. The first ones wait in memory as
staging decoded them, up to HELD_BYTES as `held_cost` bounds it: reading 100,000
changesets back and decoding them again took 1.9-2.6 s of the apply transaction's 19-23 s.
A decoded one-note changeset of 500 bytes takes about 2.1 KB with its body (bounded at
3.7 KB; 100,000 of them raised the peak memory of an import from 160 MB to 370 MB,
measured); beyond the budget, and from a changeset that cannot be bounded on, they wait in an
encrypted scratch database in the workspace folder, under a random key that is never
written anywhere, and are read back one by one, in the bundle's order, when the
transaction applies them. Memory stays bounded whatever the bundle's size, and nothing
decrypted reaches the disk in clear.
"""

from __future__ import annotations

import contextlib
import gc
import secrets
import struct
import threading
import weakref
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

from storage import canonical
from storage.atomic import TEMP_SUFFIX
from storage.changesets import Changeset, decode_verified
from storage.connection import open_scratch_database
from storage.sealing import Reveal

Reveals = dict[tuple[int, str], Reveal]
SPOOL_BATCH = 500  # changesets kept in one row (about 300 KB)
HELD_BYTES = 384 * 1024 * 1024  # memory held decoded, at most (as held_cost counts it)
_PLAIN = (str, int, bool, type(None))  # the values a changeset of this version holds
# Upper bounds in bytes, measured on CPython 3.11 (sys.getsizeof): a changeset beside its
# ops (the holder, its id, signature, hashes, stamp, lists), one op (the object, its id and
# three objects), one named value (the name's and the value's string headers and a table
# entry), one revealed value (its key, salt and holder).
_PER_CHANGESET, _PER_OP, _PER_VALUE, _PER_REVEAL = 1536, 512, 224, 384


def held_cost(item: StagedChangeset) -> int | None:
    """An upper bound of the memory `item` takes decoded (its body, the characters of its
    texts at one byte each, or four when it holds any character beyond ASCII, and the
    objects holding them), or None when it cannot be bounded so: a value that is a list or
    an object costs far more than the bytes that encode it (`[]` 2 bytes, 56 in memory).
    Changesets of this version never hold one; one that does is kept on disk."""
    body = item.body
    cost = (2 if body.isascii() else 5) * len(body) + _PER_CHANGESET
    for op in item.changeset.ops:
        for value in op.fields.values():
            if type(value) not in _PLAIN:
                return None
        cost += _PER_OP + _PER_VALUE * (len(op.fields) + len(op.prev) + len(op.sealed))
    for reveal in item.reveals.values():
        if type(reveal.value) not in _PLAIN:
            return None
        cost += _PER_REVEAL
    return cost


@dataclass
class StagedChangeset:
    """A verified changeset waiting for the apply transaction."""

    cs_id: str
    changeset: Changeset
    body: bytes
    sig: bytes
    case_prev: str
    reveals: Reveals

    def reveals_json(self) -> str:
        """The reveals as canonical JSON: [[op index, field, salt hex, value], ...]."""
        return encode_reveals(self.reveals)


def encode_reveals(reveals: Reveals) -> str:
    """Reveals as canonical JSON text."""
    if not reveals:
        return "[]"
    items = [[i, name, r.salt.hex(), r.value] for (i, name), r in sorted(reveals.items())]
    return canonical.encode(items).decode()


def decode_reveals(text: str) -> Reveals:
    """Reveals from their canonical JSON text (written by us)."""
    if text == "[]":
        return {}
    return {
        (int(index), str(name)): Reveal(bytes.fromhex(salt), value)
        for index, name, salt, value in canonical.decode(text.encode())
    }


class _Batch:
    """Up to SPOOL_BATCH changesets as one blob: the lengths of their five parts (id,
    body, signature, case_prev, reveals as JSON), then the parts one after the other."""

    def __init__(self) -> None:
        self.lengths = array("I")
        self.parts: list[bytes] = []

    def add(self, item: StagedChangeset) -> None:
        reveals = encode_reveals(item.reveals).encode() if item.reveals else b"[]"
        parts = (item.cs_id.encode(), item.body, item.sig, item.case_prev.encode(), reveals)
        self.lengths.extend(map(len, parts))
        self.parts += parts

    def __len__(self) -> int:
        return len(self.lengths) // 5

    def take(self) -> bytes:
        """The blob, and the batch begins again empty."""
        blob = _COUNT.pack(len(self)) + self.lengths.tobytes() + b"".join(self.parts)
        self.lengths, self.parts = array("I"), []
        return blob


_COUNT = struct.Struct("=I")


def _unbatch(blob: bytes) -> Iterator[StagedChangeset]:
    """The changesets of a batch's blob (written by `_Batch.take` in this process), their
    bodies rebuilt without a second check (`decode_verified`)."""
    (count,) = _COUNT.unpack_from(blob)
    lengths = array("I")
    start = _COUNT.size + 5 * count * lengths.itemsize
    lengths.frombytes(blob[_COUNT.size : start])
    ends = list(accumulate(lengths, initial=start))
    for index in range(0, 5 * count, 5):
        at, body_at, sig_at, prev_at, reveals_at, end = ends[index : index + 6]
        body = blob[body_at:sig_at]
        reveals = blob[reveals_at:end]
        yield StagedChangeset(
            blob[at:body_at].decode(),
            decode_verified(body),
            body,
            blob[sig_at:prev_at],
            blob[prev_at:reveals_at].decode(),
            decode_reveals(reveals.decode()) if reveals != b"[]" else {},
        )


_pause_lock = threading.Lock()
_pauses = 0
_enable_after = False


def _pause_collector() -> None:
    """Automatic garbage collection waits while decoded changesets are held. Each one held
    is a few objects the collector tracks; as they pile up, its full collections (each
    visiting every tracked object in the process) took 1.3 s of the 5.5 s the main process
    spent checking 100,000 changesets here. What is held is freed by reference counting
    at the end; garbage in cycles made meanwhile is collected when collection resumes."""
    global _pauses, _enable_after
    with _pause_lock:
        if _pauses == 0:
            _enable_after = gc.isenabled()
            gc.disable()
        _pauses += 1


def _resume_collector() -> None:
    global _pauses
    with _pause_lock:
        _pauses -= 1
        if _pauses == 0 and _enable_after:
            gc.enable()


class ChangesetSpool:
    """Verified changesets in arrival order: the first in memory as they were decoded (up
    to `held_bytes`, see `held_cost`), the rest on disk (encrypted), read back lazily.

    Those on disk are kept SPOOL_BATCH at a time, a batch in one row: a row per changeset
    cost SQLite more than everything else staging does with it. Key statements (case "")
    are kept apart, as they are read apart (`first_key_statements`). The scratch database
    is created only when the first changeset goes to disk."""

    def __init__(self, folder: Path, held_bytes: int | None = None) -> None:
        self.path = folder / f".staging-{secrets.token_hex(8)}{TEMP_SUFFIX}"
        self._conn: Any = None
        self.count = 0
        # Below zero once a changeset went to disk.
        self._held_left = HELD_BYTES if held_bytes is None else held_bytes
        self._held_key_statements: list[StagedChangeset] = []
        self._held_others: list[StagedChangeset] = []
        self._key_statements = _Batch()
        self._others = _Batch()
        self._case_ids: set[str] = set()
        self._waiting = 0  # added to the batches since the last write
        self._resume: weakref.finalize[[], ChangesetSpool] | None = None  # set while holding

    def add(self, item: StagedChangeset) -> None:
        """Keep one verified changeset: in memory while the budget lasts, else written
        with the next SPOOL_BATCH, in one row."""
        case_id = item.changeset.case_id
        if case_id:
            self._case_ids.add(case_id)
        self.count += 1
        cost = held_cost(item)
        self._held_left = -1 if cost is None else self._held_left - cost
        if self._held_left >= 0:  # once spent, every later one goes to disk: order kept
            if self._resume is None:  # resumed on close, or if the spool is dropped unclosed
                _pause_collector()
                self._resume = weakref.finalize(self, _resume_collector)
            (self._held_others if case_id else self._held_key_statements).append(item)
            return
        (self._others if case_id else self._key_statements).add(item)
        self._waiting += 1
        if self._waiting >= SPOOL_BATCH:
            self._flush()

    def _open(self) -> Any:
        if self._conn is None:
            self._conn = open_scratch_database(self.path)
            self._conn.execute(
                "CREATE TABLE spool(n INTEGER PRIMARY KEY, key_statements INTEGER, batch BLOB)"
            )
            self._conn.execute("BEGIN")
        return self._conn

    def _flush(self) -> None:
        if not self._waiting:
            return
        self._open()
        self._waiting = 0
        for key_statements, waiting in ((1, self._key_statements), (0, self._others)):
            if len(waiting):
                self._conn.execute(
                    "INSERT INTO spool(key_statements, batch) VALUES (?, ?)",
                    (key_statements, waiting.take()),
                )

    def items(self, *, key_statements: bool) -> Iterator[StagedChangeset]:
        """The changesets about keys (case "") or the others, in arrival order."""
        yield from self._held_key_statements if key_statements else self._held_others
        self._flush()
        if self._conn is None:
            return
        rows = self._conn.execute(
            "SELECT batch FROM spool WHERE key_statements = ? ORDER BY n", (int(key_statements),)
        )
        for (batch,) in rows:
            yield from _unbatch(bytes(batch))

    def case_ids(self) -> list[str]:
        """Every case the changesets belong to."""
        return sorted(self._case_ids)

    def close(self) -> None:
        """Drop what is held and the scratch database."""
        self._held_key_statements, self._held_others = [], []
        if self._resume is not None:
            self._resume()  # once only: a finalizer runs at most once
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def first_key_statements(spool: ChangesetSpool, others: list[Any]) -> Iterator[Any]:
    """Key statements first (a revocation in a bundle covers the rest of it), then the
    other staged changesets, then `others` (earlier parked ones)."""
    yield from spool.items(key_statements=True)
    yield from spool.items(key_statements=False)
    yield from others
