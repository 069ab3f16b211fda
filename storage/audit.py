"""The audit chain: an append-only, hash-linked record of who did what in this workspace.

It records edits, evidence reads and exports, backups, passphrase changes and failed unlocks.
Each entry's hash covers its content and the previous hash, so a changed, deleted or
reordered entry breaks the chain at that point. The head (count and last hash) is also kept
in `meta` and, outside the database, in an anchor file sealed with a key derived from the
database key, so cutting entries off the end is noticed too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage import canonical
from storage.atomic import atomic_write_bytes
from storage.connection import Connection
from storage.entities import is_utf8
from storage.regular_files import FileTooLarge, NotARegularFile, read_regular

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit chain."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditReport:
    """The result of walking the chain: ok with a count, or the first broken entry, or
    (`unanchored`, with why) a chain whose entries link up but that no sealed anchor
    vouches for, so entries cut from its end would go unnoticed."""

    ok: bool
    count: int
    broken_at: int | None = None
    reason: str = ""
    unanchored: str = ""

    def verdict(self) -> str:
        """The result in a sentence or two for a person: what holds, what to do."""
        if self.ok:
            return (
                f"The chain holds: {self.count:,} entries, each linked to the one before,"
                " and the newest matches the anchor kept outside the database."
            )
        if self.broken_at is not None:
            return (
                f"The audit chain is broken at entry {self.broken_at}: {self.reason}."
                f" {self.count:,} entries before it are intact. Someone or something changed"
                " the log; keep this workspace as it is and ask your IT staff to compare it"
                " with a backup."
            )
        return (
            f"The audit chain is unanchored: its {self.count:,} entries link up, but"
            f" {self.unanchored}, so Valise cannot tell whether entries were cut from its end"
            " or the database was put back to an older copy. Compare this workspace with your"
            " latest backup; when it holds everything you expect, run `valise audit anchor`"
            " to seal the chain as it stands now."
        )


def entry_hash(
    prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str, detail: str
) -> str:
    """The hash linking one entry to the one before it."""
    content = canonical.encode([prev_hash, seq, at, actor, action, subject, detail])
    return hashlib.sha256(b"valise/audit/v1\n" + content).hexdigest()


def head(conn: Connection) -> tuple[int, str]:
    """The last entry's sequence number and hash (0 and the genesis hash when empty)."""
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def append(
    conn: Connection, actor: str, action: str, subject: str = "", detail: object = ""
) -> AuditEntry:
    """Add an entry inside the caller's transaction; `detail` must hold no secret."""
    detail_text = detail if isinstance(detail, str) else canonical.encode(detail).decode()
    last_seq, last_hash = head(conn)
    seq = last_seq + 1
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    digest = entry_hash(last_hash, seq, at, actor, action, subject, detail_text)
    conn.execute(
        "INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (seq, at, actor, action, subject, detail_text, last_hash, digest),
    )
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('audit_head', ?)", (f"{seq}:{digest}",)
    )
    return AuditEntry(seq, at, actor, action, subject, detail_text, last_hash, digest)


def entries(
    conn: Connection, limit: int = 100, before: int | None = None, action: str | None = None
) -> list[AuditEntry]:
    """Newest entries first, optionally before a sequence number and of one action."""
    sql = "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit WHERE 1=1"
    params: list[object] = []
    if before is not None:
        sql += " AND seq < ?"
        params.append(before)
    if action:
        if not is_utf8(action):
            return []  # no entry's action holds bytes that are not UTF-8
        sql += " AND action = ?"
        params.append(action)
    sql += " ORDER BY seq DESC LIMIT ?"
    params.append(limit)
    return [AuditEntry(*row) for row in conn.execute(sql, params)]


