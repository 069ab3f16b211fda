"""The Users view (Tools › Users…): a supervisor adds, re-keys and removes users through real
widgets, the writes run on the worker, refusals are sentences, and the person added can then
unlock; anyone else finds the entry disabled, with the reason."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import audit, users
from storage.errors import WrongPassphrase
from storage.paths import WorkspacePaths
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from ui.dialogs.unlock import UnlockDialog
from ui.dialogs.user_form import UserForm
from ui.main_window import MainWindow
from ui.models.user_model import UserModel
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner
from ui.users_view import ONLY_SUPERVISORS, UsersView

BASHIR = "Bashir"
BASHIR_PASSPHRASE = "Bashir keeps his own long passphrase"
NEW_PASSPHRASE = "a fresh passphrase for a forgetful man"


@pytest.fixture
def prompts() -> ScriptedPrompts:
    return ScriptedPrompts()


@pytest.fixture
def window(qtbot: QtBot, ws: Workspace, prompts: ScriptedPrompts, runner: TaskRunner) -> MainWindow:
    """The window of the workspace's one user, "Supervisor" (tests/conftest.py)."""
    main = MainWindow(ws, prompts=prompts, runner=runner)
    qtbot.addWidget(main)
    main.show()
    return main


def users_view(qtbot: QtBot, window: MainWindow) -> UsersView:
    """Tools › Users…, as the menu entry does it."""
    window.users_action.trigger()
    dock = window._docks["users"]
    view = dock.widget()
    assert isinstance(view, UsersView)
    qtbot.waitExposed(view)
    return view


def files_digest(root: Path) -> str:
    """The key file and the database, byte for byte."""
    paths = WorkspacePaths(root)
    return hashlib.sha256(paths.keyfile.read_bytes() + paths.database.read_bytes()).hexdigest()


