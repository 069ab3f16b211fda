"""`run_gui`: the first dialog, the main window, and a closed workspace after quitting.

These drive the real start-up path: the dialogs are modal (`exec`), so a timer plays the
person, filling in the dialog that is showing and then quitting from the main window.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from desktop.gui import run_gui
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.unlock import UnlockDialog
from ui.main_window import MainWindow


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
    assert window.windowTitle() == "Valise — Kabora field office"
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
        dialog.passphrase_edit.setText(PASSPHRASE)
        dialog.repeat_edit.setText(PASSPHRASE)
        dialog.create_button.click()

    person = Person([(CreateWorkspaceDialog, create), (MainWindow, quit_app)])
    person.start()
    assert run_gui(root) == 0
    assert person.seen == ["CreateWorkspaceDialog", "MainWindow"]
    open_workspace(root, PASSPHRASE).close()


def test_quitting_the_first_dialog_exits_cleanly(qapp, workspace_dir: Path):
    person = Person([(UnlockDialog, lambda dialog: dialog.reject())])
    person.start()
    assert run_gui(workspace_dir) == 0
    open_workspace(workspace_dir, PASSPHRASE).close()
