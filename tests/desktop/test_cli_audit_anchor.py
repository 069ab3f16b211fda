"""`valise audit verify` on a database put back to an older copy: never "ok".

The audit anchor (`audit.anchor`, sealed with a key derived from the database key) is what
tells a chain cut at its end from a whole one. Whoever can replace the database can also
delete the anchor, so a missing anchor must make `audit verify` say the chain is
unanchored and exit non-zero; and one open and close (which writes a fresh anchor) must
not launder it: the chain stays unanchored until a person runs `valise audit anchor`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.desktop.clitools import assert_ok, assert_refused, valise

UNANCHORED = "The audit chain is unanchored"


def _saved_database(workspace_dir: Path, tmp_path: Path) -> Path:
    """A copy of the closed workspace's database (and its anchor), as a backup would be."""
    saved = tmp_path / "saved"
    saved.mkdir()
    for name in ("workspace.db", "audit.anchor"):
        shutil.copy2(workspace_dir / name, saved / name)
    return saved


def _make_changes(env: dict[str, str]) -> None:
    for title in ("First case", "Second case", "Third case"):
        assert_ok(valise(env, "case", "add", "--title", title))


def test_a_rolled_back_database_without_its_anchor_is_unanchored(
    workspace_dir: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    saved = _saved_database(workspace_dir, tmp_path)
    _make_changes(cli_env)
    assert_ok(valise(cli_env, "audit", "verify")).startswith("ok")
    shutil.copy2(saved / "workspace.db", workspace_dir / "workspace.db")
    (workspace_dir / "audit.anchor").unlink()

    first = assert_refused(valise(cli_env, "audit", "verify"), 1, UNANCHORED, "valise audit anchor")
    assert "cut from its end" in first and "audit.anchor) is missing" in first
    # That run opened and closed the workspace, writing a fresh anchor: still unanchored.
    assert (workspace_dir / "audit.anchor").exists()
    assert_refused(valise(cli_env, "audit", "verify"), 1, UNANCHORED)
    listing = assert_ok(valise(cli_env, "audit", "list", "--action", "audit unanchored"))
    assert "audit unanchored" in listing

    said = assert_ok(valise(cli_env, "audit", "anchor"))
    assert "Re-anchored" in said
    assert assert_ok(valise(cli_env, "audit", "verify")).startswith("ok")
    listing = assert_ok(valise(cli_env, "audit", "list", "--action", "audit re-anchored"))
    assert "audit re-anchored" in listing


def test_a_rolled_back_database_with_its_anchor_present_is_refused(
    workspace_dir: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    saved = _saved_database(workspace_dir, tmp_path)
    _make_changes(cli_env)
    shutil.copy2(saved / "workspace.db", workspace_dir / "workspace.db")  # the anchor stays

    assert_refused(valise(cli_env, "audit", "verify"), 1, "The audit chain is broken")
    # The close of that run anchored the old database; the unlock had noted the mismatch.
    again = assert_refused(valise(cli_env, "audit", "verify"), 1, UNANCHORED)
    assert "older than the anchor" in again


def test_a_garbage_anchor_makes_the_chain_unanchored(
    workspace_dir: Path, cli_env: dict[str, str]
) -> None:
    (workspace_dir / "audit.anchor").write_bytes(b"\x00garbage, not an anchor")
    said = assert_refused(valise(cli_env, "audit", "verify"), 1, UNANCHORED)
    assert "audit.anchor) is damaged" in said


def test_a_broken_chain_is_not_re_anchored(workspace_dir: Path, cli_env: dict[str, str]) -> None:
    _make_changes(cli_env)
    (workspace_dir / "audit.anchor").unlink()
    assert_refused(valise(cli_env, "audit", "verify"), 1, UNANCHORED)
    from storage.connection import open_database
    from storage.workspace import open_workspace
    from tests.conftest import PASSPHRASE

    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        raw = open_database(ws.paths.database, ws._key)
        raw.execute("DROP TRIGGER audit_no_update")
        raw.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 2")
        raw.close()
    assert_refused(valise(cli_env, "audit", "anchor"), 1, "broken at entry 2", "not re-anchored")


def test_an_anchored_chain_needs_no_re_anchoring(cli_env: dict[str, str]) -> None:
    assert "anchored already" in assert_ok(valise(cli_env, "audit", "anchor"))
