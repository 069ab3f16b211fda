"""Opening the SQLCipher database with a raw 256-bit key, and the pragmas it always needs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import sqlcipher3.dbapi2 as sqlcipher

from storage.errors import WorkspaceFileError

if TYPE_CHECKING:  # sqlcipher3 ships no type hints; its API is that of sqlite3
    from sqlite3 import Connection as Connection
    from sqlite3 import DatabaseError as DatabaseError
else:
    Connection = sqlcipher.Connection
    DatabaseError = sqlcipher.DatabaseError
PAGE_SIZE = 4096

_FOREIGN_OR_DAMAGED = (
    "The database does not open with this workspace's key: it is damaged, truncated, "
    "or belongs to another workspace. Restore it from a backup"
)


_RAW_KEY_LENGTH = 2 + 64 + 1
_HEX_PAIRS = tuple(
    bytes((digit_a, digit_b)) for digit_a in b"0123456789abcdef" for digit_b in b"0123456789abcdef"
)


def _raw_key_blob(key: bytes) -> bytearray:
    """SQLCipher's raw-key form `x'<64 hex digits>'`, as bytes in a buffer the caller wipes.

    The key never becomes SQL text: a `PRAGMA key` string is a Python `str` that the
    interpreter may copy and keep after the connection is closed (a memory scan after a
    lock found the key's hex twice), while this buffer is handed to `sqlite3_key` (or bound
    as a blob parameter) and zeroed at once. SQLCipher copies what it needs and, with
    `cipher_memory_security`, wipes its own copies.
    """
    if len(key) != 32:
        raise ValueError("database keys are 32 bytes")
    blob = bytearray(_RAW_KEY_LENGTH)  # its full size at once: growing it would copy
    blob[:2] = b"x'"
    for at, byte in enumerate(key):
        blob[2 + 2 * at : 4 + 2 * at] = _HEX_PAIRS[byte]
    blob[-1:] = b"'"
    return blob


def _wipe(buffer: bytearray) -> None:
    buffer[:] = bytes(len(buffer))


def _apply_key(conn: Connection, key: bytes) -> None:
    """Turn SQLCipher's memory wiping on and give the connection its raw key, never as SQL.

    `cipher_memory_security` makes SQLCipher zero every buffer it frees and `mlock` every
    buffer it allocates, so that nothing it held reaches swap or lingers freed; it is set
    before the key. It is one process-wide switch in SQLCipher, and it is not free: an
    `mlock` and a `munlock` system call per SQLite allocation. Measured on the import of
    20,000 changesets (`python -m bench.import_changesets --changesets 20000 --repeat 3
    --no-floor --against 40d368d`): 29.3 s against 8.5 s without, in the same rounds
    (bench/results/2026-12-07-import-20k-memory-security.txt).
    """
    conn.execute("PRAGMA cipher_memory_security = ON")
    blob = _raw_key_blob(key)
    try:
        conn.set_key(blob)  # type: ignore[attr-defined]  # sqlcipher3's sqlite3_key
    finally:
        _wipe(blob)


def open_database(path: Path, key: bytes, *, create: bool = False) -> Connection:
    """Open (or create) the encrypted database at `path` and check that the key fits.

    The key is given before any statement reads the file; temp_store stays in memory
    because SQLCipher writes temporary b-trees in clear when they go to files.
    """
    if not create:
        _check_database_file(path)
    conn: Connection = sqlcipher.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=30.0
    )
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        _apply_key(conn, key)
        conn.execute("PRAGMA temp_store = MEMORY")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except DatabaseError:
            raise WorkspaceFileError(path, _FOREIGN_OR_DAMAGED) from None
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -65536")
        if not create:
            _check_not_truncated(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def open_scratch_database(path: Path) -> Connection:
    """A new encrypted scratch database under a random key that is never stored, for data
    that must leave memory without being readable on disk (a large import's staging). Not
    durable: a crash leaves only ciphertext that nobody can open, collected at next unlock."""
    conn: Connection = sqlcipher.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        _apply_key(conn, secrets.token_bytes(32))
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -8192")
    except BaseException:
        conn.close()
        raise
    return conn


def opens_with_key(path: Path, key: bytes) -> bool:
    """True when the database file at `path` exists, decrypts with `key` and holds tables.
    An empty file (an export killed as it began) is not one: SQLite takes it for a new
    database that "opens" with any key. For a file in rollback-journal mode (an export):
    reading it leaves no file beside it."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    conn = sqlcipher.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        _apply_key(conn, key)
        tables = int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    except DatabaseError:
        return False
    finally:
        conn.close()
    return tables > 0


def _check_database_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise WorkspaceFileError(path, "The database file is missing") from None
    if path.is_dir():
        raise WorkspaceFileError(path, "The database path is a folder, not a file")
    if size == 0:
        raise WorkspaceFileError(path, "The database file is empty (truncated)")
    if not os.access(path, os.R_OK | os.W_OK):
        raise WorkspaceFileError(path, "The database file cannot be read and written")


def _check_not_truncated(conn: Connection, path: Path) -> None:
    """A database cut short still decrypts its first page; compare its page count with the file."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    size = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    if pages * PAGE_SIZE > size and not (wal.exists() and wal.stat().st_size > 0):
        raise WorkspaceFileError(path, _FOREIGN_OR_DAMAGED)
    try:
        conn.execute("SELECT count(*) FROM meta").fetchone()
    except DatabaseError:
        raise WorkspaceFileError(path, _FOREIGN_OR_DAMAGED) from None


def export_copy(conn: Connection, target: Path, key: bytes) -> None:
    """Write an encrypted copy of the open database to `target` (which must not exist)."""
    blob = _raw_key_blob(key)
    try:
        # The key bound as a blob parameter in SQLCipher's raw form, never in the SQL text.
        conn.execute("ATTACH DATABASE ? AS backup_copy KEY ?", (str(target), blob))
    finally:
        _wipe(blob)
    try:
        conn.execute("SELECT sqlcipher_export('backup_copy')")
        # sqlcipher_export copies tables but not the schema version; carry it over.
        version = int(conn.execute("PRAGMA main.user_version").fetchone()[0])
        conn.execute(f"PRAGMA backup_copy.user_version = {version}")
    finally:
        conn.execute("DETACH DATABASE backup_copy")