def click(qtbot: QtBot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def click_row(qtbot: QtBot, view: UsersView, name: str) -> None:
    row = view.model.row_of(name)
    assert row >= 0, name
    where = view.table.visualRect(view.model.index(row, UserModel.NAME)).center()
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert view.selected_user() is not None and view.selected_user().name == name


def fill_form(qtbot: QtBot, form: UserForm, passphrase: str, repeat: str | None = None) -> None:
    qtbot.keyClicks(form.passphrase_edit, passphrase)
    qtbot.keyClicks(form.repeat_edit, passphrase if repeat is None else repeat)


def submit(qtbot: QtBot, view: UsersView, form: UserForm) -> None:
    """Click the form's OK and wait until its write on the worker has ended."""
    click(qtbot, form.ok_button)
    qtbot.waitUntil(lambda: not form.working and not view._working, timeout=10_000)


def add_through_the_form(qtbot: QtBot, view: UsersView, name: str, role_key: str = "") -> None:
    click(qtbot, view.add_button)
    form = view.form
    assert isinstance(form, UserForm)
    qtbot.waitExposed(form)
    qtbot.keyClicks(form.name_edit, name)
    if role_key:
        qtbot.keyClicks(form.role_box, role_key)  # a combo box picks by the first letter
    fill_form(qtbot, form, BASHIR_PASSPHRASE)
    submit(qtbot, view, form)


def test_the_form_shows_progress_while_the_write_runs(
    qtbot: QtBot, window: MainWindow, ws: Workspace
):
    """The key derivation runs on the worker: the form says so with a busy bar, its fields
    wait, and the window keeps off the database until the outcome is back."""
    view = users_view(qtbot, window)
    click(qtbot, view.add_button)
    form = view.form
    assert form is not None
    qtbot.keyClicks(form.name_edit, BASHIR)
    fill_form(qtbot, form, BASHIR_PASSPHRASE)
    click(qtbot, form.ok_button)
    assert form.working and form.progress_bar.isVisible()  # the outcome is not back yet
    assert form.message().startswith("Adding Bashir…")
    assert not form.passphrase_edit.isEnabled() and not form.cancel_button.isEnabled()
    assert window._busy and not window.table.isEnabled()
    form.reject()  # Escape or the close button: ignored until the write ends
    assert form.isVisible()
    qtbot.waitUntil(lambda: view.form is None, timeout=10_000)
    assert not window._busy and window.table.isEnabled()
    assert [u.name for u in users.all_users(ws.conn)] == [BASHIR, "Supervisor"]


@pytest.mark.qt_log_level_fail("WARNING")  # Qt's own tester reports through warnings
@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_model_passes_qtmodeltester(qtmodeltester: ModelTester, ws: Workspace, force_py: bool):
    users.add_user(ws, BASHIR, users.INVESTIGATOR, BASHIR_PASSPHRASE)
    users.add_user(ws, "Chen", users.IT, BASHIR_PASSPHRASE + " too")
    users.remove_user(ws, "Chen")
    model = UserModel(ws.conn)
    qtmodeltester.check(model, force_py=force_py)
    rows = [
        [model.index(r, c).data() for c in (UserModel.NAME, UserModel.ROLE, UserModel.ADDED_BY)]
        for r in range(model.rowCount())
    ]
    assert rows == [
        [BASHIR, "investigator", "Supervisor"],
        ["Supervisor", "supervisor", "Supervisor"],
        ["Chen", "IT staff", "Supervisor"],  # removed users last, still listed
    ]
    removed = model.index(2, UserModel.REMOVED).data()
    assert removed.endswith("by Supervisor")
    assert model.index(2, 0).data(UserModel.UserRole).active is False


def test_the_status_bar_says_who_is_signed_in_as_what(window: MainWindow):
    assert window.user_label.text() == "Supervisor · supervisor"
    assert window.user_label.accessibleName() == "Signed in as"
    window.lock()
    assert window.user_label.text() == ""  # no name left on screen while locked
    assert window.unlock_dialog is not None
    assert window.unlock_dialog.user_edit.text() == "Supervisor"  # offered again
    window.unlock_dialog.reject()


def test_a_supervisor_adds_a_user_who_can_then_unlock_as_that_user(
    qtbot: QtBot, window: MainWindow, ws: Workspace, runner: TaskRunner, workspace_dir: Path
):
    view = users_view(qtbot, window)
    assert window.users_action.isEnabled()
    busy: list[bool] = []
    view.busy.connect(busy.append)
    add_through_the_form(qtbot, view, "  Bashir ", role_key="p")  # trimmed as stored
    assert view.form is None  # the dialog closed on success
    assert busy == [True, False]  # the window kept off the database meanwhile
    assert not window._busy
    assert view.message() == "Bashir was added as protection officer."
    row = view.model.row_of(BASHIR)
    assert view.model.index(row, UserModel.ROLE).data() == "protection officer"
    assert view.selected_user().name == BASHIR
    [entry] = audit.entries(ws.conn, action="user added")[:1]
    assert (entry.actor, entry.subject) == ("Supervisor", BASHIR)

    window.shutdown()  # closes the workspace: the folder lock goes with it
    dialog = UnlockDialog(workspace_dir, runner=runner, user="")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.user_edit, BASHIR)
    qtbot.keyClicks(dialog.passphrase_edit, BASHIR_PASSPHRASE)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        click(qtbot, dialog.unlock_button)
    with dialog.workspace as bashir:
        assert bashir.user is not None
        assert (bashir.user.name, bashir.user.role) == (BASHIR, users.PROTECTION_OFFICER)


def test_a_name_already_taken_is_refused_in_the_form_and_nothing_changes(
    qtbot: QtBot, window: MainWindow, ws: Workspace, workspace_dir: Path
):
    view = users_view(qtbot, window)
    before = files_digest(workspace_dir)
    add_through_the_form(qtbot, view, "supervisor")  # any case: the same person
    form = view.form
    assert form is not None and form.isVisible()  # open, to fix the name
    assert form.message() == "There is already a user called 'supervisor'. Nothing changed."
    assert [u.name for u in users.all_users(ws.conn)] == ["Supervisor"]
    assert audit.entries(ws.conn, action="user added") == []
    assert files_digest(workspace_dir) == before
    click(qtbot, form.cancel_button)
    assert view.form is None


