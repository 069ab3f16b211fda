"""On a 1024×700 screen every view docked beside the case list fits in the window: none
may push it wider than the screen (with a case docked it grew to 1305 pixels, its right
side out of reach)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from storage.cases import add_case
from storage.workspace import Workspace
from ui.case_view import CaseView
from ui.main_window import TYPICAL_TITLE, MainWindow
from ui.models.case_table import CaseTableModel
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

SCREEN = (1024, 700)


@pytest.fixture
def window(qtbot: QtBot, ws: Workspace, runner: TaskRunner) -> MainWindow:
    add_case(ws, "Shelling of Kabora central market, 14 March 2027")
    main = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(main)
    main.resize(*SCREEN)
    main.show()
    qtbot.waitExposed(main)
    return main


@pytest.mark.parametrize(
    "show",
    [
        "open_case",
        "show_peers",
        "show_conflicts",
        "show_sync_center",
        "show_incoming",
        "show_audit",
        "show_parked",
    ],
)
def test_a_docked_view_keeps_the_window_within_a_small_screen(
    qtbot: QtBot, window: MainWindow, show: str
) -> None:
    if show == "open_case":
        case_id = window.model.case_id(0) if window.model else None
        window.open_case(str(case_id))
    else:
        getattr(window, show)()
    qtbot.waitUntil(lambda: not window._busy, timeout=30_000)
    qtbot.wait(50)  # one more layout pass
    assert window.width() <= SCREEN[0]
    assert window.minimumSizeHint().width() <= SCREEN[0]
    assert window.cases_stack.width() >= 300  # the list keeps room for its titles


def test_the_title_column_keeps_a_typical_title_whole_beside_a_docked_view(
    qtbot: QtBot, window: MainWindow
) -> None:
    header = window.table.horizontalHeader()
    columns = range(header.count())
    qtbot.waitUntil(
        lambda: sum(header.sectionSize(c) for c in columns) == window.table.viewport().width()
    )  # alone, the columns fill the list exactly
    window.open_case(str(window.model.case_id(0) if window.model else ""))
    least = window.table.fontMetrics().horizontalAdvance(TYPICAL_TITLE)
    qtbot.waitUntil(lambda: window.table.viewport().width() < 600)
    assert header.sectionSize(CaseTableModel.TITLE) >= least


def test_every_aspect_of_an_open_case_is_a_tab_in_sight_on_a_small_screen(
    qtbot: QtBot, window: MainWindow
) -> None:
    """At 1024×700 the case view gets enough of the window that its tabs (Overview to
    History) all show, with no scroll arrows to find the last ones."""
    window.open_case(str(window.model.case_id(0) if window.model else ""))
    qtbot.waitUntil(lambda: not window._busy, timeout=30_000)
    view = window.findChild(CaseView)
    assert view is not None
    qtbot.waitUntil(lambda: view.tabs.tabBar().width() > 0)
    qtbot.wait(50)  # one more layout pass
    bar = view.tabs.tabBar()
    last = bar.tabRect(bar.count() - 1)
    assert last.right() <= bar.width(), (last, bar.width())
    assert window.width() <= SCREEN[0]
