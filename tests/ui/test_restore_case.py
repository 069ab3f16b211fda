"""Restoring a withdrawn case in the window: Status › Withdrawn lists them, File › Restore
withdrawn case (Ctrl+Shift+R) brings the selected one back through the write path."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from storage import queries
from storage.cases import add_case, withdraw
from storage.records import Case
from storage.workspace import Workspace
from ui.case_filters import WITHDRAWN
from ui.main_window import MainWindow
from ui.prompts import Asked, ScriptedPrompts
from ui.tasks import TaskRunner


@pytest.fixture
def prompts() -> ScriptedPrompts:
    return ScriptedPrompts()


@pytest.fixture
def window(qtbot: QtBot, ws: Workspace, prompts: ScriptedPrompts, runner: TaskRunner) -> MainWindow:
    main = MainWindow(ws, prompts=prompts, runner=runner)
    qtbot.addWidget(main)
    main.resize(1024, 700)
    main.show()
    qtbot.waitExposed(main)
    return main


def _rows(window: MainWindow) -> list[str]:
    model = window.model
    assert model is not None
    return [model.case_id(row) for row in range(model.rowCount())]


def _show_withdrawn(window: MainWindow) -> None:
    box = window.filter_bar.status_box
    box.setCurrentIndex(box.findData(WITHDRAWN))


def test_the_status_filter_lists_withdrawn_cases_and_restore_brings_one_back(
    qtbot: QtBot, ws: Workspace, window: MainWindow
) -> None:
    kept = add_case(ws, "Detention at the river camp")
    gone = add_case(ws, "Shelling of the Varosa market")
    withdraw(ws, Case, gone)
    window._refresh_cases()
    assert _rows(window) == [kept]
    _show_withdrawn(window)
    assert _rows(window) == [gone]
    # Its Status says withdrawn, not "Open" (the e2e walk saw "Open" under Withdrawn).
    model = window.model
    assert model is not None
    assert model.index(0, model.STATUS).data() == "Withdrawn (was open)"
    assert window.restore_case_action.shortcut() == QKeySequence("Ctrl+Shift+R")
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert window.restore_case_action in file_menu.actions()
    window.table.setFocus()
    assert window.select_case(gone)
    qtbot.keyClick(
        window.table,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: queries.get(ws.conn, Case, gone).withdrawn == 0)
    # Every case again, the restored one selected, and a word on what happens next.
    assert window.filter_bar.status_box.currentData() is None
    assert sorted(_rows(window)) == sorted([kept, gone])
    assert window.selected_case_id() == gone
    reference = queries.get(ws.conn, Case, gone).reference
    assert window.statusBar().currentMessage() == (
        f"Case {reference} is back; it reaches your peers with the next sync."
    )


def test_restore_with_a_case_that_is_not_withdrawn_says_so(
    ws: Workspace, window: MainWindow, prompts: ScriptedPrompts
) -> None:
    case_id = add_case(ws, "Detention at the river camp")
    window._refresh_cases()
    assert window.select_case(case_id)
    window.restore_case_action.trigger()
    reference = queries.get(ws.conn, Case, case_id).reference
    assert prompts.asked == [
        Asked(
            "warn",
            "Restore case",
            f"Case {reference} is not withdrawn, so there is nothing to restore; it is in the"
            " case list as it is.",
        )
    ]


def test_restore_with_nothing_selected_says_where_withdrawn_cases_are(
    ws: Workspace, window: MainWindow, prompts: ScriptedPrompts
) -> None:
    withdraw(ws, Case, add_case(ws, "Shelling of the Varosa market"))
    window._refresh_cases()
    _show_withdrawn(window)
    window.table.clearSelection()
    window.table.setCurrentIndex(window.table.model().index(-1, -1))
    window.restore_case_action.trigger()
    [asked] = prompts.asked
    assert (asked.kind, asked.title) == ("inform", "Restore case")
    assert "Status › Withdrawn" in asked.text
