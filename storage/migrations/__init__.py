"""Numbered schema migrations, run in one exclusive transaction after an encrypted backup.

Each migration is a file `NNNN_name.sql` beside this module. `PRAGMA user_version` holds the
number of the last one applied, and the `schema_migrations` table records when. A database
whose version is higher than the newest file here was written by a newer Valise and is
refused untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import sqlcipher3.dbapi2 as sqlcipher

from storage.connection import Connection
from storage.errors import SchemaTooNew

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with this version, in order."""
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration numbers have a gap at {expected}")
    return found


def latest_version() -> int:
    """The schema version this code writes."""
    return len(available())


def current_version(conn: Connection) -> int:
    """The schema version stored in the database."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: Connection, backup: Callable[[int], None]) -> list[int]:
    """Bring the schema up to date; call `backup(version)` first unless the database is new.

    Returns the versions applied. Refuses a database newer than the code.
    """
    migrations = available()
    version = current_version(conn)
    if version > len(migrations):
        raise SchemaTooNew(version, len(migrations))
    pending = migrations[version:]
    if not pending:
        return []
    if version > 0:
        backup(version)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        for migration in pending:
            _run_script(conn, migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return [m.version for m in pending]


def _run_script(conn: Connection, sql: str) -> None:
    """Run statements one by one: executescript would commit our open transaction."""
    statement = ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        statement += line
        if sqlcipher.complete_statement(statement):
            if statement.strip():
                conn.execute(statement)
            statement = ""
    if statement.strip():
        conn.execute(statement)
