"""Forgot the passphrase: the unlock dialog's way back with paper shares or the escrow.

Real workspaces, real widgets: the share and escrow files are made by storage as the
command line makes them; the file choosers are the only thing the tests stand in for.
Every refusal shows its sentence and leaves the workspace's files as they were.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyrage import x25519
from PySide6.QtCore import Qt

from storage import escrow, paper_shares, users
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import fingerprint
from ui.dialogs.recover import NAME_NEEDED, FileChoosers, RecoverDialog, TypeShareDialog
from ui.dialogs.unlock import UnlockDialog
from ui.main_window import MainWindow
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

NEW_PASSPHRASE = "a brand new passphrase for the office"
BASHIR_PASSPHRASE = "Bashir keeps his own passphrase"


class Files:
    """Stands in for the platform's file dialogs: answers with the files set here."""

    def __init__(self) -> None:
        self.shares: list[Path] = []
        self.one: list[Path] = []  # answered in order: escrow file, then key file
        self.words: list[str] = []  # shares typed, in order

    def choosers(self) -> FileChoosers:
        return FileChoosers(
            shares=lambda _parent, _caption: list(self.shares),
            one=lambda _parent, _caption: self.one.pop(0) if self.one else None,
            words=lambda _parent, _label: self.words.pop(0) if self.words else None,
        )


def make_shares(root: Path, out: Path, k: int = 2, n: int = 3) -> list[Path]:
    with open_workspace(root, PASSPHRASE) as ws:
        made = paper_shares.make_shares(ws, k, n, out)
    return sorted(path for path in made.files if path.suffix == ".txt")


@pytest.fixture
def age_identity(tmp_path: Path) -> tuple[str, Path]:
    identity = x25519.Identity.generate()
    path = tmp_path / "tribunal-it.key"
    path.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    return str(identity.to_public()), path


def opens_with(root: Path, passphrase: str) -> bool:
    try:
        open_workspace(root, passphrase).close()
    except Exception:
        return False
    return True


def open_recovery(qtbot, root: Path, runner: TaskRunner, files: Files) -> tuple:
    unlock = UnlockDialog(root, runner=runner, recovery_choosers=files.choosers())
    qtbot.addWidget(unlock)
    unlock.show()
    qtbot.mouseClick(unlock.forgot_button, Qt.MouseButton.LeftButton)
    dialog = unlock.recover_dialog
    assert isinstance(dialog, RecoverDialog) and dialog.isVisible()
    return unlock, dialog


def type_new_passphrase(qtbot, dialog: RecoverDialog, passphrase: str = NEW_PASSPHRASE) -> None:
    qtbot.keyClicks(dialog.passphrase_edit, passphrase)
    qtbot.keyClicks(dialog.repeat_edit, passphrase)


def press_recover(qtbot, dialog: RecoverDialog) -> None:
    qtbot.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20_000)


def refused(qtbot, dialog: RecoverDialog, root: Path, *needles: str) -> str:
    """Press Recover: the dialog stays open with a sentence, and nothing changed."""
    before = fingerprint(root)
    press_recover(qtbot, dialog)
    message = dialog.message()
    for needle in needles:
        assert needle in message
    assert dialog.isVisible() and dialog.workspace is None
    assert fingerprint(root) == before, "workspace files changed"
    assert opens_with(root, PASSPHRASE)
    return message


def test_two_of_three_shares_set_a_new_passphrase_and_unlock(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    shares = make_shares(workspace_dir, tmp_path / "shares")
    files = Files()
    files.shares = [shares[0], shares[2]]
    unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    qtbot.mouseClick(dialog.add_shares_button, Qt.MouseButton.LeftButton)
    assert dialog.share_list.count() == 2
    type_new_passphrase(qtbot, dialog, "weak")
    assert dialog.strength_label.text().startswith("✗ Too weak")
    dialog.passphrase_edit.clear()
    dialog.repeat_edit.clear()
    type_new_passphrase(qtbot, dialog)
    assert dialog.strength_label.text().startswith("✓")
    with qtbot.waitSignals([unlock.unlocked, unlock.accepted], timeout=20_000):
        qtbot.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)
    ws = unlock.workspace
    assert isinstance(ws, Workspace) and ws.user is not None
    ws.close()
    assert opens_with(workspace_dir, NEW_PASSPHRASE)
    assert not opens_with(workspace_dir, PASSPHRASE)


