"""Where a bundle's verified changesets wait for the apply transaction.

A bundle may hold hundreds of thousands of changesets; keeping them decoded in memory
would cost several kilobytes each. They wait instead in an encrypted scratch database in
the workspace folder, under a random key that is never written anywhere, and are read back
one by one, in the bundle's order, when the transaction applies them.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage import canonical
from storage.atomic import TEMP_SUFFIX
from storage.changesets import Changeset, decode_verified
from storage.connection import open_scratch_database
from storage.sealing import Reveal

Reveals = dict[tuple[int, str], Reveal]
SPOOL_BATCH = 500  # changesets written in one executemany (about 300 KB)


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


class ChangesetSpool:
    """Verified changesets in arrival order, on disk (encrypted), read back lazily."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / f".staging-{secrets.token_hex(8)}{TEMP_SUFFIX}"
        self._conn = open_scratch_database(self.path)
        self._conn.execute(
            "CREATE TABLE spool(n INTEGER PRIMARY KEY, id TEXT, body BLOB, sig BLOB,"
            " case_id TEXT, case_prev TEXT, reveals TEXT)"
        )
        self._conn.execute("BEGIN")
        self.count = 0
        self._waiting: list[tuple[str, bytes, bytes, str, str, str]] = []

    def add(self, item: StagedChangeset) -> None:
        """Keep one verified changeset (written with the next SPOOL_BATCH, in one call)."""
        self._waiting.append(
            (
                item.cs_id,
                item.body,
                item.sig,
                item.changeset.case_id,
                item.case_prev,
                item.reveals_json(),
            )
        )
        self.count += 1
        if len(self._waiting) >= SPOOL_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._waiting:
            self._conn.executemany(
                "INSERT INTO spool(id, body, sig, case_id, case_prev, reveals)"
                " VALUES (?,?,?,?,?,?)",
                self._waiting,
            )
            self._waiting = []

    def items(self, *, key_statements: bool) -> Iterator[StagedChangeset]:
        """The changesets about keys (case "") or the others, in arrival order."""
        self._flush()
        where = "case_id = ''" if key_statements else "case_id != ''"
        rows = self._conn.execute(
            f"SELECT id, body, sig, case_prev, reveals FROM spool WHERE {where} ORDER BY n"
        )
        for cs_id, body, sig, case_prev, reveals in rows:
            body = bytes(body)
            yield StagedChangeset(
                str(cs_id),
                decode_verified(body),
                body,
                bytes(sig),
                str(case_prev),
                decode_reveals(reveals),
            )

    def case_ids(self) -> list[str]:
        """Every case the changesets belong to."""
        self._flush()
        rows = self._conn.execute("SELECT DISTINCT case_id FROM spool WHERE case_id != ''")
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        """Drop the scratch database."""
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
