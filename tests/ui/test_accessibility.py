"""Every control a person can reach has a name a screen reader can say, and every action
of the window is reachable from the keyboard.

A control is named when it has an accessible name, a label whose buddy it is (the label's
text is then read), or, for a button, its own text. The walk covers the main window with
a case open and every docked view, and each dialog on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

from storage import cases, queries
from storage.records import Note, Person
from storage.workspace import Workspace
from sync.cards import own_card
from ui.case_tabs.evidence import CustodyEventDialog
from ui.case_tabs.notes import AddNoteDialog
from ui.case_tabs.persons import AddPersonDialog
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.element_form import ElementForm
from ui.dialogs.incident_form import IncidentForm
from ui.dialogs.note_form import EditNoteDialog
from ui.dialogs.person_form import EditPersonDialog
from ui.dialogs.settings import SettingsDialog
from ui.dialogs.unlock import UnlockDialog
from ui.main_window import MainWindow
from ui.peers_view import AddPeerDialog
from ui.prompts import ScriptedPrompts
from ui.settings import Settings
from ui.tasks import TaskRunner

CONTROLS = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractItemView,
    QPlainTextEdit,
    QTextEdit,
    QAbstractSpinBox,
)


def _is_qt_internal(widget: QWidget) -> bool:
    """Parts Qt builds inside other controls, which Qt names itself: a combo box's line
    edit and popup, a dock's title buttons, a tab bar's scroll arrows, a table's corner
    button, a line edit's clear button."""
    parent = widget.parentWidget()
    inner_classes = ("QDockWidgetTitleButton", "QLineEditIconButton", "QTableCornerButton")
    if type(widget).__name__ in inner_classes or widget.metaObject().className() in (inner_classes):
        return True
    while parent is not None:
        if isinstance(parent, QComboBox | QTabBar | QAbstractSpinBox):
            return True
        if isinstance(parent, QAbstractItemView) and widget is not parent:
            return True  # editors and corner buttons of views
        parent = parent.parentWidget()
    return widget.objectName().startswith("qt_")


def reachable_controls(root: QWidget) -> list[QWidget]:
    """The controls under `root` that take focus, without the parts Qt builds inside."""
    return [
        widget
        for widget in root.findChildren(QWidget)
        if isinstance(widget, CONTROLS)
        and not _is_qt_internal(widget)
        and widget.focusPolicy() != Qt.FocusPolicy.NoFocus
    ]


def unnamed_controls(root: QWidget) -> list[str]:
    """The reachable controls under `root` that nothing names, described for the message."""
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy()}
    missing = []
    for widget in reachable_controls(root):
        named = bool(widget.accessibleName().strip()) or id(widget) in buddies
        if isinstance(widget, QAbstractButton):
            named = named or bool(widget.text().replace("&", "").strip())
        if not named:
            where = widget.parentWidget()
            missing.append(
                f"{type(widget).__name__} in {type(where).__name__ if where else '-'}"
                f" (tooltip {widget.toolTip()!r}, placeholder"
                f" {getattr(widget, 'placeholderText', lambda: '')()!r})"
            )
    return missing


def test_the_walk_finds_a_control_nothing_names(qtbot) -> None:
    root = QWidget()
    qtbot.addWidget(root)
    unnamed, labelled, named = QLineEdit(root), QLineEdit(root), QLineEdit(root)
    QLabel("&Office:", root).setBuddy(labelled)
    named.setAccessibleName("Pseudonym")
    assert [w for w in reachable_controls(root)] == [unnamed, labelled, named]
    assert unnamed_controls(root) == ["QLineEdit in QWidget (tooltip '', placeholder '')"]


@pytest.fixture
def full_window(qtbot, ws: Workspace, runner: TaskRunner) -> MainWindow:
    """The window with a case open (a person, a note, an incident, an element, evidence)
    and every docked view shown."""
    case_id = cases.add_case(ws, "Shelling of the Varosa market")
    cases.add_person(ws, case_id, "witness", name="Ana", protected=True)
    cases.add_note(ws, case_id, "Seen at the gate")
    cases.add_incident(ws, case_id, "Shelling", date_from="2027-03")
    cases.add_element(ws, case_id, "Attack on civilians", "Directed against civilians")
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    window.open_case(case_id)
    window.show_sync_center()
    window.show_peers()
    window.show_conflicts()
    window.show_parked()
    window.show_held_back()
    window.show_audit()
    qtbot.wait(50)  # the views start their first reads from the event loop
    qtbot.waitUntil(lambda: runner.active == 0 and not window._busy)
    return window


def test_every_control_of_the_window_and_its_views_is_named(full_window: MainWindow) -> None:
    docks = [d.windowTitle() for d in full_window.findChildren(QDockWidget)]
    assert {"Sync centre", "Peers", "Conflicts", "Parked", "Audit log"} <= set(docks)
    assert any(title.startswith("Case ") for title in docks)
    assert len(reachable_controls(full_window)) > 60  # the walk sees the views' controls
    assert unnamed_controls(full_window) == []


