"""Rekey: a new random database key, the database re-encrypted under it.

`passwd` only rewraps the database key under a new passphrase: an old key file (or any
backup) with the old passphrase still yields the key that opens the current database. A
rekey is what to do when that matters (a key file or a backup lost with its passphrase, a
custodian who leaves): after it, nothing made before opens the database as it is now.

How it stays whole under a `kill -9` at any moment. Everything new is written beside the
old under names ending in `.rekey`, each made durable (fsync) before the next step:

1. the database, exported under the new key (`sqlcipher_export`), with an audit entry and
   the new key generation written into the copy only;
2. the audit anchor of the copy's chain, sealed with the key derived from the new key;
3. the key file, wrapping the new key (every slot; `reseal` builds it).

Then the old database is closed and its write-ahead log emptied, and the renames follow:
the key file first (the commit point), the anchor, then the database. At the next unlock,
`finish_interrupted_rekey` reads what a crash left: a key file that opens `workspace.db`
means the rekey never committed, and its `.rekey` files are removed; a key file that opens
only `workspace.db.rekey` means it committed, and the remaining renames are done.

The per-file keys of evidence live inside the database, so they are re-encrypted with it;
the evidence files keep their contents. Backups written before (and the copies kept before
each schema migration in `backups/`) still open with the old key and passphrase: they are
copies of what was, and destroying them is for the person who knows why they rekey.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from storage import audit, keyfile, roles
from storage.atomic import fsync_directory, fsync_path
from storage.connection import export_copy, open_database, opens_with_key
from storage.errors import WorkspaceFileError
from storage.paths import WorkspacePaths

if TYPE_CHECKING:  # storage.workspace calls finish_interrupted_rekey at every unlock
    from storage.workspace import Workspace

SUFFIX = ".rekey"
WAL_FILES = ("-wal", "-shm", "-journal")

# Builds the new key file around the new database key (the passphrase slot, and any other
# slot the key file holds), so that this module needs no passphrase itself.
Reseal = Callable[[bytes], keyfile.KeyFile]


@dataclass(frozen=True)
class RekeyResult:
    """What a rekey did, for the sentence that reports it."""

    generation: str
    earlier_copies: list[Path]  # copies in backups/ that still open with the old key


def sealed_for_every_user(ws: Workspace) -> Reseal:
    """The `reseal` of a key file with user slots: the new key sealed to every user's
    public key, so nobody's passphrase is needed and every user keeps theirs. The
    recovery slot cannot be rewritten without its shares and is left out (the caller
    says so). A key file from before named users is converted at its first unlock."""
    current = keyfile.read(ws.paths.keyfile)
    if current.workspace_id != ws.workspace_id:
        raise WorkspaceFileError(
            ws.paths.keyfile, "The key file belongs to another workspace; nothing changed"
        )
    return lambda key: keyfile.resealed(current, key)


def _pending(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def rekey(ws: Workspace, reseal: Reseal) -> RekeyResult:
    """Re-encrypt `ws` under a new random key and close it (the folder lock is released
    when the new files are in place). `reseal` wraps the new key into a key file."""
    roles.require(ws, roles.MANAGE_KEYS, "re-encrypt the workspace under a new key")
    paths = ws.paths
    _remove_pending(paths)
    new_key = os.urandom(32)
    sealed = reseal(new_key)
    pending_db = _pending(paths.database)
    export_copy(ws.conn, pending_db, new_key)
    seq, digest = _record_in_copy(pending_db, new_key, ws.author, sealed.generation)
    audit.write_anchor(_pending(paths.anchor), audit.anchor_key_for(new_key), seq, digest)
    keyfile.write(_pending(paths.keyfile), sealed)
    fsync_path(pending_db)
    fsync_directory(paths.root)
    earlier = sorted(paths.backups.glob("*.db")) if paths.backups.is_dir() else []
    ws.close_and_then(lambda: _commit(paths))
    return RekeyResult(sealed.generation, earlier)


def _record_in_copy(path: Path, key: bytes, author: str, generation: str) -> tuple[int, str]:
    """Write the audit entry and the new key generation into the exported copy only (the
    old database never says a rekey happened that may yet not commit); its chain head."""
    conn = open_database(path, key)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('key_generation', ?)", (generation,)
        )
        audit.append(conn, author, "database key changed", "", "re-encrypted under a new key")
        conn.execute("COMMIT")
        head = audit.head(conn)
        # Back to a single file: a log beside `workspace.db.rekey` would not follow it
        # through the rename.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()
    for suffix in WAL_FILES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return head


def _commit(paths: WorkspacePaths) -> None:
    """With the old database closed (its log emptied), put the new files in place: the key
    file first, which commits the rekey, then the rest."""
    for suffix in WAL_FILES:
        Path(f"{paths.database}{suffix}").unlink(missing_ok=True)
    os.replace(_pending(paths.keyfile), paths.keyfile)
    fsync_directory(paths.root)
    _roll_forward(paths)


def _roll_forward(paths: WorkspacePaths) -> None:
    """The renames after the commit point (each may already be done)."""
    if _pending(paths.anchor).exists():
        os.replace(_pending(paths.anchor), paths.anchor)
    if _pending(paths.database).exists():
        for suffix in WAL_FILES:
            Path(f"{paths.database}{suffix}").unlink(missing_ok=True)
        os.replace(_pending(paths.database), paths.database)
    fsync_directory(paths.root)


def _remove_pending(paths: WorkspacePaths) -> None:
    """Forget a rekey that never committed."""
    for path in (paths.database, paths.anchor, paths.keyfile):
        for suffix in ("", *WAL_FILES):
            Path(f"{_pending(path)}{suffix}").unlink(missing_ok=True)


def finish_interrupted_rekey(paths: WorkspacePaths, database_key: bytes) -> bool:
    """Complete or forget a rekey a crash interrupted, given the key the key file holds
    now (called at unlock, under the folder lock, before the database is opened). True
    when one was completed."""
    pending_db = _pending(paths.database)
    leftovers = [
        p for p in (pending_db, _pending(paths.anchor), _pending(paths.keyfile)) if p.exists()
    ]
    if not leftovers:
        return False
    # The new database opens only with the new key, which only a committed key file holds.
    if not _pending(paths.keyfile).exists() and opens_with_key(pending_db, database_key):
        _roll_forward(paths)
        return True
    _remove_pending(paths)
    fsync_directory(paths.root)
    return False
