"""First run: the create dialog asks for the first user's name, refuses weak or mismatched
passphrases, then creates."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from storage import audit
from storage.keyfile import FAST_INSECURE_KDF
from storage.paths import WorkspacePaths
from storage.users import MAX_NAME
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from ui.dialogs._common import UNUSABLE_CHARACTER_MESSAGE
from ui.dialogs.create_workspace import YOUR_NAME_HINT, CreateWorkspaceDialog
from ui.dialogs.new_passphrase import MISMATCH, strength_feedback
from ui.tasks import TaskRunner


def make_dialog(qtbot, root: Path, runner: TaskRunner) -> CreateWorkspaceDialog:
    dialog = CreateWorkspaceDialog(root, kdf=FAST_INSECURE_KDF, runner=runner)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def type_into(qtbot, field, text: str) -> None:
    field.clear()
    qtbot.keyClicks(field, text)


def click_create(qtbot, dialog: CreateWorkspaceDialog) -> None:
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)


def test_weak_then_mismatched_passphrases_are_refused_then_it_creates(qtbot, tmp_path, runner):
    root = tmp_path / "office"
    dialog = make_dialog(qtbot, root, runner)
    type_into(qtbot, dialog.office_name_edit, "Kabora field office")
    type_into(qtbot, dialog.user_name_edit, "Amina Diallo")

    type_into(qtbot, dialog.passphrase_edit, "password1234")
    assert dialog.strength_label.text() == (
        "✗ Too weak: it is on lists of common passwords that attackers try first."
    )
    type_into(qtbot, dialog.repeat_edit, "password1234")
    click_create(qtbot, dialog)
    assert dialog.message() == (
        "Choose a stronger passphrase: it is on lists of common passwords that attackers try first."
    )
    assert not WorkspacePaths(root).looks_like_workspace()

    type_into(qtbot, dialog.passphrase_edit, PASSPHRASE)
    assert dialog.strength_label.text().startswith("✓ Strong enough.")
    type_into(qtbot, dialog.repeat_edit, PASSPHRASE + "!")
    assert dialog.match_label.text() == f"✗ {MISMATCH}"
    click_create(qtbot, dialog)
    assert dialog.message() == MISMATCH
    assert not WorkspacePaths(root).looks_like_workspace()

    type_into(qtbot, dialog.repeat_edit, PASSPHRASE)
    assert dialog.match_label.text() == "✓ The passphrases match."
    with qtbot.waitSignals([dialog.created, dialog.accepted], timeout=10_000):
        click_create(qtbot, dialog)
    workspace = dialog.workspace
    assert isinstance(workspace, Workspace)
    assert workspace.office_name == "Kabora field office"
    assert workspace.office_code == "KAB"
    workspace.close()
    again = open_workspace(root, PASSPHRASE)  # the only user: no name needed to unlock
    assert again.user is not None and again.user.name == "Amina Diallo"
    again.close()


def test_a_short_passphrase_shows_why_while_typing(qtbot, tmp_path, runner):
    dialog = make_dialog(qtbot, tmp_path / "office", runner)
    assert dialog.strength_label.text() == ""
    qtbot.keyClicks(dialog.passphrase_edit, "short")
    assert dialog.strength_label.text() == "✗ Too weak: it is shorter than 12 characters."


def test_the_office_needs_a_name(qtbot, tmp_path, runner):
    dialog = make_dialog(qtbot, tmp_path / "office", runner)
    type_into(qtbot, dialog.user_name_edit, "Amina Diallo")
    type_into(qtbot, dialog.passphrase_edit, PASSPHRASE)
    type_into(qtbot, dialog.repeat_edit, PASSPHRASE)
    click_create(qtbot, dialog)
    assert dialog.message().startswith("Give the office a name")
    assert runner.active == 0


def test_an_office_code_refused_by_storage_is_shown_as_its_sentence(qtbot, tmp_path, runner):
    dialog = make_dialog(qtbot, tmp_path / "office", runner)
    type_into(qtbot, dialog.office_name_edit, "Kabora field office")
    type_into(qtbot, dialog.office_code_edit, "K")
    type_into(qtbot, dialog.user_name_edit, "Amina Diallo")
    type_into(qtbot, dialog.passphrase_edit, PASSPHRASE)
    type_into(qtbot, dialog.repeat_edit, PASSPHRASE)
    click_create(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.message() == ("The office code must be 2 to 8 letters or digits, such as KAB.")
    assert dialog.isVisible()
    assert dialog.workspace is None


def test_the_chosen_office_code_is_kept(qtbot, tmp_path, runner):
    dialog = make_dialog(qtbot, tmp_path / "office", runner)
    type_into(qtbot, dialog.office_name_edit, "Bureau de Kabora")
    type_into(qtbot, dialog.office_code_edit, "kab2")
    type_into(qtbot, dialog.user_name_edit, "Amina Diallo")
    type_into(qtbot, dialog.passphrase_edit, PASSPHRASE)
    type_into(qtbot, dialog.repeat_edit, PASSPHRASE)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        click_create(qtbot, dialog)
    assert dialog.workspace.office_code == "KAB2"
    dialog.workspace.close()


def test_an_existing_workspace_is_not_overwritten(qtbot, workspace_dir, runner):
    dialog = make_dialog(qtbot, workspace_dir, runner)
    type_into(qtbot, dialog.office_name_edit, "Another office")
    type_into(qtbot, dialog.user_name_edit, "Amina Diallo")
    type_into(qtbot, dialog.passphrase_edit, "another horse battery staple")
    type_into(qtbot, dialog.repeat_edit, "another horse battery staple")
    click_create(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert "already exists" in dialog.message()
    open_workspace(workspace_dir, PASSPHRASE).close()


def fill_all_but_the_name(qtbot, dialog: CreateWorkspaceDialog) -> None:
    type_into(qtbot, dialog.office_name_edit, "Kabora field office")
    type_into(qtbot, dialog.passphrase_edit, PASSPHRASE)
    type_into(qtbot, dialog.repeat_edit, PASSPHRASE)


def test_the_first_user_needs_a_name(qtbot, tmp_path, runner):
    root = tmp_path / "office"
    dialog = make_dialog(qtbot, root, runner)
    fill_all_but_the_name(qtbot, dialog)
    type_into(qtbot, dialog.user_name_edit, "   ")
    click_create(qtbot, dialog)
    assert dialog.message() == "Give your name: the one you will type to unlock."
    assert dialog.focusWidget() is dialog.user_name_edit
    assert runner.active == 0
    assert dialog.workspace is None
    assert not root.exists()


def test_a_name_with_a_control_character_is_refused(qtbot, tmp_path, runner):
    root = tmp_path / "office"
    dialog = make_dialog(qtbot, root, runner)
    fill_all_but_the_name(qtbot, dialog)
    dialog.user_name_edit.setText("Amina\x07")  # pasted from somewhere odd
    click_create(qtbot, dialog)
    assert dialog.message() == "The user's name contains a control character (U+0007); remove it."
    assert dialog.focusWidget() is dialog.user_name_edit
    assert runner.active == 0
    assert not root.exists()


def test_the_typed_name_is_the_first_user_a_supervisor_and_the_author(qtbot, tmp_path, runner):
    dialog = make_dialog(qtbot, tmp_path / "office", runner)
    fill_all_but_the_name(qtbot, dialog)
    type_into(qtbot, dialog.user_name_edit, "  Amina   Diallo ")  # stored trimmed
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        click_create(qtbot, dialog)
    ws = dialog.workspace
    assert ws is not None and ws.user is not None
    assert (ws.user.name, ws.user.role) == ("Amina Diallo", "supervisor")
    assert ws.author == "Amina Diallo"
    actors = {entry.actor for entry in audit.entries(ws.conn)}
    assert actors == {"Amina Diallo"}
    ws.close()


def test_the_name_field_says_what_the_name_is_for_and_is_reached_by_keys(qtbot, tmp_path, runner):
    dialog = make_dialog(qtbot, tmp_path / "office", runner)
    assert dialog.user_name_edit.accessibleName() == "Your name"
    assert dialog.user_name_edit.maxLength() == MAX_NAME
    assert dialog.user_name_hint.text() == YOUR_NAME_HINT
    assert dialog.user_name_hint.isVisible()
    for words in ("first user", "supervisor", "audit log", "unlock"):
        assert words in YOUR_NAME_HINT
    # Tab follows the form: office code, your name, passphrase; Alt+Y goes to the name.
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    dialog.office_code_edit.setFocus()
    qtbot.keyClick(dialog.office_code_edit, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.user_name_edit
    qtbot.keyClick(dialog.user_name_edit, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.passphrase_edit
    qtbot.keyClick(dialog.passphrase_edit, Qt.Key.Key_Y, Qt.KeyboardModifier.AltModifier)
    assert dialog.focusWidget() is dialog.user_name_edit
    # The captions of fields with a line under them reach their fields (Alt+P reached none).
    qtbot.keyClick(dialog.user_name_edit, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    assert dialog.focusWidget() is dialog.passphrase_edit


def test_broken_characters_in_a_new_passphrase_are_refused():
    text = "correct horse \ud800 battery"
    assert strength_feedback(text) == f"✗ {UNUSABLE_CHARACTER_MESSAGE}"


def test_show_passphrase_toggles_both_fields(qtbot, tmp_path, runner):
    dialog = make_dialog(qtbot, tmp_path / "office", runner)
    dialog.show_check.setChecked(True)
    assert dialog.passphrase_edit.echoMode() == dialog.passphrase_edit.EchoMode.Normal
    assert dialog.repeat_edit.echoMode() == dialog.repeat_edit.EchoMode.Normal
    dialog.show_check.setChecked(False)
    assert dialog.passphrase_edit.echoMode() == dialog.passphrase_edit.EchoMode.Password


def test_a_verdict_that_wraps_to_a_second_line_is_shown_whole(qtbot, tmp_path, runner):
    """Qt gives a window no minimum height for wrapped text: the dialog grows itself."""
    dialog = make_dialog(qtbot, tmp_path / "office", runner)
    qtbot.waitExposed(dialog)
    # Exactly as tall as it needs with nothing typed yet: no room to spare.
    dialog.resize(dialog.width(), dialog.layout().totalHeightForWidth(dialog.width()))
    qtbot.waitUntil(lambda: dialog.height() == dialog.layout().totalHeightForWidth(dialog.width()))
    label = dialog.strength_label
    type_into(qtbot, dialog.passphrase_edit, PASSPHRASE)
    assert label.heightForWidth(label.width()) > label.fontMetrics().lineSpacing() * 1.5
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
    assert dialog.height() >= dialog.layout().totalHeightForWidth(dialog.width())
