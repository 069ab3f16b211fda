"""Tools › Change the database key (rekey)…: a supervisor confirms with their passphrase,
the database key changes, the window locks and the same passphrase unlocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyrage import x25519
from PySide6.QtCore import Qt

from storage import escrow, keyfile, paper_shares, users
from storage.passphrase import encode_passphrase
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import fingerprint
from ui.dialogs.rekey import REFUSED_CONFIRMATION, REKEYED_REASON, RekeyDialog
from ui.main_window import ONLY_SUPERVISORS_REKEY, MainWindow
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

INVESTIGATOR_PASSPHRASE = "an investigator's own long passphrase"


def database_key(root: Path, passphrase: str = PASSPHRASE, user: str | None = None) -> bytes:
    sealed = keyfile.read(root / "workspace.key")
    return keyfile.unseal(sealed, encode_passphrase(passphrase), user)


@pytest.fixture
def prompts() -> ScriptedPrompts:
    return ScriptedPrompts()


def make_window(qtbot, ws: Workspace, prompts, runner, **kwargs) -> MainWindow:
    window = MainWindow(ws, prompts=prompts, runner=runner, **kwargs)
    qtbot.addWidget(window)
    window.show()
    return window


def open_rekey(qtbot, window: MainWindow) -> RekeyDialog:
    assert window.rekey_action.isEnabled()
    window.rekey_action.trigger()
    dialog = window.rekey_dialog
    assert isinstance(dialog, RekeyDialog)
    qtbot.waitExposed(dialog)
    return dialog


def test_a_supervisor_rekeys_from_the_menu_and_unlocks_with_the_same_passphrase(
    qtbot, ws: Workspace, workspace_dir: Path, prompts, runner: TaskRunner
):
    before = database_key(workspace_dir)
    window = make_window(qtbot, ws, prompts, runner)
    dialog = open_rekey(qtbot, window)
    text = dialog.explanation_label.text()
    assert "Every user keeps their passphrase." in text
    assert "backups written before still open the data as it was then" in text
    assert dialog.escrow_check is None  # no escrow recipient recorded here
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(window.locked, timeout=30_000):
        qtbot.mouseClick(dialog.rekey_button, Qt.MouseButton.LeftButton)
    assert window.workspace is None
    assert prompts.asked[-1].kind == "inform"
    assert "re-encrypted under a new key" in prompts.asked[-1].text
    after = database_key(workspace_dir)
    assert after != before

    unlock = window.unlock_dialog
    assert unlock is not None and unlock.isVisible()
    assert window.statusBar().currentMessage() == REKEYED_REASON
    qtbot.keyClicks(unlock.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(window.unlocked, timeout=20_000):
        qtbot.mouseClick(unlock.unlock_button, Qt.MouseButton.LeftButton)
    assert window.workspace is not None and window.table.isEnabled()
    assert window.new_case_action.isEnabled()
    window.close()


def test_in_the_application_the_rekey_restarts_locked_with_the_reason(
    qtbot, ws: Workspace, workspace_dir: Path, prompts, runner: TaskRunner
):
    restarts: list[tuple] = []
    window = make_window(qtbot, ws, prompts, runner, relock=lambda *args: restarts.append(args))
    dialog = open_rekey(qtbot, window)
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(window.locked, timeout=30_000):
        qtbot.mouseClick(dialog.rekey_button, Qt.MouseButton.LeftButton)
    assert len(restarts) == 1
    folder, reason, _view, user = restarts[0]
    assert folder == workspace_dir and reason == REKEYED_REASON and user
    open_workspace(workspace_dir, PASSPHRASE).close()  # the folder lock is free


def settled_files(root: Path) -> dict[str, str]:
    """Digests of the workspace's files, leaving out SQLite's write-ahead log beside the
    open database (its contents move with every read transaction's checkpoint)."""
    return {
        name: digest
        for name, digest in fingerprint(root).items()
        if not name.endswith(("-wal", "-shm"))
    }


def test_a_wrong_passphrase_changes_nothing(
    qtbot, ws: Workspace, workspace_dir: Path, prompts, runner: TaskRunner
):
    before_key = database_key(workspace_dir)
    before = settled_files(workspace_dir)
    window = make_window(qtbot, ws, prompts, runner)
    dialog = open_rekey(qtbot, window)
    qtbot.keyClicks(dialog.passphrase_edit, "not my passphrase at all")
    qtbot.mouseClick(dialog.rekey_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.working, timeout=20_000)
    assert dialog.message() == REFUSED_CONFIRMATION
    assert dialog.isVisible() and window.workspace is ws
    assert settled_files(workspace_dir) == before
    assert database_key(workspace_dir) == before_key
    assert window.rekey_action.isEnabled() and window.table.isEnabled()
    dialog.reject()
    window.close()


def test_the_menu_entry_is_disabled_for_an_investigator(
    qtbot, ws: Workspace, workspace_dir: Path, prompts, runner: TaskRunner
):
    users.add_user(ws, "Bashir", "investigator", INVESTIGATOR_PASSPHRASE)
    supervisor = ws.user.name if ws.user is not None else None
    ws.close()
    as_investigator = open_workspace(workspace_dir, INVESTIGATOR_PASSPHRASE, user="Bashir")
    window = make_window(qtbot, as_investigator, prompts, runner)
    assert not window.rekey_action.isEnabled()
    assert window.rekey_action.toolTip() == ONLY_SUPERVISORS_REKEY
    window.show_rekey()  # even called directly: refused, nothing opened
    assert window.rekey_dialog is None
    assert window.statusBar().currentMessage() == ONLY_SUPERVISORS_REKEY
    window.close()
    assert supervisor is not None
    database_key(workspace_dir, PASSPHRASE, supervisor)  # still opens as before


def test_rekey_with_the_escrow_option_writes_an_escrow_of_the_new_key(
    qtbot, ws: Workspace, workspace_dir: Path, tmp_path: Path, prompts, runner: TaskRunner
):
    identity = x25519.Identity.generate()
    identity_file = tmp_path / "tribunal-it.key"
    identity_file.write_text(f"{identity}\n")
    old_escrow = tmp_path / "old.escrow"
    escrow.write_escrow(ws, str(identity.to_public()), old_escrow)  # records the recipient
    paper_shares.make_shares(ws, 2, 3, tmp_path / "shares")
    new_escrow = tmp_path / "new.escrow"
    window = make_window(qtbot, ws, prompts, runner, choose_escrow_file=lambda *_args: new_escrow)
    dialog = open_rekey(qtbot, window)
    assert "paper shares stop opening" in dialog.explanation_label.text()
    assert dialog.escrow_check is not None and dialog.escrow_button is not None
    assert not dialog.escrow_button.isEnabled()
    dialog.escrow_check.setChecked(True)
    qtbot.mouseClick(dialog.escrow_button, Qt.MouseButton.LeftButton)
    assert dialog.escrow_edit is not None and dialog.escrow_edit.text() == str(new_escrow)
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(window.locked, timeout=30_000):
        qtbot.mouseClick(dialog.rekey_button, Qt.MouseButton.LeftButton)
    said = prompts.asked[-1].text
    assert f"Wrote the new escrow {new_escrow}" in said
    assert "paper shares of set" in said
    new_key = database_key(workspace_dir)
    assert escrow.read_escrow(new_escrow, identity_file).database_key == new_key
    assert escrow.read_escrow(old_escrow, identity_file).database_key != new_key
    window.close()
