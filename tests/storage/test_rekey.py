"""Rekey (issue 13): a new database key, the database re-encrypted, old key files useless
for the current database, old backups still opening themselves, and every interruption
between the steps completed or forgotten at the next unlock. (The `kill -9` loop is in
tests/desktop/test_crash_loop.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storage import audit, backup, cases, evidence, keyfile, rekey
from storage.connection import opens_with_key
from storage.digest import state_digest
from storage.errors import WorkspaceFileError
from storage.passphrase import encode_passphrase
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import temp_leftovers, valise


def _key_in(key_file: Path) -> bytes:
    return keyfile.unseal(keyfile.read(key_file), encode_passphrase(PASSPHRASE))


def _filled(root: Path, tmp_path: Path) -> str:
    """Cases and an evidence file in the workspace at `root`; its state digest."""
    source = tmp_path / "statement.txt"
    source.write_bytes(b"The witness saw the convoy at dawn. " * 3000)
    with open_workspace(root, PASSPHRASE) as ws:
        case = cases.add_case(ws, "Rekey marker case")
        evidence.add_evidence(ws, case, source)
        return state_digest(ws.conn)


def _rekey(root: Path) -> None:
    ws = open_workspace(root, PASSPHRASE)
    with ws:
        rekey.rekey(ws, rekey.sealed_for_every_user(ws))


def _check_whole(root: Path, state: str) -> Workspace:
    ws = open_workspace(root, PASSPHRASE)
    assert state_digest(ws.conn) == state
    assert ws.verify_audit().ok
    assert all(result.ok for result in evidence.verify_all(ws, record=False))
    assert temp_leftovers(root) == []
    return ws


def test_rekey_changes_the_database_key_and_keeps_everything(
    workspace_dir: Path, tmp_path: Path
) -> None:
    state = _filled(workspace_dir, tmp_path)
    old_key_file = tmp_path / "old.key"
    shutil.copy(workspace_dir / "workspace.key", old_key_file)
    old_key = _key_in(old_key_file)

    _rekey(workspace_dir)

    new_key = _key_in(workspace_dir / "workspace.key")
    assert new_key != old_key
    assert not opens_with_key(workspace_dir / "workspace.db", old_key)
    with _check_whole(workspace_dir, state) as ws:
        assert ws.meta("key_generation") == keyfile.read(workspace_dir / "workspace.key").generation
        last = ws.conn.execute("SELECT action FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        assert last[0] == "database key changed"
        assert audit.anchor_problem(ws.conn, ws.paths.anchor, ws.anchor_key()) == ""
        assert ws.meta(audit.UNANCHORED_META, "") == ""


def test_an_old_key_file_put_back_no_longer_opens_the_workspace(
    workspace_dir: Path, tmp_path: Path
) -> None:
    """The reason to rekey: the key file (and passphrase) a thief copied is useless now."""
    _filled(workspace_dir, tmp_path)
    stolen = (workspace_dir / "workspace.key").read_bytes()
    _rekey(workspace_dir)
    (workspace_dir / "workspace.key").write_bytes(stolen)
    with pytest.raises(WorkspaceFileError, match="does not belong to this workspace"):
        open_workspace(workspace_dir, PASSPHRASE)


def test_a_backup_written_before_a_rekey_still_opens_with_the_old_passphrase(
    workspace_dir: Path, tmp_path: Path
) -> None:
    state = _filled(workspace_dir, tmp_path)
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        backup.write_backup(ws, tmp_path / "before.valise-backup")
    _rekey(workspace_dir)
    restored = tmp_path / "restored"
    backup.restore_backup(tmp_path / "before.valise-backup", restored, PASSPHRASE)
    with open_workspace(restored, PASSPHRASE) as ws:
        titles = [row[0] for row in ws.conn.execute("SELECT title FROM cases")]
        assert "Rekey marker case" in titles
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        assert state_digest(ws.conn) == state


# -- interrupted between the steps ---------------------------------------------------------


class Interrupted(Exception):
    """Stands for the power cut."""


def _cut(*_: object) -> None:
    raise Interrupted()


@pytest.mark.parametrize(
    ("step", "committed"),
    [
        ("storage.rekey.audit.write_anchor", False),  # the copy written, nothing else
        ("storage.rekey.keyfile.write", False),  # copy and anchor written
        ("storage.rekey.fsync_directory", False),  # every new file written, none in place
        ("storage.rekey._roll_forward", True),  # the key file in place: committed
    ],
)
def test_an_interrupted_rekey_is_finished_or_forgotten_at_the_next_unlock(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, committed: bool
) -> None:
    state = _filled(workspace_dir, tmp_path)
    old_key = _key_in(workspace_dir / "workspace.key")
    with monkeypatch.context() as patch:
        patch.setattr(step, _cut)
        with pytest.raises(Interrupted):
            _rekey(workspace_dir)
    assert list(workspace_dir.glob("*.rekey")), "the cut left nothing to finish or forget"
    with _check_whole(workspace_dir, state) as ws:
        now_key = _key_in(workspace_dir / "workspace.key")
        assert (now_key != old_key) == committed
        assert opens_with_key(ws.paths.database, now_key)
        assert audit.anchor_problem(ws.conn, ws.paths.anchor, ws.anchor_key()) == ""
        assert ws.meta(audit.UNANCHORED_META, "") == ""
        actions = [row[0] for row in ws.conn.execute("SELECT action FROM audit")]
        assert ("database key changed" in actions) == committed


@pytest.mark.parametrize("size", [0, 4096])
def test_a_rekey_killed_as_its_export_began_leaves_the_old_database(
    workspace_dir: Path, tmp_path: Path, size: int
) -> None:
    """Found by the kill -9 loop: a rekey killed right after it created its export, before
    any page was written, left an empty `workspace.db.rekey`. An empty file "opens" with any
    key (SQLite takes it for a new database), so the next unlock took it for a committed
    rekey and put it in place of the database. It must be forgotten, the database kept."""
    state = _filled(workspace_dir, tmp_path)
    old_key = _key_in(workspace_dir / "workspace.key")
    (workspace_dir / "workspace.db.rekey").write_bytes(b"\0" * size)
    assert not opens_with_key(workspace_dir / "workspace.db.rekey", old_key)
    with _check_whole(workspace_dir, state):
        pass
    assert not (workspace_dir / "workspace.db.rekey").exists()
    assert _key_in(workspace_dir / "workspace.key") == old_key


def test_a_planted_rekey_file_is_removed_and_opens_nothing(
    workspace_dir: Path, tmp_path: Path
) -> None:
    """A file under the rekey's name that no key opens (garbage, or another workspace's
    database) is not taken for an interrupted rekey: it is removed, nothing else moves."""
    state = _filled(workspace_dir, tmp_path)
    (workspace_dir / "workspace.db.rekey").write_bytes(b"SQLite format 3\x00" + b"\x17" * 8000)
    (workspace_dir / "audit.anchor.rekey").write_bytes(b"not an anchor")
    with _check_whole(workspace_dir, state):
        pass
    assert not (workspace_dir / "workspace.db.rekey").exists()


def test_rekey_with_a_wrong_passphrase_changes_nothing(
    workspace_dir: Path, cli_env: dict[str, str]
) -> None:
    before = {p.name: p.read_bytes() for p in workspace_dir.iterdir() if p.is_file()}
    result = valise({**cli_env, "VALISE_PASSPHRASE": "not the passphrase at all"}, "rekey")
    assert result.returncode != 0
    assert "passphrase" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    after = {
        p.name: p.read_bytes()
        for p in workspace_dir.iterdir()
        if p.is_file() and p.name != "unlock-attempts.json"
    }
    assert after == {k: v for k, v in before.items() if k != "unlock-attempts.json"}


def test_the_rekey_command_says_what_still_opens_with_the_old_key(
    workspace_dir: Path, cli_env: dict[str, str]
) -> None:
    result = valise(cli_env, "rekey")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted under a new key" in result.stderr
    assert "Backup files written before this still open with the old passphrase" in result.stderr
    help_text = valise(cli_env, "passwd", "--help").stdout
    assert "still opens the current database with the old passphrase" in " ".join(help_text.split())
