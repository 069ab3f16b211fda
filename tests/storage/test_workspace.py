"""Creating, unlocking and re-keying workspaces; schema versions; the first schema's fixture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import cases, evidence, keyfile, migrations, queries
from storage.errors import (
    NotAWorkspace,
    SchemaTooNew,
    StorageError,
    ThrottledUnlock,
    WeakPassphrase,
    WorkspaceBusy,
    WorkspaceExists,
    WorkspaceFileError,
    WrongPassphrase,
)
from storage.keyfile import FAST_INSECURE_KDF
from storage.records import Case, Person
from storage.workspace import Workspace, create_workspace, open_workspace
from tests.conftest import PASSPHRASE

DATA = Path(__file__).resolve().parents[1] / "data"


def _bytes_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in {".lock", "unlock-attempts.json"}
    }


def test_wrong_passphrase_says_so_and_changes_nothing(workspace_dir: Path) -> None:
    before = _bytes_of(workspace_dir)
    with pytest.raises(WrongPassphrase, match="Wrong passphrase"):
        open_workspace(workspace_dir, "not the passphrase at all")
    assert _bytes_of(workspace_dir) == before


def test_failed_unlocks_are_slowed_across_restarts_and_audited(workspace_dir: Path) -> None:
    clock = [1_000_000.0]
    for _ in range(2):
        with pytest.raises(WrongPassphrase):
            open_workspace(workspace_dir, "guess guess guess", now=lambda: clock[0])
    # The record lives on disk, so a new process (a new call) still has to wait.
    with pytest.raises(ThrottledUnlock) as waiting:
        open_workspace(workspace_dir, PASSPHRASE, now=lambda: clock[0])
    assert waiting.value.wait_seconds == 1
    clock[0] += 1
    with pytest.raises(WrongPassphrase):
        open_workspace(workspace_dir, "guess guess guess", now=lambda: clock[0])
    with pytest.raises(ThrottledUnlock) as waiting:
        open_workspace(workspace_dir, PASSPHRASE, now=lambda: clock[0] + 1)
    assert waiting.value.wait_seconds == 1  # the wait doubles: 2 s after the third failure
    clock[0] += 2
    with open_workspace(workspace_dir, PASSPHRASE, now=lambda: clock[0]) as ws:
        failed = [e for e in _audit_actions(ws) if e == "unlock failed"]
        assert len(failed) == 3
    assert not (workspace_dir / "unlock-attempts.json").exists()


def _audit_actions(ws: Workspace) -> list[str]:
    return [row[0] for row in ws.conn.execute("SELECT action FROM audit ORDER BY seq")]


@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        ("short", "shorter than 12"),
        ("password1234", "common"),
        ("Password123!", "common"),
        ("111111111111", "run"),
        ("abcdefghijklm", "run"),
        ("qwertyuiop[]", "run"),
        ("  padded passphrase  ", "spaces"),
    ],
)
def test_weak_passphrases_are_refused_with_a_reason(tmp_path: Path, weak: str, reason: str) -> None:
    with pytest.raises(WeakPassphrase, match=reason):
        create_workspace(tmp_path / "ws", "Office", weak, kdf=FAST_INSECURE_KDF)
    assert not (tmp_path / "ws" / "workspace.key").exists()


def test_creating_over_an_existing_workspace_is_refused(workspace_dir: Path) -> None:
    with pytest.raises(WorkspaceExists):
        create_workspace(workspace_dir, "Office", PASSPHRASE, kdf=FAST_INSECURE_KDF)


def test_a_folder_without_a_workspace_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotAWorkspace, match="not a Valise workspace"):
        open_workspace(tmp_path, PASSPHRASE)


def test_only_one_process_holds_the_workspace(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.workspace as module

    monkeypatch.setattr(module, "LOCK_WAIT_SECONDS", 0.2)
    with pytest.raises(WorkspaceBusy):
        open_workspace(ws.paths.root, PASSPHRASE)


def test_passphrase_change_rewraps_the_key_only(ws: Workspace) -> None:
    db_before = ws.paths.database.read_bytes()[:4096]
    ws.change_passphrase("a brand new long passphrase")
    ws.close()
    assert ws.paths.database.read_bytes()[:4096] == db_before
    with pytest.raises(WrongPassphrase):
        open_workspace(ws.paths.root, PASSPHRASE)
    with open_workspace(ws.paths.root, "a brand new long passphrase") as reopened:
        assert "passphrase changed" in _audit_actions(reopened)


def test_a_key_file_replaced_behind_our_back_is_noticed_in_the_audit(ws: Workspace) -> None:
    """A passphrase change killed between the key file and the audit entry is still recorded."""
    root, key = ws.paths.root, ws._key
    workspace_id = ws.workspace_id
    assert ws.user is not None
    name = ws.user.name
    ws.close()
    secret = b"another long passphrase"
    sealed = keyfile.seal_for_user(key, name, secret, workspace_id, FAST_INSECURE_KDF)
    keyfile.write(root / "workspace.key", sealed)
    with open_workspace(root, "another long passphrase") as reopened:
        assert _audit_actions(reopened)[-1] == "passphrase changed"


def test_an_old_key_file_from_before_named_users_is_refused_once_users_exist(
    ws: Workspace,
) -> None:
    """Issue 13: a copy of a pre-users key file put back (with its old passphrase) must
    not become a new supervisor of a workspace that has users now."""
    root, key, workspace_id = ws.paths.root, ws._key, ws.workspace_id
    ws.close()
    before = (root / "workspace.db").read_bytes()[:4096]
    old = keyfile.seal(key, b"an old and long passphrase", workspace_id, FAST_INSECURE_KDF)
    keyfile.write(root / "workspace.key", old)
    with pytest.raises(StorageError, match="from before named users") as refused:
        open_workspace(root, "an old and long passphrase")
    assert "Nothing changed" in str(refused.value)
    assert keyfile.read(root / "workspace.key").legacy
    assert (root / "workspace.db").read_bytes()[:4096] == before


def test_key_file_problems_name_the_file(workspace_dir: Path) -> None:
    key = workspace_dir / "workspace.key"
    for damage in (b"", b"{", b"\x00" * 300, json.dumps({"format": "other"}).encode()):
        key.write_bytes(damage)
        with pytest.raises(WorkspaceFileError, match="key file") as error:
            open_workspace(workspace_dir, PASSPHRASE)
        assert str(key) in str(error.value)
    key.unlink()
    with pytest.raises(WorkspaceFileError, match="key file is missing"):
        open_workspace(workspace_dir, PASSPHRASE)


def test_a_foreign_database_is_refused(workspace_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    create_workspace(other, "Other office", PASSPHRASE, kdf=FAST_INSECURE_KDF).close()
    shutil.copy(other / "workspace.db", workspace_dir / "workspace.db")
    with pytest.raises(WorkspaceFileError, match="another workspace") as error:
        open_workspace(workspace_dir, PASSPHRASE)
    assert "workspace.db" in str(error.value)


def test_a_truncated_database_is_refused(ws: Workspace) -> None:
    for n in range(30):
        cases.add_case(ws, f"Case {n}", "x" * 2000)
    ws.close()
    db = ws.paths.database
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    with pytest.raises(WorkspaceFileError, match="damaged, truncated"):
        open_workspace(ws.paths.root, PASSPHRASE)


def test_a_database_newer_than_the_code_is_refused_untouched(ws: Workspace) -> None:
    ws.conn.execute(f"PRAGMA user_version = {migrations.latest_version() + 1}")
    ws.close()
    before = ws.paths.database.read_bytes()
    with pytest.raises(SchemaTooNew, match="newer Valise"):
        open_workspace(ws.paths.root, PASSPHRASE)
    assert ws.paths.database.read_bytes() == before


def test_the_first_schema_fixture_opens_and_reads(tmp_path: Path) -> None:
    """A workspace written by schema 1 (tests/data/schema-1) opens with today's code."""
    root = tmp_path / "old"
    shutil.copytree(DATA / "schema-1", root)
    with open_workspace(root, "fixture passphrase for schema tests") as ws:
        assert migrations.current_version(ws.conn) == migrations.latest_version()
        [case] = queries.list_cases(ws.conn)
        assert case.title == "Shelling of Kabora market"
        [person] = queries.in_case(ws.conn, Person, case.id)
        assert person.pseudonym == "W-0001" and person.legal_name == "Fixture Name"
        assert all(result.ok for result in evidence.verify_all(ws))
        # The fixture is stored without its audit.anchor: its chain links up, but nothing
        # vouches for its end until a person accepts it as it stands.
        report = ws.verify_audit()
        assert report.broken_at is None and "audit.anchor) is missing" in report.unanchored
        ws.reanchor_audit()
        assert ws.verify_audit().ok
        cases.add_case(ws, "Written by the new code")
        assert len(queries.list_cases(ws.conn)) == 2


