"""A prosecutor who never touches the mouse: a new case, a protected witness, an incident,
a search and the lock, with key presses only, through the real modal dialogs.

Each dialog is shown with its own `exec()`, as in use; a timer plays the person's keys
into whatever has the keyboard focus, exactly as typing would.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QDockWidget, QWidget
from pytestqt.qtbot import QtBot

from storage import queries
from storage.records import Incident, Person
from storage.workspace import Workspace
from ui.case_view import CaseView
from ui.main_window import MainWindow
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def press(
    qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    qtbot.keyClick(focused(), key, modifier)


def type_text(qtbot: QtBot, text: str) -> None:
    qtbot.keyClicks(focused(), text)


def when_a_dialog_opens(qtbot: QtBot, keys: Callable[[QDialog], None]) -> list[str]:
    """Play `keys` into the next modal dialog; the titles of the dialogs played into. A
    dialog the keys did not close is cancelled after a while (so the suite never hangs) and
    its title is marked "left open"."""
    seen: list[str] = []

    def play() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QDialog):
            QTimer.singleShot(10, play)
            return
        if QApplication.activeWindow() is not dialog:  # as a window manager would
            dialog.activateWindow()
            QTimer.singleShot(10, play)
            return
        seen.append(dialog.windowTitle())
        keys(dialog)
        # Owned by the dialog: the timer dies with it and never reaches a later test.
        QTimer.singleShot(3000, dialog, lambda: close_if_open(dialog))

    def close_if_open(dialog: QDialog) -> None:
        if dialog.isVisible():
            seen.append(f"left open: {dialog.windowTitle()}")
            dialog.reject()

    QTimer.singleShot(0, play)
    return seen


def back_to(qtbot: QtBot, window: MainWindow) -> None:
    """The window is active again once a dialog closed, as a window manager would do."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


@pytest.fixture
def window(qtbot: QtBot, ws: Workspace, runner: TaskRunner) -> MainWindow:
    main = MainWindow(ws, prompts=ScriptedPrompts(["Shelling of the Kabora market"]), runner=runner)
    qtbot.addWidget(main)
    main.show()
    main.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main)
    return main


def _case_view(window: MainWindow) -> CaseView:
    dock = next(d for d in window.findChildren(QDockWidget) if d.windowTitle().startswith("Case"))
    view = dock.widget()
    assert isinstance(view, CaseView)
    return view


def _go_to_tab(qtbot: QtBot, view: CaseView, title: str) -> None:
    for _ in range(view.tabs.count()):
        if view.tabs.tabText(view.tabs.currentIndex()) == title:
            return
        press(qtbot, Qt.Key.Key_Tab, CTRL)
    raise AssertionError(f"Ctrl+Tab never reached the {title} tab")


def test_a_case_with_a_protected_witness_and_an_incident_by_keyboard_alone(
    qtbot: QtBot, window: MainWindow, ws: Workspace
) -> None:
    window.table.setFocus()
    press(qtbot, Qt.Key.Key_N, CTRL)  # New case: the title comes through the prompt seam
    qtbot.waitUntil(lambda: window.findChildren(CaseView) != [])
    view = _case_view(window)
    case_id = view.case.id
    assert view.tabs.isAncestorOf(focused()) or focused() is view.tabs  # it took the focus

    _go_to_tab(qtbot, view, "Persons")

    def add_witness(dialog: QDialog) -> None:
        type_text(qtbot, "Amina K.")  # the name field has the focus
        press(qtbot, Qt.Key.Key_R, ALT)  # &Role:
        type_text(qtbot, "w")  # Witness
        press(qtbot, Qt.Key.Key_P, ALT)  # &Protected
        qtbot.wait(150)  # a mnemonic clicks the box after a short animation
        press(qtbot, Qt.Key.Key_Return)

    seen = when_a_dialog_opens(qtbot, add_witness)
    press(qtbot, Qt.Key.Key_A, ALT)  # &Add person…
    qtbot.waitUntil(lambda: len(queries.in_case(ws.conn, Person, case_id)) == 1)
    [person] = queries.in_case(ws.conn, Person, case_id)
    assert seen == ["Add a person — Valise"]
    assert (person.role, person.protection, person.legal_name) == ("witness", "full", "Amina K.")
    assert person.pseudonym.startswith("W-")
    qtbot.waitUntil(lambda: not window._busy)

    back_to(qtbot, window)  # the focus is back on "Add person…", inside the tabs
    _go_to_tab(qtbot, view, "Incidents")

    def add_incident(dialog: QDialog) -> None:
        type_text(qtbot, "Market shelled")  # the title field has the focus
        press(qtbot, Qt.Key.Key_F, ALT)  # &From:
        type_text(qtbot, "2027-03")
        press(qtbot, Qt.Key.Key_Return)

    seen = when_a_dialog_opens(qtbot, add_incident)
    press(qtbot, Qt.Key.Key_I, ALT)  # Add &incident…
    qtbot.waitUntil(lambda: len(queries.in_case(ws.conn, Incident, case_id)) == 1)
    [incident] = queries.in_case(ws.conn, Incident, case_id)
    assert (incident.title, incident.date_from) == ("Market shelled", "2027-03")
    qtbot.waitUntil(lambda: not window._busy)

    back_to(qtbot, window)
    press(qtbot, Qt.Key.Key_F, CTRL)  # the search box, from anywhere in the window
    assert focused() is window.search.box
    type_text(qtbot, "Kabora")
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.search.hits.count() >= 1)

    press(qtbot, Qt.Key.Key_L, CTRL)  # Lock
    assert window.workspace is None
    assert not any(d.isVisible() for d in window.findChildren(QDockWidget))