def test_every_menu_action_has_a_shortcut_or_a_mnemonic(full_window: MainWindow) -> None:
    for menu_action in full_window.menuBar().actions():
        assert "&" in menu_action.text(), menu_action.text()
        menu = menu_action.menu()
        for action in menu.actions():
            if action.isSeparator():
                continue
            reachable = "&" in action.text() or not action.shortcut().isEmpty()
            assert reachable, action.text()


def _a_person(ws: Workspace) -> Person:
    case_id = cases.add_case(ws, "Shelling of the Varosa market")
    person_id = cases.add_person(ws, case_id, "witness", name="Ana", protected=True)
    return queries.get(ws.conn, Person, person_id)


def _a_note(ws: Workspace) -> Note:
    case_id = cases.add_case(ws, "Shelling of the Varosa market")
    return queries.get(ws.conn, Note, cases.add_note(ws, case_id, "Seen at the gate"))


DIALOGS: dict[str, Callable[[Path, Workspace], QDialog]] = {
    "settings": lambda _d, _ws: SettingsDialog(Settings(QSettings())),
    "unlock": lambda d, _ws: UnlockDialog(d),
    "create workspace": lambda d, _ws: CreateWorkspaceDialog(d.parent / "new"),
    "add person": lambda _d, _ws: AddPersonDialog(),
    "add note": lambda _d, _ws: AddNoteDialog(),
    "custody event": lambda _d, _ws: CustodyEventDialog(["transfer", "seal"]),
    "add peer": lambda _d, ws: AddPeerDialog(own_card(ws)),
    "incident form": lambda _d, _ws: IncidentForm(None),
    "element form": lambda _d, _ws: ElementForm(None, charges={"Murder": "Art. 8"}),
    "edit person (identity shown)": lambda _d, ws: EditPersonDialog(
        _a_person(ws), identity_shown=True
    ),
    "edit note": lambda _d, ws: EditNoteDialog(_a_note(ws)),
}


@pytest.mark.parametrize("name", sorted(DIALOGS))
def test_every_control_of_each_dialog_is_named(
    qtbot, ws: Workspace, workspace_dir: Path, name: str
) -> None:
    dialog = DIALOGS[name](workspace_dir, ws)
    qtbot.addWidget(dialog)
    assert len(reachable_controls(dialog)) >= 2
    assert unnamed_controls(dialog) == []


def _tab_through(qtbot, start: QWidget, presses: int) -> list[QWidget]:
    """Press Tab `presses` times from `start`; the widgets that had the focus."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    visited = []
    for _ in range(presses):
        focused = QApplication.focusWidget()
        assert focused is not None
        visited.append(focused)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    return visited


def test_tab_reaches_every_control_of_each_case_tab_and_no_text_box_traps_it(
    qtbot, full_window: MainWindow
) -> None:
    full_window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is full_window)
    dock = next(
        d for d in full_window.findChildren(QDockWidget) if d.windowTitle().startswith("Case ")
    )
    dock.raise_()  # the docks share one tabbed area; the audit log came last
    view = dock.widget()
    qtbot.waitUntil(view.isVisible)
    for index in range(view.tabs.count()):
        view.tabs.setCurrentIndex(index)
        page = view.tabs.widget(index)
        wanted = [
            w
            for w in reachable_controls(page)
            if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        ]
        assert wanted, view.tabs.tabText(index)
        visited = _tab_through(qtbot, view.tabs.tabBar(), 4 * len(reachable_controls(full_window)))
        missed = [
            f"{type(w).__name__} {w.accessibleName() or getattr(w, 'text', lambda: '')()!r}"
            for w in wanted
            if w not in visited
        ]
        assert missed == [], view.tabs.tabText(index)


def _mnemonic_clashes(window: MainWindow) -> dict[str, list[str]]:
    """Letters that more than one visible control (or menu) claims with `&`: pressing
    Alt and such a letter cycles between them instead of acting."""
    claims: dict[str, list[str]] = {}

    def claim(text: str, what: str) -> None:
        match = re.search(r"&([^&\s])", text)
        if match:
            claims.setdefault(match.group(1).lower(), []).append(f"{what} {text!r}")

    for action in window.menuBar().actions():
        claim(action.text(), "menu")
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QAbstractButton):
            claim(widget.text(), type(widget).__name__)
        elif isinstance(widget, QLabel) and widget.buddy() is not None:
            claim(widget.text(), "label")
        elif isinstance(widget, QGroupBox):
            claim(widget.title(), "group")
        elif isinstance(widget, QTabBar):
            for index in range(widget.count()):
                claim(widget.tabText(index), "tab")
    return {letter: where for letter, where in claims.items() if len(where) > 1}


def test_no_two_visible_controls_share_a_mnemonic(qtbot, full_window: MainWindow) -> None:
    docks = dict(full_window._docks)
    clashes = {}
    for name, dock in docks.items():
        for other in docks.values():
            other.setVisible(other is dock)  # the docks share one tabbed area
        qtbot.waitUntil(dock.isVisible)
        view = dock.widget()
        tabs = getattr(view, "tabs", None)
        for index in range(tabs.count() if tabs is not None else 1):
            if tabs is not None:
                tabs.setCurrentIndex(index)
            where = f"{name} {tabs.tabText(index)}" if tabs is not None else name
            found = _mnemonic_clashes(full_window)
            if found:
                clashes[where] = found
    assert clashes == {}