def test_after_a_lock_the_window_opens_again_with_the_shares(
    qtbot, ws: Workspace, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    made = paper_shares.make_shares(ws, 2, 3, tmp_path / "shares")
    texts = sorted(path for path in made.files if path.suffix == ".txt")
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.locked, timeout=2000):
        window.lock_action.trigger()
    unlock = window.unlock_dialog
    assert unlock is not None
    unlock._recovery_choosers = FileChoosers(shares=lambda *_: list(texts[:2]))
    qtbot.mouseClick(unlock.forgot_button, Qt.MouseButton.LeftButton)
    dialog = unlock.recover_dialog
    assert dialog is not None
    qtbot.mouseClick(dialog.add_shares_button, Qt.MouseButton.LeftButton)
    type_new_passphrase(qtbot, dialog)
    with qtbot.waitSignal(window.unlocked, timeout=20_000):
        qtbot.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)
    assert isinstance(window.workspace, Workspace) and window.model is not None
    assert window.new_case_action.isEnabled()
    window.close()
    assert opens_with(workspace_dir, NEW_PASSPHRASE)


def test_too_few_shares_are_refused_and_nothing_changes(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    shares = make_shares(workspace_dir, tmp_path / "shares", 3, 5)
    files = Files()
    files.shares = shares[:2]
    _unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    dialog.add_shares()
    type_new_passphrase(qtbot, dialog)
    refused(qtbot, dialog, workspace_dir, "3 shares are needed; 2 were given.")


def test_a_damaged_share_is_named_and_nothing_changes(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    shares = make_shares(workspace_dir, tmp_path / "shares")
    words = paper_shares._words_of(shares[1].read_text())
    words[10], words[11] = words[11], words[10]  # two words swapped while typing
    typed = tmp_path / "typed-share.txt"
    typed.write_text(" ".join(words) + "\n")
    files = Files()
    files.shares = [shares[0], typed]
    _unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    dialog.add_shares()
    type_new_passphrase(qtbot, dialog)
    message = refused(qtbot, dialog, workspace_dir, str(typed), "do not check out")
    assert words[10] not in message.split()


def test_shares_of_two_sets_are_refused_and_nothing_changes(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    first = make_shares(workspace_dir, tmp_path / "first")
    second = make_shares(workspace_dir, tmp_path / "second")
    files = Files()
    files.shares = [first[0], second[1]]
    _unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    dialog.add_shares()
    type_new_passphrase(qtbot, dialog)
    refused(qtbot, dialog, workspace_dir, "different sets")


def test_shares_of_another_workspace_are_refused_and_nothing_changes(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    make_shares(workspace_dir, tmp_path / "ours")
    other = tmp_path / "other"
    create_workspace(other, "Other office", PASSPHRASE, kdf=FAST_INSECURE_KDF).close()
    theirs = make_shares(other, tmp_path / "theirs")
    files = Files()
    files.shares = theirs[:2]
    _unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    dialog.add_shares()
    type_new_passphrase(qtbot, dialog)
    refused(qtbot, dialog, workspace_dir, "do not open this workspace's recovery slot")


def test_the_escrow_with_the_right_key_recovers(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner, age_identity
):
    recipient, identity = age_identity
    sealed = tmp_path / "office.escrow"
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        escrow.write_escrow(ws, recipient, sealed)
    files = Files()
    files.one = [sealed, identity]
    unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    qtbot.mouseClick(dialog.escrow_radio, Qt.MouseButton.LeftButton)
    assert dialog.pages.currentIndex() == 1
    qtbot.mouseClick(dialog.escrow_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.identity_button, Qt.MouseButton.LeftButton)
    type_new_passphrase(qtbot, dialog)
    with qtbot.waitSignal(unlock.accepted, timeout=20_000):
        qtbot.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)
    assert unlock.workspace is not None
    unlock.workspace.close()
    assert opens_with(workspace_dir, NEW_PASSPHRASE)


def test_a_wrong_escrow_key_is_refused_and_nothing_changes(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner, age_identity
):
    recipient, _identity = age_identity
    sealed = tmp_path / "office.escrow"
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        escrow.write_escrow(ws, recipient, sealed)
    stranger = tmp_path / "stranger.key"
    stranger.write_text(f"{x25519.Identity.generate()}\n")
    files = Files()
    files.one = [sealed, stranger]
    _unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    dialog.escrow_radio.setChecked(True)
    dialog.choose_escrow()
    dialog.choose_identity()
    type_new_passphrase(qtbot, dialog)
    message = refused(qtbot, dialog, workspace_dir, str(stranger))
    assert "AGE-SECRET-KEY" not in message


def test_nothing_chosen_or_passphrases_that_differ_are_said_before_any_work(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    shares = make_shares(workspace_dir, tmp_path / "shares")
    files = Files()
    files.shares = shares[:2]
    _unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    type_new_passphrase(qtbot, dialog)
    dialog.try_recover()
    assert dialog.message() == "Add the shares first (Add share files… or Type a share…)."
    dialog.add_shares()
    qtbot.keyClicks(dialog.repeat_edit, "x")
    dialog.try_recover()
    assert "differ" in dialog.message() and not dialog.busy


def test_with_several_users_the_name_is_asked_and_only_theirs_is_set(
    qtbot, ws: Workspace, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    made = paper_shares.make_shares(ws, 2, 3, tmp_path / "shares")
    shares = sorted(path for path in made.files if path.suffix == ".txt")
    users.add_user(ws, "Bashir", "investigator", BASHIR_PASSPHRASE)
    supervisor = ws.user.name if ws.user is not None else ""
    ws.close()
    files = Files()
    files.shares = shares[:2]
    unlock = UnlockDialog(workspace_dir, runner=runner, user="", recovery_choosers=files.choosers())
    qtbot.addWidget(unlock)
    unlock.show()
    unlock.forgot_passphrase()
    dialog = unlock.recover_dialog
    assert dialog is not None and "several users" in dialog.user_edit.placeholderText()
    dialog.add_shares()
    type_new_passphrase(qtbot, dialog)
    dialog.try_recover()
    assert dialog.message() == NAME_NEEDED and not dialog.busy
    qtbot.keyClicks(dialog.user_edit, "Bashir")
    with qtbot.waitSignal(unlock.accepted, timeout=20_000):
        qtbot.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)
    assert unlock.workspace is not None and unlock.workspace.user is not None
    assert unlock.workspace.user.name == "Bashir"
    unlock.workspace.close()
    open_workspace(workspace_dir, NEW_PASSPHRASE, user="Bashir").close()
    open_workspace(workspace_dir, PASSPHRASE, user=supervisor).close()  # hers is untouched


def test_a_share_typed_from_paper_and_a_file_recover_together(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    shares = make_shares(workspace_dir, tmp_path / "shares")
    words = paper_shares._words_of(shares[0].read_text())
    files = Files()
    files.shares = [shares[2]]
    files.words = ["\n".join(f"{n}. {word}" for n, word in enumerate(words, start=1))]
    unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    qtbot.mouseClick(dialog.type_share_button, Qt.MouseButton.LeftButton)
    dialog.add_shares()
    assert dialog.share_list.item(0).text() == "Typed share 1 (words typed)"
    type_new_passphrase(qtbot, dialog)
    with qtbot.waitSignal(unlock.accepted, timeout=20_000):
        qtbot.mouseClick(dialog.recover_button, Qt.MouseButton.LeftButton)
    assert unlock.workspace is not None
    unlock.workspace.close()
    assert opens_with(workspace_dir, NEW_PASSPHRASE)


def test_a_mistyped_share_is_refused_in_the_typing_dialog_without_its_words(qtbot):
    dialog = TypeShareDialog("typed share 1")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.words_edit, "abandon zebra")
    dialog.check_and_accept()
    assert dialog.isVisible()
    assert dialog.message_label.text().startswith("Word 1 in typed share 1 is not in the")
    assert "abandon" not in dialog.message_label.text()


def test_a_typed_share_with_swapped_words_is_named_and_nothing_changes(
    qtbot, workspace_dir: Path, tmp_path: Path, runner: TaskRunner
):
    shares = make_shares(workspace_dir, tmp_path / "shares")
    words = paper_shares._words_of(shares[1].read_text())
    words[10], words[11] = words[11], words[10]
    files = Files()
    files.shares = [shares[0]]
    files.words = [" ".join(words)]
    _unlock, dialog = open_recovery(qtbot, workspace_dir, runner, files)
    dialog.add_shares()
    dialog.type_share()  # the stand-in does not check, as the real typing dialog would
    type_new_passphrase(qtbot, dialog)
    message = refused(qtbot, dialog, workspace_dir, "typed share 1", "do not check out")
    assert words[10] not in message.split()