def test_a_weak_or_mismatched_passphrase_is_refused_before_any_work(
    qtbot: QtBot, window: MainWindow, runner: TaskRunner, ws: Workspace
):
    view = users_view(qtbot, window)
    click(qtbot, view.add_button)
    form = view.form
    assert form is not None
    qtbot.keyClicks(form.name_edit, BASHIR)
    fill_form(qtbot, form, "password123")
    click(qtbot, form.ok_button)
    assert form.message().startswith("Choose a stronger passphrase:")
    assert form.focusWidget() is form.passphrase_edit  # to fix it there
    form.passphrase_edit.clear()
    form.repeat_edit.clear()
    fill_form(qtbot, form, BASHIR_PASSPHRASE, repeat=BASHIR_PASSPHRASE + "!")
    click(qtbot, form.ok_button)
    assert form.message().startswith("The two passphrases differ.")
    assert runner.active == 0 and not form.working
    assert [u.name for u in users.all_users(ws.conn)] == ["Supervisor"]
    click(qtbot, form.cancel_button)


def test_a_supervisor_sets_the_passphrase_of_a_user_who_forgot_it(
    qtbot: QtBot, window: MainWindow, ws: Workspace, workspace_dir: Path
):
    users.add_user(ws, BASHIR, users.INVESTIGATOR, BASHIR_PASSPHRASE)
    view = users_view(qtbot, window)
    assert not view.passphrase_button.isEnabled()  # nobody selected yet
    click_row(qtbot, view, BASHIR)
    click(qtbot, view.passphrase_button)
    form = view.form
    assert form is not None and not form.name_edit.isVisible()  # whose: fixed, not typed
    fill_form(qtbot, form, NEW_PASSPHRASE)
    submit(qtbot, view, form)
    assert view.message() == "Bashir was given a new passphrase."
    assert [e.subject for e in audit.entries(ws.conn, action="passphrase set")] == [BASHIR]
    window.shutdown()
    with pytest.raises(WrongPassphrase):
        open_workspace(workspace_dir, BASHIR_PASSPHRASE, user=BASHIR)
    with open_workspace(workspace_dir, NEW_PASSPHRASE, user=BASHIR) as again:
        assert again.user is not None and again.user.name == BASHIR


def test_removing_a_user_takes_their_way_in_and_keeps_their_name(
    qtbot: QtBot, window: MainWindow, ws: Workspace, prompts: ScriptedPrompts, workspace_dir: Path
):
    users.add_user(ws, BASHIR, users.INVESTIGATOR, BASHIR_PASSPHRASE)
    view = users_view(qtbot, window)
    click_row(qtbot, view, BASHIR)
    prompts.answers.append(True)  # "Remove Bashir (investigator)?" Yes
    click(qtbot, view.remove_button)
    qtbot.waitUntil(lambda: view.message() == "Bashir was removed.", timeout=10_000)
    assert prompts.asked[-1].kind == "confirm" and "Remove Bashir" in prompts.asked[-1].text
    assert not window._busy
    row = view.model.row_of(BASHIR)
    assert row == -1  # no active user of that name...
    names = [view.model.index(r, 0).data() for r in range(view.model.rowCount())]
    assert names == ["Supervisor", BASHIR]  # ...but still listed, as removed
    assert view.model.index(1, UserModel.REMOVED).data().endswith("by Supervisor")
    assert [e.subject for e in audit.entries(ws.conn, action="user removed")] == [BASHIR]
    window.shutdown()
    with pytest.raises(WrongPassphrase):
        open_workspace(workspace_dir, BASHIR_PASSPHRASE, user=BASHIR)


