"""The database key reaches SQLCipher as a buffer, never as SQL text, with memory wiping on."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from storage.connection import Connection, export_copy, open_database, open_scratch_database


def _recording_sql(conn: Connection) -> list[str]:
    """Every SQL statement the connection runs from now on, as SQLite expands it."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    return statements


def _key_texts(key: bytes) -> tuple[str, ...]:
    return (key.hex(), key.hex().upper())


def test_the_key_is_never_sql_text_when_opening_and_exporting(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    created = open_database(tmp_path / "db.sqlite", key, create=True)
    created.execute("CREATE TABLE meta (k TEXT)")
    created.close()
    conn = open_database(tmp_path / "db.sqlite", key)
    statements = _recording_sql(conn)
    export_copy(conn, tmp_path / "copy.sqlite", key)
    conn.execute("SELECT count(*) FROM meta").fetchone()
    conn.close()
    assert statements, "the trace saw no statement: it proves nothing"
    assert not [text for text in statements for hexed in _key_texts(key) if hexed in text]
    assert open_database(tmp_path / "copy.sqlite", key).execute("SELECT 1").fetchone() == (1,)


def test_opening_never_sends_a_key_pragma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The statements run while opening, seen through the connection's execute."""
    import storage.connection as connection_module

    sent: list[str] = []
    real_connect = connection_module.sqlcipher.connect

    class Recording:
        def __init__(self, inner: Connection) -> None:
            self.inner = inner

        def execute(self, sql: str, *args: object) -> object:
            sent.append(sql)
            return self.inner.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

    monkeypatch.setattr(
        connection_module.sqlcipher, "connect", lambda *a, **k: Recording(real_connect(*a, **k))
    )
    key = secrets.token_bytes(32)
    open_database(tmp_path / "db.sqlite", key, create=True).close()
    open_scratch_database(tmp_path / "scratch.sqlite").close()
    assert sent.count("PRAGMA cipher_memory_security = ON") == 2
    assert not [sql for sql in sent if "pragma key" in sql.lower() or "key =" in sql.lower()]
    assert not [sql for sql in sent for hexed in _key_texts(key) if hexed in sql]


def test_memory_security_is_on_for_every_connection(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "db.sqlite", secrets.token_bytes(32), create=True)
    scratch = open_scratch_database(tmp_path / "scratch.sqlite")
    for each in (conn, scratch):
        assert each.execute("PRAGMA cipher_memory_security").fetchone()[0] == "1"
        each.close()


def test_a_wrong_key_still_reads_as_a_foreign_database(tmp_path: Path) -> None:
    from storage.errors import WorkspaceFileError

    conn = open_database(tmp_path / "db.sqlite", secrets.token_bytes(32), create=True)
    conn.execute("CREATE TABLE meta (k TEXT)")
    conn.close()
    with pytest.raises(WorkspaceFileError, match="does not open with this workspace's key"):
        open_database(tmp_path / "db.sqlite", secrets.token_bytes(32))
