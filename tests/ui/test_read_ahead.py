"""The case list reads its next pages while the window is idle (ui.read_ahead): a person
scrolling finds the rows loaded, and the page read is not part of the screen scrolled to."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from storage.cases import add_case
from storage.workspace import Workspace
from ui.main_window import MainWindow
from ui.models.case_table import PAGE_SIZE, CaseTableModel
from ui.prompts import ScriptedPrompts
from ui.read_ahead import ROWS_AHEAD, ReadAhead
from ui.tasks import TaskRunner

CASES = 8 * PAGE_SIZE


def _window(qtbot: QtBot, ws: Workspace, runner: TaskRunner) -> MainWindow:
    with ws.transaction():
        for number in range(CASES):
            add_case(ws, f"Case {number:04d}")
    main = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(main)
    main.resize(1024, 700)
    main.show()
    qtbot.waitExposed(main)
    return main


def _last_in_sight(main: MainWindow) -> int:
    viewport = main.table.viewport()
    return main.table.indexAt(viewport.rect().bottomLeft()).row()


def test_pages_beyond_the_screen_are_read_while_the_window_is_idle(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    main = _window(qtbot, ws, runner)
    model = main.model
    assert isinstance(model, CaseTableModel)
    qtbot.waitUntil(lambda: model.rowCount() >= _last_in_sight(main) + 1 + ROWS_AHEAD)
    loaded = model.rowCount()
    assert loaded < CASES  # not everything: only what is ahead of the screen
    qtbot.wait(100)
    assert model.rowCount() == loaded  # and then it rests

    bar = main.table.verticalScrollBar()
    for _ in range(3):  # a person pressing Page Down three times
        bar.setValue(bar.value() + bar.pageStep())
    qtbot.waitUntil(lambda: model.rowCount() >= _last_in_sight(main) + 1 + ROWS_AHEAD)
    assert _last_in_sight(main) + 1 + ROWS_AHEAD <= model.rowCount() < CASES


def test_scrolling_to_the_end_then_sorting_starts_again_from_one_page_ahead(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    main = _window(qtbot, ws, runner)
    model = main.model
    assert isinstance(model, CaseTableModel)
    bar = main.table.verticalScrollBar()
    while model.canFetchMore(QModelIndex()) or bar.value() < bar.maximum():
        bar.setValue(bar.maximum())
        qtbot.wait(1)
    assert model.rowCount() == CASES
    main.table.sortByColumn(
        CaseTableModel.TITLE, main.table.horizontalHeader().sortIndicatorOrder()
    )
    qtbot.waitUntil(lambda: model.rowCount() >= _last_in_sight(main) + 1 + ROWS_AHEAD)
    assert model.rowCount() < CASES
    assert model.index(0, CaseTableModel.TITLE).data() in ("Case 0000", f"Case {CASES - 1:04d}")


def test_a_view_with_no_room_for_rows_reads_nothing_ahead(qtbot: QtBot, ws: Workspace) -> None:
    """A list squeezed to no height (a splitter dragged shut) shows no row: reading ahead of
    "the last row in sight" must not then read every page, one per idle pass."""
    with ws.transaction():
        for number in range(CASES):
            add_case(ws, f"Case {number:04d}")
    view = QTableView()
    qtbot.addWidget(view)
    reader = ReadAhead(view)
    model = CaseTableModel(ws.conn, view)
    view.setModel(model)
    reader.follow(model)
    view.show()
    qtbot.waitExposed(view)
    view.resize(400, view.horizontalHeader().height() + 2 * view.frameWidth())
    qtbot.waitUntil(lambda: view.viewport().height() <= 0)
    qtbot.wait(200)
    assert model.rowCount() <= PAGE_SIZE + ROWS_AHEAD