def test_a_removal_answered_no_changes_nothing(
    qtbot: QtBot, window: MainWindow, ws: Workspace, prompts: ScriptedPrompts, workspace_dir: Path
):
    users.add_user(ws, BASHIR, users.INVESTIGATOR, BASHIR_PASSPHRASE)
    view = users_view(qtbot, window)
    click_row(qtbot, view, BASHIR)
    before = files_digest(workspace_dir)
    prompts.answers.append(False)
    click(qtbot, view.remove_button)
    assert [u.name for u in users.all_users(ws.conn)] == [BASHIR, "Supervisor"]
    assert files_digest(workspace_dir) == before


def test_removing_yourself_is_refused_with_the_sentence(
    qtbot: QtBot, window: MainWindow, ws: Workspace, prompts: ScriptedPrompts, workspace_dir: Path
):
    users.add_user(ws, BASHIR, users.SUPERVISOR, BASHIR_PASSPHRASE)
    view = users_view(qtbot, window)
    click_row(qtbot, view, "Supervisor")
    before = files_digest(workspace_dir)
    prompts.answers.append(True)
    click(qtbot, view.remove_button)
    refusal = "You cannot remove yourself; another supervisor can."
    qtbot.waitUntil(lambda: view.message() == refusal, timeout=10_000)
    assert (prompts.asked[-1].kind, prompts.asked[-1].text) == ("warn", refusal)
    assert [u.name for u in users.all_users(ws.conn)] == [BASHIR, "Supervisor"]
    assert audit.entries(ws.conn, action="user removed") == []
    assert files_digest(workspace_dir) == before
    assert view.remove_button.isEnabled()  # the buttons are back


@pytest.fixture
def investigator_window(
    qtbot: QtBot, workspace_dir: Path, prompts: ScriptedPrompts, runner: TaskRunner
) -> Iterator[MainWindow]:
    """The window of Bashir, an investigator."""
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        users.add_user(ws, BASHIR, users.INVESTIGATOR, BASHIR_PASSPHRASE)
    bashir = open_workspace(workspace_dir, BASHIR_PASSPHRASE, user=BASHIR)
    main = MainWindow(bashir, prompts=prompts, runner=runner)
    qtbot.addWidget(main)
    main.show()
    yield main
    main.shutdown()


def test_the_users_entry_is_disabled_for_an_investigator(
    qtbot: QtBot, investigator_window: MainWindow
):
    window = investigator_window
    assert window.user_label.text() == "Bashir · investigator"
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    assert window.users_action in tools.actions()
    assert tools.toolTipsVisible()  # the reason shows on the disabled entry
    assert not window.users_action.isEnabled()
    assert window.users_action.toolTip() == ONLY_SUPERVISORS
    window.show_users()  # even asked directly (a stray shortcut), nothing opens
    assert "users" not in window._docks
    conn = window.workspace.conn
    assert audit.entries(conn, action="refused") == []  # nothing was tried


def test_the_users_entry_comes_back_for_a_supervisor_after_unlocking(window: MainWindow):
    assert window.users_action.isEnabled()
    assert window.users_action.toolTip().startswith("Who may unlock this workspace")


def test_the_add_user_forms_captions_move_the_focus_to_their_fields(
    qtbot: QtBot, window: MainWindow
):
    """Alt+R, Alt+P and Alt+E reach the role, the passphrase and its repetition (their
    captions pointed at the box under each field before, and the keys did nothing)."""
    view = users_view(qtbot, window)
    click(qtbot, view.add_button)
    form = view.form
    assert isinstance(form, UserForm)
    qtbot.waitExposed(form)
    form.activateWindow()
    form.name_edit.setFocus()
    qtbot.waitUntil(form.name_edit.hasFocus, timeout=2_000)
    for key, field in (
        (Qt.Key.Key_R, form.role_box),
        (Qt.Key.Key_P, form.passphrase_edit),
        (Qt.Key.Key_E, form.repeat_edit),
    ):
        qtbot.keyClick(form.focusWidget(), key, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(lambda f=field: f.hasFocus(), timeout=2_000)
    form.reject()
