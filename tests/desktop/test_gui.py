"""`run_gui`: the first dialog, the main window, and a closed workspace after quitting.

These drive the real start-up path: the dialogs are modal (`exec`), so a timer plays the
person, filling in the dialog that is showing and then quitting from the main window.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from desktop.gui import ask_for_workspace, run_gui, start_folder
from desktop.relock import LockedStart
from storage.paths import default_workspace_dir
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.unlock import UnlockDialog
from ui.main_window import MainWindow
from ui.settings import Settings


def visible(kind: type[QWidget]) -> QWidget | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, kind) and widget.isVisible():
            return widget
    return None


class Person:
    """Polls the screen and performs each step once its widget shows up."""

    def __init__(self, steps: list[tuple[type[QWidget], Callable[[QWidget], None]]]) -> None:
        self.steps = steps
        self.seen: list[str] = []
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._poll)
        self.giving_up = QTimer()
        self.giving_up.setSingleShot(True)
        self.giving_up.timeout.connect(self._give_up)

    def start(self) -> None:
        self.timer.start()
        self.giving_up.start(20_000)

    def _poll(self) -> None:
        if not self.steps:
            self.timer.stop()
            return
        kind, act = self.steps[0]
        widget = visible(kind)
        if widget is not None:
            self.steps.pop(0)
            self.seen.append(kind.__name__)
            act(widget)

    def _give_up(self) -> None:  # never hang the suite: close whatever is open
        self.timer.stop()
        for widget in QApplication.topLevelWidgets():
            widget.close()


def unlock(dialog: UnlockDialog) -> None:
    dialog.passphrase_edit.setText(PASSPHRASE)
    dialog.unlock_button.click()


def quit_app(window: MainWindow) -> None:
    assert window.windowTitle() == "Kabora field office — Valise"
    window.quit_action.trigger()


def test_run_gui_unlocks_shows_the_main_window_and_locks_on_quit(qapp, workspace_dir: Path):
    person = Person([(UnlockDialog, unlock), (MainWindow, quit_app)])
    person.start()
    assert run_gui(workspace_dir) == 0
    assert person.seen == ["UnlockDialog", "MainWindow"]
    open_workspace(workspace_dir, PASSPHRASE).close()  # the lock was released


def test_run_gui_creates_a_workspace_on_first_run(qapp, tmp_path: Path):
    root = tmp_path / "new"

    def create(dialog: CreateWorkspaceDialog) -> None:
        dialog.office_name_edit.setText("Kabora field office")
        dialog.user_name_edit.setText("Amina")
        dialog.passphrase_edit.setText(PASSPHRASE)
        dialog.repeat_edit.setText(PASSPHRASE)
        dialog.create_button.click()

    person = Person([(CreateWorkspaceDialog, create), (MainWindow, quit_app)])
    person.start()
    assert run_gui(root) == 0
    assert person.seen == ["CreateWorkspaceDialog", "MainWindow"]
    with open_workspace(root, PASSPHRASE) as ws:  # the first user is the one named
        assert ws.user is not None
        assert (ws.user.name, ws.user.role) == ("Amina", "supervisor")


def test_quitting_the_first_dialog_exits_cleanly(qapp, workspace_dir: Path):
    person = Person([(UnlockDialog, lambda dialog: dialog.reject())])
    person.start()
    assert run_gui(workspace_dir) == 0
    open_workspace(workspace_dir, PASSPHRASE).close()


def test_the_first_dialog_opens_an_existing_workspace_and_it_is_remembered(
    qapp, tmp_path: Path, workspace_dir: Path
):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    empty = tmp_path / "not-a-workspace"
    empty.mkdir()
    chosen = iter([empty, workspace_dir])

    def open_existing(dialog: CreateWorkspaceDialog) -> None:
        dialog._choose_folder = lambda _parent: next(chosen)
        dialog.open_other_button.click()  # a folder without a workspace: said, and stays
        assert "There is no Valise workspace in" in dialog.message()
        assert dialog.isVisible()
        dialog.open_other_button.click()

    person = Person([(CreateWorkspaceDialog, open_existing), (UnlockDialog, unlock)])
    person.start()
    workspace = ask_for_workspace(tmp_path / "new", settings)
    assert workspace is not None
    try:
        assert workspace.paths.root == workspace_dir
    finally:
        workspace.close()
    assert person.seen == ["CreateWorkspaceDialog", "UnlockDialog"]
    assert settings.last_workspace == workspace_dir.resolve()
    assert start_folder(settings) == workspace_dir.resolve()
    assert not (tmp_path / "new").exists()  # nothing was created where nobody asked


def test_the_unlock_dialog_switches_to_another_workspace(
    qapp, tmp_path: Path, workspace_dir: Path, template_workspace: Path
):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(template_workspace, other)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    first: list[UnlockDialog] = []

    def switch(dialog: UnlockDialog) -> None:
        first.append(dialog)
        assert dialog.open_other_button is not None
        dialog._choose_folder = lambda _parent: other
        dialog.passphrase_edit.setText("typed but not used")
        dialog.open_other_button.click()

    def unlock_other(dialog: UnlockDialog) -> None:
        assert dialog.workspace_dir == other and dialog is not first[0]
        unlock(dialog)

    person = Person([(UnlockDialog, switch), (UnlockDialog, unlock_other)])
    person.start()
    workspace = ask_for_workspace(workspace_dir, settings)
    assert workspace is not None
    workspace.close()
    assert settings.last_workspace == other.resolve()


def test_the_lock_dialog_of_the_window_offers_no_other_workspace(qapp, workspace_dir: Path):
    dialog = UnlockDialog(workspace_dir)
    assert dialog.open_other_button is None
    dialog.deleteLater()


@pytest.mark.parametrize("garbage", ["", "   ", "a\x00b", 12, "/no/such/folder"])
def test_a_garbled_or_gone_remembered_folder_falls_back_to_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, garbage: object
):
    monkeypatch.delenv("VALISE_WORKSPACE", raising=False)
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    store.setValue("start/last_workspace", garbage)
    assert start_folder(Settings(store)) == default_workspace_dir()


def test_the_environment_wins_over_the_remembered_folder(
    tmp_path: Path, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_last_workspace(workspace_dir)
    monkeypatch.setenv("VALISE_WORKSPACE", str(tmp_path / "elsewhere"))
    assert start_folder(settings) == tmp_path / "elsewhere"


def test_valise_with_only_a_workspace_option_starts_the_window_on_it(qapp, workspace_dir: Path):
    from desktop.cli import run_cli

    person = Person([(UnlockDialog, unlock), (MainWindow, quit_app)])
    person.start()
    assert run_cli(["--workspace", str(workspace_dir)]) == 0
    assert person.seen == ["UnlockDialog", "MainWindow"]


def test_a_lock_ends_run_gui_closed_and_asks_for_a_locked_restart(qapp, workspace_dir: Path):
    """Ctrl+L in the real start-up path: the workspace is closed as on quitting, then the
    relaunch step (here a recorder, in the application `os.execv`) gets the folder."""
    restarts: list[LockedStart] = []

    def lock(window: MainWindow) -> None:
        window.lock_action.trigger()

    person = Person([(UnlockDialog, unlock), (MainWindow, lock)])
    person.start()
    assert run_gui(workspace_dir, relaunch=restarts.append) == 0
    assert person.seen == ["UnlockDialog", "MainWindow"]
    assert [start.folder for start in restarts] == [workspace_dir]
    assert restarts[0].reason == ""
    assert restarts[0].view.geometry  # the window's place and size, for the next image
    open_workspace(workspace_dir, PASSPHRASE).close()  # the folder lock was released


def test_a_locked_start_asks_for_that_folder_and_says_why(qapp, workspace_dir: Path):
    seen: list[str] = []

    def read_and_quit(dialog: UnlockDialog) -> None:
        seen.append(dialog.message())
        seen.append(str(dialog.workspace_dir))
        seen.append(str(dialog.open_other_button))
        dialog.reject()

    person = Person([(UnlockDialog, read_and_quit)])
    person.start()
    locked = LockedStart(workspace_dir, "Locked after 10 minutes without use.")
    assert run_gui(locked=locked, relaunch=lambda _start: None) == 0
    assert seen == ["Locked after 10 minutes without use.", str(workspace_dir), "None"]


def test_a_locked_start_offers_the_user_who_was_unlocked(qapp, workspace_dir: Path):
    """The name crosses the restart (desktop.relock) and fills the User field again."""
    seen: list[str] = []

    def read_and_quit(dialog: UnlockDialog) -> None:
        seen.append(dialog.user_edit.text())
        dialog.reject()

    person = Person([(UnlockDialog, read_and_quit)])
    person.start()
    locked = LockedStart(workspace_dir, "Locked after 10 minutes without use.", user="Supervisor")
    assert run_gui(locked=locked, relaunch=lambda _start: None) == 0
    assert seen == ["Supervisor"]