def test_migrations_back_up_first_and_run_in_one_transaction(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing migration leaves the schema as it was, after an encrypted backup."""
    broken = migrations.Migration(
        migrations.latest_version() + 1, "broken", "CREATE TABLE x(a);\nNOT SQL;"
    )
    monkeypatch.setattr(migrations, "available", lambda: [*_real_available(), broken])
    version_before = migrations.current_version(ws.conn)
    root = ws.paths.root
    ws.close()
    with pytest.raises(Exception, match="syntax error"):
        open_workspace(root, PASSPHRASE)
    backups = list((root / "backups").glob("before-schema-*.db"))
    assert len(backups) == 1 and backups[0].read_bytes()[:16] != b"SQLite format 3\x00"
    monkeypatch.undo()
    with open_workspace(root, PASSPHRASE) as reopened:
        assert migrations.current_version(reopened.conn) == version_before
        tables = {r[0] for r in reopened.conn.execute("SELECT name FROM sqlite_master")}
        assert "x" not in tables


_real_available = migrations.available


def test_records_survive_close_and_reopen(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Persisted", "summary")
    ws.close()
    with open_workspace(ws.paths.root, PASSPHRASE) as reopened:
        assert queries.get(reopened.conn, Case, case_id).title == "Persisted"


def test_no_plaintext_reaches_the_workspace_folder(ws: Workspace, tmp_path: Path) -> None:
    secret_title = "Zebrafinch-Operation-Quokka"
    witness = "Nadia Quellenberg-Okonkwo"
    case_id = cases.add_case(ws, secret_title, "summary mentioning " + witness)
    cases.add_person(ws, case_id, "witness", name=witness, protected=True)
    sample = tmp_path / "statement.txt"
    sample.write_text(("Statement by " + witness + "\n") * 2000, "utf-8")
    evidence.add_evidence(ws, case_id, sample)
    ws.close()
    for path in ws.paths.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in (secret_title, witness, "Statement by"):
                assert needle.encode() not in data, f"{needle} in clear in {path.name}"
                assert needle.encode("utf-16-le") not in data


@given(st.binary(max_size=600))
def test_key_file_parser_refuses_garbage_plainly(data: bytes) -> None:
    """Whatever bytes sit in the key file, the answer is a WorkspaceFileError naming it."""
    path = Path("/nonexistent/workspace.key")
    try:
        parsed = keyfile.parse(data, path)
    except WorkspaceFileError as error:
        assert str(path) in str(error)
    else:  # only a well-formed key file parses
        assert len(parsed.passphrase_slot.sealed_key) == 48


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "format",
                "version",
                "kdf",
                "salt",
                "nonce",
                "sealed_key",
                "workspace_id",
                "generation",
            ]
        ),
        st.none()
        | st.integers()
        | st.text(max_size=30)
        | st.dictionaries(st.text(max_size=10), st.integers(-5, 10**9)),
    )
)
def test_key_file_parser_refuses_wrong_shapes(document: dict[str, object]) -> None:
    document.setdefault("format", "valise-keyfile")
    with pytest.raises(WorkspaceFileError):
        keyfile.parse(json.dumps(document).encode(), Path("workspace.key"))


def test_a_key_file_from_another_workspace_is_blamed_not_the_database(
    workspace_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    create_workspace(other, "Other office", PASSPHRASE, kdf=FAST_INSECURE_KDF).close()
    shutil.copy(other / "workspace.key", workspace_dir / "workspace.key")
    # The template was closed properly, so its sealed audit anchor tells the key is foreign.
    with pytest.raises(WorkspaceFileError, match="does not belong to this workspace") as error:
        open_workspace(workspace_dir, PASSPHRASE)
    assert str(workspace_dir / "workspace.key") in str(error.value)
    (workspace_dir / "audit.anchor").unlink()
    with pytest.raises(WorkspaceFileError, match="either that key file") as error:
        open_workspace(workspace_dir, PASSPHRASE)
