"""The audit chain notices edits made behind the application's back (raw SQLCipher)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage import cases
from storage.connection import Connection, open_database
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE


@pytest.fixture
def tampered(ws: Workspace) -> Iterator[tuple[Workspace, Connection]]:
    """A workspace with ten audit entries and a raw connection an attacker would use."""
    case_id = cases.add_case(ws, "Audited case")
    for n in range(8):
        cases.update_case(ws, case_id, summary=f"revision {n}")
    ws.write_audit_anchor()
    raw = open_database(ws.paths.database, ws._key)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("DROP TRIGGER audit_no_delete")
    yield ws, raw
    raw.close()


def _verify(ws: Workspace) -> tuple[bool, int | None, str]:
    report = ws.verify_audit()
    return report.ok, report.broken_at, report.reason


def test_an_untouched_chain_verifies(ws: Workspace) -> None:
    cases.add_case(ws, "Fine")
    report = ws.verify_audit()
    assert report.ok and report.count == 2


def test_a_changed_field_is_named(tampered: tuple[Workspace, Connection]) -> None:
    ws, raw = tampered
    raw.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 4")
    assert _verify(ws) == (False, 4, "its content was changed")


def test_a_deleted_entry_is_named(tampered: tuple[Workspace, Connection]) -> None:
    ws, raw = tampered
    raw.execute("DELETE FROM audit WHERE seq = 5")
    assert _verify(ws)[:2] == (False, 5)


def test_reordered_entries_are_named(tampered: tuple[Workspace, Connection]) -> None:
    ws, raw = tampered
    rows = raw.execute(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit"
        " WHERE seq IN (3, 6) ORDER BY seq"
    ).fetchall()
    for (seq, *_), (_, *content) in zip(rows, reversed(rows), strict=True):
        raw.execute(
            "UPDATE audit SET at=?, actor=?, action=?, subject=?, detail=?, prev_hash=?, hash=?"
            " WHERE seq = ?",
            (*content, seq),
        )
    assert _verify(ws)[:2] == (False, 3)


def test_a_truncated_chain_is_noticed_even_when_the_head_is_forged(
    tampered: tuple[Workspace, Connection],
) -> None:
    ws, raw = tampered
    kept = raw.execute("SELECT seq, hash FROM audit WHERE seq = 6").fetchone()
    raw.execute("DELETE FROM audit WHERE seq > 6")
    raw.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{kept[0]}:{kept[1]}",))
    ok, broken_at, reason = _verify(ws)
    assert not ok and broken_at == 7 and "removed" in reason


def test_a_truncated_chain_is_noticed_by_the_stored_head(
    tampered: tuple[Workspace, Connection],
) -> None:
    ws, raw = tampered
    ws.paths.anchor.unlink()
    raw.execute("DELETE FROM audit WHERE seq > 7")
    assert _verify(ws)[:2] == (False, 8)


def test_a_forged_anchor_is_noticed(ws: Workspace) -> None:
    cases.add_case(ws, "Anchored")
    ws.close()
    ws.paths.anchor.write_text('{"seq": 1, "hash": "00", "mac": "00"}')
    with open_workspace(ws.paths.root, PASSPHRASE) as reopened:
        assert not reopened.verify_audit().ok


def test_the_audit_records_edits_reads_exports_and_key_changes(ws: Workspace, tmp_path) -> None:
    from storage import evidence

    case_id = cases.add_case(ws, "Case")
    sample = tmp_path / "photo.jpg"
    sample.write_bytes(b"\xff\xd8" + bytes(5000))
    item = evidence.add_evidence(ws, case_id, sample)
    b"".join(evidence.read_evidence(ws, item))
    evidence.export_evidence(ws, item, tmp_path / "copy.jpg")
    ws.change_passphrase("another passphrase entirely")
    actions = [r[0] for r in ws.conn.execute("SELECT action FROM audit ORDER BY seq")]
    for expected in (
        "edit",
        "evidence added",
        "evidence viewed",
        "evidence exported",
        "passphrase changed",
    ):
        assert expected in actions
    assert ws.verify_audit().ok


def test_the_database_refuses_ordinary_edits_of_the_chain(ws: Workspace) -> None:
    import sqlcipher3.dbapi2 as sqlcipher

    cases.add_case(ws, "Case")
    with pytest.raises(sqlcipher.IntegrityError, match="append-only"):
        ws.conn.execute("DELETE FROM audit")