def verify(
    conn: Connection, anchor: tuple[int, str] | None = None, unanchored: str = ""
) -> AuditReport:
    """Walk the whole chain; name the first entry that does not fit. `unanchored` says why
    no anchor vouches for the chain (see `anchor_problem`); such a chain is not ok."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    cursor = conn.execute(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"
    )
    hashes: dict[int, str] = {}
    for row in cursor:
        entry = AuditEntry(*row)
        if entry.seq != expected_seq:
            return AuditReport(False, count, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != expected_prev:
            return AuditReport(False, count, entry.seq, "it does not link to the entry before it")
        recomputed = entry_hash(
            entry.prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.detail,
        )
        if recomputed != entry.hash:
            return AuditReport(False, count, entry.seq, "its content was changed")
        if anchor and entry.seq == anchor[0]:
            hashes[entry.seq] = entry.hash
        expected_prev = entry.hash
        expected_seq += 1
        count += 1
    stored_head = conn.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
    if stored_head and stored_head[0] != f"{count}:{expected_prev}":
        return AuditReport(False, count, count + 1, "entries after it were removed")
    if anchor and anchor[0] > 0:
        if anchor[0] > count:
            return AuditReport(False, count, count + 1, "entries after it were removed")
        if hashes.get(anchor[0]) != anchor[1]:
            return AuditReport(False, count, anchor[0], "it differs from the anchored copy")
    if unanchored:
        return AuditReport(False, count, unanchored=unanchored)
    return AuditReport(True, count)


def write_anchor(path: Path, mac_key: bytes, seq: int, digest: str) -> None:
    """Save the chain head outside the database, sealed so it cannot be edited unnoticed."""
    mac = hmac.new(mac_key, f"{seq}:{digest}".encode(), hashlib.sha256).hexdigest()
    atomic_write_bytes(path, json.dumps({"seq": seq, "hash": digest, "mac": mac}).encode())


def anchor_key_for(database_key: bytes) -> bytes:
    """The key sealing the anchor: derived from, never equal to, the database key."""
    return hashlib.sha256(b"valise/audit-anchor/v1\n" + database_key).digest()


MAX_ANCHOR_BYTES = 4096
UNANCHORED_META = "audit_unanchored"  # why the anchor could not vouch at an unlock


def _anchor_document(path: Path) -> tuple[int, str, str]:
    """(seq, hash, mac) from the anchor file; OSError when it cannot be read (missing, a
    link, a pipe), ValueError when it is not an anchor."""
    try:
        doc = json.loads(read_regular(path, MAX_ANCHOR_BYTES))
        return int(doc["seq"]), str(doc["hash"]), str(doc["mac"])
    except (NotARegularFile, FileTooLarge) as exc:
        raise OSError(str(exc)) from None
    except (KeyError, TypeError, ValueError, OverflowError):
        raise ValueError("not an anchor") from None


def anchor_matches(path: Path, mac_key: bytes) -> bool | None:
    """True when the anchor verifies under `mac_key`, False when it does not, None when
    there is no readable anchor to judge by."""
    try:
        seq, digest, mac = _anchor_document(path)
    except (OSError, ValueError):
        return None
    expected = hmac.new(mac_key, f"{seq}:{digest}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, mac)


def read_anchor(path: Path, mac_key: bytes) -> tuple[int, str] | None:
    """The anchored head, or None when no anchor vouches for it (missing, unreadable,
    damaged or forged: `anchor_problem` says which)."""
    try:
        seq, digest, mac = _anchor_document(path)
    except (OSError, ValueError):
        return None
    expected = hmac.new(mac_key, f"{seq}:{digest}".encode(), hashlib.sha256).hexdigest()
    return (seq, digest) if hmac.compare_digest(expected, mac) else None


def anchor_problem(conn: Connection, path: Path, mac_key: bytes) -> str:
    """Why the anchor file cannot vouch for the chain in `conn` ("" when it can): it is
    missing or unreadable, damaged or forged, or names an entry the chain does not hold
    as anchored (the database is older than the anchor, or was changed)."""
    try:
        seq, digest, mac = _anchor_document(path)
    except FileNotFoundError:
        return f"the sealed copy of its head ({path.name}) is missing"
    except OSError:
        return f"the sealed copy of its head ({path.name}) cannot be read"
    except ValueError:
        return f"the sealed copy of its head ({path.name}) is damaged"
    expected = hmac.new(mac_key, f"{seq}:{digest}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return f"the sealed copy of its head ({path.name}) is forged or from another workspace"
    if seq == 0:
        return ""
    row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()
    if row is None or str(row[0]) != digest:
        return (
            f"the database did not match the sealed copy of its head (entry {seq}) when it"
            " was opened: it is older than the anchor, or was changed"
        )
    return ""


def recorded_unanchoring(conn: Connection) -> str:
    """Why an unlock found the chain unanchored, as recorded then ("" when none did)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (UNANCHORED_META,)).fetchone()
    return str(row[0]) if row else ""


def note_unanchored(conn: Connection, actor: str, problem: str) -> None:
    """Inside the caller's transaction: keep, in the database and in the chain itself,
    that an unlock found no anchor to vouch for the chain. The anchor written at the next
    close vouches only for what the database holds then, so without this note one open
    and close would launder a rolled-back database; `verify` reports the chain unanchored
    until a person re-anchors it (`reanchor`) after comparing it with a backup."""
    if recorded_unanchoring(conn):
        return
    last_seq, _ = head(conn)
    since = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"{problem} (noticed at the unlock of {since}, after entry {last_seq})"
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (UNANCHORED_META, text))
    append(conn, actor, "audit unanchored", "", {"problem": problem, "after_entry": last_seq})


def reanchor(conn: Connection, actor: str) -> None:
    """Inside the caller's transaction: accept the chain as it stands (a person compared
    it with a backup) and record that in the chain; the caller then writes the anchor."""
    conn.execute("DELETE FROM meta WHERE key = ?", (UNANCHORED_META,))
    append(conn, actor, "audit re-anchored", "", "the chain was accepted as it stands")


def actions(conn: Connection) -> list[str]:
    """The kinds of entry the chain holds, for a filter's choices."""
    return [str(row[0]) for row in conn.execute("SELECT DISTINCT action FROM audit ORDER BY 1")]
