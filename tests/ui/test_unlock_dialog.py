"""The unlock dialog: wrong passphrases keep it open, the right one yields the workspace."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialog, QFormLayout, QLineEdit

from storage import users
from storage.errors import UserNeeded
from storage.paths import WorkspacePaths
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.ui.conftest import FakeClock
from ui.dialogs._common import UNUSABLE_CHARACTER_MESSAGE
from ui.dialogs.unlock import USER_ENV, UnlockDialog
from ui.tasks import TaskRunner


def make_dialog(qtbot, root: Path, runner: TaskRunner, clock: FakeClock | None = None):
    dialog = UnlockDialog(root, runner=runner, clock=clock or FakeClock())
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def attempt(qtbot, dialog: UnlockDialog, passphrase: str) -> None:
    dialog.passphrase_edit.clear()
    qtbot.keyClicks(dialog.passphrase_edit, passphrase)
    qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)


def test_controls_have_accessible_names_and_the_passphrase_is_hidden(qtbot, workspace_dir, runner):
    dialog = make_dialog(qtbot, workspace_dir, runner)
    assert dialog.passphrase_edit.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.passphrase_edit.accessibleName() == "Passphrase"
    assert dialog.unlock_button.accessibleName() == "Unlock"
    assert dialog.message_label.accessibleName() == "Unlock message"


def test_wrong_passphrase_shows_the_message_and_keeps_the_dialog_open(qtbot, workspace_dir, runner):
    dialog = make_dialog(qtbot, workspace_dir, runner)
    attempt(qtbot, dialog, "not the passphrase at all")
    assert dialog.message().startswith("Wrong passphrase.")
    assert dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.workspace is None
    assert dialog.unlock_button.isEnabled()  # one failure costs no wait yet


def test_right_passphrase_gives_an_open_workspace(qtbot, workspace_dir, runner):
    dialog = make_dialog(qtbot, workspace_dir, runner)
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignals([dialog.unlocked, dialog.accepted], timeout=10_000):
        qtbot.keyClick(dialog.passphrase_edit, Qt.Key.Key_Return)
    workspace = dialog.workspace
    assert isinstance(workspace, Workspace)
    try:
        assert workspace.office_name == "Kabora field office"
        assert dialog.passphrase_edit.text() == ""  # not kept in the widget
        assert not dialog.isVisible()
    finally:
        workspace.close()


def test_the_unlock_runs_off_the_gui_thread(qtbot, workspace_dir, runner):
    """While the key is derived, the dialog is busy but its event loop keeps running."""
    dialog = make_dialog(qtbot, workspace_dir, runner)
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(dialog.unlocked, timeout=10_000):
        qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
        assert dialog.busy
        assert not dialog.unlock_button.isEnabled()
        assert dialog.workspace is None
    dialog.workspace.close()


def test_a_lone_surrogate_passphrase_gets_a_clear_message(qtbot, workspace_dir, runner):
    """Broken text (an unpaired surrogate, as left by a bad paste) cannot reach the KDF."""
    dialog = make_dialog(qtbot, workspace_dir, runner)
    dialog.try_passphrase("horse\ud800battery")
    assert dialog.message() == UNUSABLE_CHARACTER_MESSAGE
    assert not dialog.busy
    assert dialog.isVisible()
    assert runner.active == 0


def test_a_non_utf8_escaped_passphrase_is_just_a_wrong_passphrase(qtbot, workspace_dir, runner):
    """U+DC80..U+DCFF stand for bytes that were not UTF-8; they are usable, only wrong here."""
    dialog = make_dialog(qtbot, workspace_dir, runner)
    dialog.try_passphrase("caf\udce9 \udcff\udcfe battery")
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.message().startswith("Wrong passphrase.")


def test_an_empty_passphrase_is_not_tried(qtbot, workspace_dir, runner):
    dialog = make_dialog(qtbot, workspace_dir, runner)
    qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    assert "Type the passphrase" in dialog.message()
    assert runner.active == 0


def test_repeated_failures_disable_the_button_with_a_countdown(qtbot, workspace_dir, runner, clock):
    dialog = make_dialog(qtbot, workspace_dir, runner, clock)
    attempt(qtbot, dialog, "not the passphrase at all")
    assert dialog.unlock_button.isEnabled()
    attempt(qtbot, dialog, "still not the passphrase")  # from the second failure: 1 s, 2 s...
    assert dialog.message().startswith("Wrong passphrase.")
    assert dialog.message().endswith("You can try again in 1 second.")
    assert not dialog.unlock_button.isEnabled()
    dialog.try_passphrase(PASSPHRASE)  # ignored while waiting
    assert not dialog.busy
    clock.advance(1.5)
    qtbot.waitUntil(dialog.unlock_button.isEnabled, timeout=5000)
    assert dialog.message().endswith("You can try again now.")
    attempt(qtbot, dialog, "wrong for the third time")
    assert dialog.message().endswith("You can try again in 2 seconds.")
    assert not dialog.unlock_button.isEnabled()


def test_a_throttled_unlock_shows_the_wait_from_storage(qtbot, workspace_dir, runner, clock):
    dialog = make_dialog(qtbot, workspace_dir, runner, clock)
    assert dialog.unlock_button.isEnabled()
    # Failures recorded meanwhile (another window, a restart): storage refuses to try.
    attempts = WorkspacePaths(workspace_dir).attempts
    attempts.write_text(json.dumps({"failures": [clock.now] * 5}))
    attempt(qtbot, dialog, PASSPHRASE)
    assert dialog.workspace is None
    assert "Too many failed attempts. You can try again in 8 seconds." in dialog.message()
    assert not dialog.unlock_button.isEnabled()
    clock.advance(3)
    qtbot.waitUntil(lambda: "in 5 seconds" in dialog.message(), timeout=5000)
    clock.advance(6)
    qtbot.waitUntil(dialog.unlock_button.isEnabled, timeout=5000)
    attempt(qtbot, dialog, PASSPHRASE)
    assert dialog.workspace is not None
    dialog.workspace.close()


def test_a_wait_already_due_shows_when_the_dialog_opens(qtbot, workspace_dir, runner, clock):
    WorkspacePaths(workspace_dir).attempts.write_text(json.dumps({"failures": [clock.now] * 4}))
    dialog = make_dialog(qtbot, workspace_dir, runner, clock)
    assert not dialog.unlock_button.isEnabled()
    assert "You can try again in 4 seconds." in dialog.message()


def test_a_folder_without_a_workspace_is_explained(qtbot, tmp_path, runner):
    dialog = make_dialog(qtbot, tmp_path / "nothing-here", runner)
    attempt(qtbot, dialog, PASSPHRASE)
    assert "not a Valise workspace" in dialog.message()
    assert dialog.isVisible()


def test_closing_during_the_check_leaves_the_workspace_closed(qtbot, workspace_dir, runner):
    dialog = make_dialog(qtbot, workspace_dir, runner)
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    task = dialog._task
    assert task is not None
    with qtbot.waitSignal(task.cancelled, timeout=10_000):
        dialog.reject()
    assert dialog.workspace is None
    # The folder lock was released: the workspace opens again at once.
    open_workspace(workspace_dir, PASSPHRASE).close()


def test_a_message_longer_than_two_lines_is_shown_whole(qtbot, tmp_path, runner):
    """A refusal naming a long folder wraps to three lines or more: the dialog grows."""
    folder = tmp_path / ("a-long-folder-name-for-the-workspace-of-the-office-" * 2) / "ws"
    folder.mkdir(parents=True)
    dialog = make_dialog(qtbot, folder, runner)
    qtbot.waitExposed(dialog)
    # Exactly as tall as it needs with no message yet: no room to spare.
    dialog.resize(dialog.width(), dialog.layout().totalHeightForWidth(dialog.width()))
    qtbot.waitUntil(lambda: dialog.height() == dialog.layout().totalHeightForWidth(dialog.width()))
    attempt(qtbot, dialog, PASSPHRASE)
    label = dialog.message_label
    assert "not a Valise workspace" in dialog.message()
    assert label.heightForWidth(label.width()) > label.fontMetrics().lineSpacing() * 2.5
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))


# -- named users ---------------------------------------------------------------------------

BASHIR_PASSPHRASE = "Bashir keeps his own long passphrase"


@pytest.fixture
def two_users(workspace_dir: Path) -> Path:
    """The template workspace (its supervisor is "Supervisor") with an investigator added."""
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        users.add_user(ws, "Bashir", users.INVESTIGATOR, BASHIR_PASSPHRASE)
    return workspace_dir


def files_digest(root: Path) -> str:
    """The database and the key file, byte for byte: a refused unlock changes neither."""
    paths = WorkspacePaths(root)
    digest = hashlib.sha256()
    for path in (paths.database, paths.keyfile):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def show_active(qtbot, dialog: UnlockDialog) -> None:
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)


def type_and_unlock(qtbot, dialog: UnlockDialog, user: str, passphrase: str) -> None:
    """As a person does: the name, the passphrase, then a click on Unlock."""
    dialog.user_edit.clear()
    qtbot.keyClicks(dialog.user_edit, user)
    dialog.passphrase_edit.clear()
    qtbot.keyClicks(dialog.passphrase_edit, passphrase)
    qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)


def test_the_user_field_is_above_the_passphrase_with_a_shortcut(qtbot, workspace_dir, runner):
    dialog = make_dialog(qtbot, workspace_dir, runner)
    form = dialog.findChild(QFormLayout)
    label = form.labelForField(dialog.user_edit)
    assert label.text() == "&User:" and label.buddy() is dialog.user_edit
    assert (
        form.getWidgetPosition(dialog.user_edit)[0]
        < form.getWidgetPosition(dialog.passphrase_edit)[0]
    )
    assert dialog.user_edit.accessibleName() == "User name"
    assert dialog.user_edit.echoMode() == QLineEdit.EchoMode.Normal  # a name is no secret
    # One user: the name may be left out, and the passphrase is what to type first.
    assert "one user" in dialog.user_edit.placeholderText()


def test_unlocking_as_a_named_user_opens_the_workspace_as_them(qtbot, two_users, runner):
    dialog = make_dialog(qtbot, two_users, runner)
    assert dialog.user_edit.placeholderText() == ""  # several users: a name is needed
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        type_and_unlock(qtbot, dialog, "bashir", BASHIR_PASSPHRASE)  # any case
    with dialog.workspace as ws:
        assert ws.user is not None
        assert (ws.user.name, ws.user.role) == ("Bashir", users.INVESTIGATOR)
        assert ws.author == "Bashir"


def test_a_wrong_user_name_is_refused_and_changes_nothing(qtbot, two_users, runner):
    """The right passphrase under a name with no slot: the same sentence as a wrong
    passphrase (which of the two was wrong is not told), and the files are as they were."""
    before = files_digest(two_users)
    dialog = make_dialog(qtbot, two_users, runner)
    type_and_unlock(qtbot, dialog, "Nobody", PASSPHRASE)
    assert (
        dialog.message() == "Wrong user name or passphrase. The workspace is unchanged; try again."
    )
    assert dialog.workspace is None and dialog.isVisible()
    assert files_digest(two_users) == before
    # Bashir's own passphrase under the supervisor's name is just as wrong.
    type_and_unlock(qtbot, dialog, "Supervisor", BASHIR_PASSPHRASE)
    assert dialog.workspace is None
    assert dialog.message().startswith("Wrong user name or passphrase.")
    assert files_digest(two_users) == before


def test_several_users_and_no_name_asks_for_the_name(qtbot, two_users, runner):
    dialog = UnlockDialog(two_users, runner=runner, clock=FakeClock(), user="")
    show_active(qtbot, dialog)
    assert QApplication.focusWidget() is dialog.user_edit  # several users: the name first
    dialog.passphrase_edit.setFocus()
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    qtbot.keyClick(dialog.passphrase_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.message() == str(UserNeeded())
    assert dialog.workspace is None and dialog.isVisible()
    assert QApplication.focusWidget() is dialog.user_edit  # where the person types next
    attempts = WorkspacePaths(two_users).attempts  # no failure counted: nothing was tried
    assert not attempts.exists() or not json.loads(attempts.read_text()).get("failures")
    # Typing the name and pressing Enter there unlocks (the passphrase is still typed).
    qtbot.keyClicks(dialog.user_edit, "Supervisor")
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.keyClick(dialog.user_edit, Qt.Key.Key_Return)
    assert dialog.workspace.user.name == "Supervisor"
    dialog.workspace.close()


def test_the_user_field_starts_with_valise_user(qtbot, two_users, runner, monkeypatch):
    monkeypatch.setenv(USER_ENV, "  Bashir ")
    dialog = make_dialog(qtbot, two_users, runner)
    assert dialog.user_edit.text() == "Bashir"
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.keyClicks(dialog.passphrase_edit, BASHIR_PASSPHRASE)
        qtbot.keyClick(dialog.passphrase_edit, Qt.Key.Key_Return)
    assert dialog.workspace.user.name == "Bashir"
    dialog.workspace.close()


def test_a_name_given_by_the_caller_wins_over_valise_user(qtbot, two_users, runner, monkeypatch):
    """After a lock the user who was unlocked is offered, whatever the environment says."""
    monkeypatch.setenv(USER_ENV, "Supervisor")
    dialog = UnlockDialog(two_users, runner=runner, user="Bashir")
    qtbot.addWidget(dialog)
    assert dialog.user_edit.text() == "Bashir"


def test_no_user_name_is_written_to_the_settings(qtbot, two_users, runner):
    """The key file does not list who may unlock; the settings must not either."""
    settings = QSettings()
    before = {key: settings.value(key) for key in settings.allKeys()}
    dialog = make_dialog(qtbot, two_users, runner)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        type_and_unlock(qtbot, dialog, "Bashir", BASHIR_PASSPHRASE)
    dialog.workspace.close()
    settings.sync()
    after = {key: settings.value(key) for key in settings.allKeys()}
    assert after == before
    assert "Bashir" not in repr(after)
