"""Enter and Escape in a dialog that works on a worker: Enter does what the field asked,
and keys pressed while the work runs press nothing.

Each test makes its dialog the active window, as a window manager does, and sends real key
events to the widget that has the keyboard focus, so they travel the dialog's own event
path (field, then `QDialog.keyPressEvent`) as typed keys do. Calling the slot, or sending
keys to a window that is not active, never showed that Enter quit Valise: the field being
disabled moved the focus to Quit, which then took the Enter.

`held_runner` keeps the work queued until the test releases it, so "while busy" lasts as
long as the test needs, however fast the machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QThreadPool
from PySide6.QtWidgets import QApplication, QDialog, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from storage.keyfile import FAST_INSECURE_KDF
from storage.paths import WorkspacePaths
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.unlock import UnlockDialog
from ui.main_window import MainWindow
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

WRONG = "not the passphrase at all"


class HeldRunner(TaskRunner):
    """A runner with one worker, kept busy until `release()`: work started meanwhile
    waits in the queue, so the dialog that started it stays busy."""

    def __init__(self) -> None:
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(1)
        super().__init__(self.pool)
        self._gate = threading.Event()
        self.start(lambda _token, _sink: self._gate.wait(30))

    def release(self) -> None:
        """Let the queued work run."""
        self._gate.set()


@pytest.fixture
def held_runner(qapp: object) -> Iterator[HeldRunner]:
    held = HeldRunner()
    yield held
    held.release()
    held.pool.waitForDone(30_000)
    QCoreApplication.processEvents()


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def press(qtbot: QtBot, key: Qt.Key) -> None:
    """Press and release `key` on whatever has the keyboard focus, as typing does."""
    qtbot.keyClick(focused(), key)


def show_active(qtbot: QtBot, dialog: QDialog) -> None:
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)


def unlock_dialog(qtbot: QtBot, root: Path, runner: TaskRunner) -> UnlockDialog:
    dialog = UnlockDialog(root, runner=runner)
    show_active(qtbot, dialog)
    assert focused() is dialog.passphrase_edit
    return dialog


def create_dialog(qtbot: QtBot, root: Path, runner: TaskRunner) -> CreateWorkspaceDialog:
    dialog = CreateWorkspaceDialog(root, kdf=FAST_INSECURE_KDF, runner=runner)
    show_active(qtbot, dialog)
    assert focused() is dialog.office_name_edit
    qtbot.keyClicks(dialog.office_name_edit, "Kabora field office")
    press(qtbot, Qt.Key.Key_Tab)  # to the office code, left empty
    press(qtbot, Qt.Key.Key_Tab)
    assert focused() is dialog.user_name_edit
    qtbot.keyClicks(dialog.user_name_edit, "Amina")
    dialog.passphrase_edit.setFocus()
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    dialog.repeat_edit.setFocus()
    qtbot.keyClicks(dialog.repeat_edit, PASSPHRASE)
    return dialog


def assert_no_button_takes_enter(dialog: QDialog) -> None:
    """While busy: the focus rests on the dialog and no button is default by focus."""
    assert focused() is dialog
    for button in dialog.findChildren(QPushButton):
        assert not button.autoDefault(), button.text()
        assert not (button.isDefault() and button.isEnabled()), button.text()


# -- the unlock dialog ---------------------------------------------------------------------


def test_enter_in_the_passphrase_field_unlocks_and_the_dialog_is_accepted(
    qtbot: QtBot, workspace_dir: Path, runner: TaskRunner
) -> None:
    dialog = unlock_dialog(qtbot, workspace_dir, runner)
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    rejected: list[bool] = []
    dialog.rejected.connect(lambda: rejected.append(True))
    with qtbot.waitSignals([dialog.unlocked, dialog.accepted], timeout=10_000):
        press(qtbot, Qt.Key.Key_Return)
    assert rejected == []
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert isinstance(dialog.workspace, Workspace)
    dialog.workspace.close()


def test_enter_and_escape_while_the_passphrase_is_checked_press_nothing(
    qtbot: QtBot, workspace_dir: Path, held_runner: HeldRunner
) -> None:
    """Impatient keys (Enter again, Escape, Tab then Enter) neither quit nor start a second
    check; the unlock that was asked for completes."""
    dialog = unlock_dialog(qtbot, workspace_dir, held_runner)
    rejected: list[bool] = []
    dialog.rejected.connect(lambda: rejected.append(True))
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    press(qtbot, Qt.Key.Key_Enter)  # the keypad's Enter
    assert dialog.busy
    assert_no_button_takes_enter(dialog)
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Escape, Qt.Key.Key_Tab, Qt.Key.Key_Return):
        press(qtbot, key)
        qtbot.wait(20)
    assert dialog.isVisible() and dialog.busy
    assert rejected == []
    assert held_runner.active == 2  # the gate and one check, no second check
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        held_runner.release()
    assert isinstance(dialog.workspace, Workspace)
    dialog.workspace.close()


def test_after_a_wrong_passphrase_enter_the_field_has_the_focus_with_its_text_selected(
    qtbot: QtBot, workspace_dir: Path, runner: TaskRunner
) -> None:
    dialog = unlock_dialog(qtbot, workspace_dir, runner)
    qtbot.keyClicks(dialog.passphrase_edit, WRONG)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.message().startswith("Wrong passphrase.")
    assert dialog.isVisible()
    assert focused() is dialog.passphrase_edit
    assert dialog.passphrase_edit.selectedText() == WRONG
    assert dialog.quit_button.autoDefault()  # Tab to Quit and Enter still quits
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)  # replaces the selected text
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        press(qtbot, Qt.Key.Key_Return)
    assert isinstance(dialog.workspace, Workspace)
    dialog.workspace.close()


def test_enter_in_the_unlock_dialog_after_ctrl_l_reopens_the_window(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    dialog = window.unlock_dialog
    assert isinstance(dialog, UnlockDialog) and window.workspace is None
    dialog.activateWindow()  # a window manager activates the new dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    qtbot.keyClicks(focused(), PASSPHRASE)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.workspace is not None, timeout=10_000)
    assert window.isVisible()
    assert window.windowTitle() == "Kabora field office — Valise"


# -- the first-run dialog ------------------------------------------------------------------


def test_enter_in_the_repeat_field_creates_the_workspace_and_the_dialog_is_accepted(
    qtbot: QtBot, tmp_path: Path, runner: TaskRunner
) -> None:
    root = tmp_path / "office"
    dialog = create_dialog(qtbot, root, runner)
    with qtbot.waitSignals([dialog.created, dialog.accepted], timeout=10_000):
        press(qtbot, Qt.Key.Key_Return)
    assert isinstance(dialog.workspace, Workspace)
    dialog.workspace.close()
    open_workspace(root, PASSPHRASE).close()


def test_escape_while_the_workspace_is_created_does_not_quit_half_way(
    qtbot: QtBot, tmp_path: Path, held_runner: HeldRunner
) -> None:
    """Escape (or Enter again) during the creation is not a Quit: the workspace being
    written is finished and opened, not left behind by a dialog that said it quit."""
    root = tmp_path / "office"
    dialog = create_dialog(qtbot, root, held_runner)
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.busy
    assert_no_button_takes_enter(dialog)
    assert not dialog.user_name_edit.isEnabled()  # the name is fixed with the rest
    for key in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Space):
        press(qtbot, key)
    assert dialog.isVisible()
    assert not dialog.show_check.isChecked()  # the passphrase was not shown either
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        held_runner.release()
    assert isinstance(dialog.workspace, Workspace)
    dialog.workspace.close()
    assert WorkspacePaths(root).looks_like_workspace()


def test_a_refused_creation_gives_the_focus_back_to_the_field_enter_was_pressed_in(
    qtbot: QtBot, workspace_dir: Path, runner: TaskRunner
) -> None:
    dialog = create_dialog(qtbot, workspace_dir, runner)  # a workspace is already there
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert "already exists" in dialog.message()
    assert dialog.isVisible()
    assert focused() is dialog.repeat_edit
    assert dialog.cancel_button.autoDefault()
    open_workspace(workspace_dir, PASSPHRASE).close()


DIALOGS_COLLECTED = """
import gc, sys, tempfile
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.unlock import UnlockDialog
folder = Path(tempfile.mkdtemp())
for make in (UnlockDialog, CreateWorkspaceDialog):
    for ending in ("close", "deleteLater", "reject"):
        dialog = make(folder)
        dialog.show()
        app.processEvents()
        getattr(dialog, ending)()
        del dialog
        gc.collect()
        app.processEvents()
print("collected")
"""


def test_a_dialog_collected_by_python_sends_its_last_events_through_its_filters_quietly(
    tmp_path: Path,
) -> None:
    """When Python collects a dialog, it may clear its key and size filters' attributes
    while Qt still sends the dying dialog events through them; each such event raised
    AttributeError ('BusyKeys' object has no attribute '_busy') on stderr."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(root))
    done = subprocess.run(
        [sys.executable, "-c", DIALOGS_COLLECTED],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "collected" in done.stdout
    assert "Error calling Python override" not in done.stderr
    assert "AttributeError" not in done.stderr
