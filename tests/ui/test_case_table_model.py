"""The case table model: Qt's model rules, lazy pages, sorting in the database, and cells
that Qt paints without calling into Python."""

from __future__ import annotations

import random
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTableView

from storage.cases import add_case
from storage.records import CaseId
from storage.workspace import Workspace
from ui.models.case_table import PAGE_SIZE, CaseTableModel


def add_cases(ws: Workspace, titles: list[str]) -> list[CaseId]:
    with ws.transaction():
        return [add_case(ws, title) for title in titles]


def fetch_all(model: CaseTableModel) -> None:
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())


@pytest.mark.qt_log_level_fail("WARNING")  # Qt's own tester reports through warnings
@pytest.mark.parametrize("count", [0, 1, 450])
@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_model_passes_qtmodeltester(qtmodeltester, ws: Workspace, count: int, force_py: bool):
    add_cases(ws, [f"Case {n}" for n in range(count)])
    model = CaseTableModel(ws.conn)
    qtmodeltester.check(model, force_py=force_py)
    fetch_all(model)
    assert model.rowCount() == count
    model.sort(CaseTableModel.TITLE, Qt.SortOrder.AscendingOrder)
    model.refresh()


def test_pages_are_fetched_lazily_and_insert_ranges_are_inclusive(qtbot, ws: Workspace):
    count = 2 * PAGE_SIZE + PAGE_SIZE // 2
    add_cases(ws, [f"Case {n}" for n in range(count)])
    model = CaseTableModel(ws.conn)
    assert model.total == count
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore(QModelIndex())
    heard: list[tuple[str, tuple[Any, ...]]] = []
    model.rowsInserted.connect(lambda *args: heard.append(("inserted", args)))
    model.dataChanged.connect(lambda *args: heard.append(("changed", args)))
    model.fetchMore(QModelIndex())
    assert [what for what, _ in heard] == ["inserted", "changed"]
    assert heard[0][1][1:] == (PAGE_SIZE, 2 * PAGE_SIZE - 1)
    # The new rows' texts are announced in one range: every cell of the page.
    top_left, bottom_right = heard[1][1][:2]
    assert (top_left.row(), top_left.column()) == (PAGE_SIZE, 0)
    assert (bottom_right.row(), bottom_right.column()) == (2 * PAGE_SIZE - 1, 4)
    assert model.rowCount() == 2 * PAGE_SIZE
    assert model.index(2 * PAGE_SIZE - 1, CaseTableModel.TITLE).data().startswith("Case ")
    with qtbot.waitSignal(model.rowsInserted, timeout=1000) as last_page:
        model.fetchMore(QModelIndex())
    assert last_page.args[1:] == [2 * PAGE_SIZE, count - 1]
    assert model.rowCount() == count
    assert not model.canFetchMore(QModelIndex())
    assert len({model.case_id(row) for row in range(count)}) == count  # no page twice


def test_columns_roles_and_headers(ws: Workspace):
    (case_id,) = add_cases(ws, ["Shelling of the market"])
    model = CaseTableModel(ws.conn)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Reference", "Title", "Status", "Opened", "Lead office"]
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    assert row[0].startswith("VAR-KAB-")
    assert row[1:3] == ["Shelling of the market", "Open"]
    assert len(row[3]) == 10 and row[3][4] == "-"
    assert row[4] == "Kabora field office"
    assert model.index(0, 1).data(Qt.ItemDataRole.DecorationRole) is None
    assert model.case_id(0) == case_id and model.row_of(case_id) == 0
    assert model.case_id(1) is None and model.row_of("no such case") == -1


def test_cells_are_read_only_and_childless(ws: Workspace):
    """Edits go through the write path, never through the list (a QStandardItem's own
    flags would allow editing, dragging and dropping)."""
    add_cases(ws, ["Shelling of the market"])
    model = CaseTableModel(ws.conn)
    for column in range(model.columnCount()):
        flags = model.flags(model.index(0, column))
        assert flags & Qt.ItemFlag.ItemIsSelectable and flags & Qt.ItemFlag.ItemIsEnabled
        assert not flags & Qt.ItemFlag.ItemIsEditable
        assert not flags & (Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled)
        assert not model.hasChildren(model.index(0, column))
    assert not model.setData(model.index(5, 1), "beyond the rows")


def test_titles_are_returned_as_given_for_plain_text_display(ws: Workspace):
    add_cases(ws, ["<b>Not bold</b> & <i>not italic</i>"])
    model = CaseTableModel(ws.conn)
    assert model.index(0, CaseTableModel.TITLE).data() == "<b>Not bold</b> & <i>not italic</i>"


def test_sorting_by_title_is_done_across_pages(qtbot, ws: Workspace):
    titles = [f"{word} {n:03d}" for n, word in enumerate(["alpha", "Bravo", "charlie"] * 90)]
    random.Random(7).shuffle(titles)
    add_cases(ws, titles)
    model = CaseTableModel(ws.conn)
    with qtbot.waitSignal(model.modelReset, timeout=1000):
        model.sort(CaseTableModel.TITLE, Qt.SortOrder.AscendingOrder)
    assert model.rowCount() == PAGE_SIZE  # a new first page, not a sort of loaded rows
    fetch_all(model)
    shown = [model.index(r, CaseTableModel.TITLE).data() for r in range(model.rowCount())]
    assert shown == sorted(titles, key=str.lower)
    model.sort(CaseTableModel.TITLE, Qt.SortOrder.DescendingOrder)
    fetch_all(model)
    shown = [model.index(r, CaseTableModel.TITLE).data() for r in range(model.rowCount())]
    assert shown == sorted(titles, key=str.lower, reverse=True)
    assert model.sort_column == CaseTableModel.TITLE
    assert model.sort_order == Qt.SortOrder.DescendingOrder


def test_a_column_without_an_index_ignores_sort(qtbot, ws: Workspace):
    add_cases(ws, ["b", "a"])
    model = CaseTableModel(ws.conn)
    model.sort(CaseTableModel.TITLE, Qt.SortOrder.AscendingOrder)
    beyond = model.columnCount()
    with qtbot.assertNotEmitted(model.modelReset):
        model.sort(beyond, Qt.SortOrder.AscendingOrder)
    assert model.sort_column == CaseTableModel.TITLE
    assert not model.is_sortable(beyond)
    assert all(model.is_sortable(column) for column in range(model.columnCount()))


def test_default_order_is_most_recently_changed_first(ws: Workspace):
    first, second = add_cases(ws, ["older", "newer"])
    model = CaseTableModel(ws.conn)
    assert [model.case_id(0), model.case_id(1)] == [second, first]
    model.sort(CaseTableModel.TITLE, Qt.SortOrder.DescendingOrder)
    model.sort(-1)
    assert model.case_id(0) == second


def test_refresh_keeps_the_loaded_rows_and_shows_new_cases(ws: Workspace):
    add_cases(ws, [f"Case {n}" for n in range(250)])
    model = CaseTableModel(ws.conn)
    fetch_all(model)
    add_case(ws, "One more")
    model.refresh()
    assert model.total == 251
    assert model.rowCount() == 250  # as many as were loaded; the rest on demand
    assert model.canFetchMore(QModelIndex())
    assert model.index(0, CaseTableModel.TITLE).data() == "One more"


# What Qt's view and delegate ask for every cell or index while painting (multiData asks
# data once per role, seven a cell).
ASKED_WHILE_PAINTING = (
    "data",
    "multiData",
    "index",
    "parent",
    "sibling",
    "flags",
    "rowCount",
    "columnCount",
    "hasChildren",
    "span",
    "buddy",
)


def test_painting_a_screen_of_cases_never_calls_into_python(qtbot, ws: Workspace) -> None:
    """Qt reads every cell from its own store: the model overrides in Python nothing a
    repaint asks (those calls made a repaint about 1.7 times slower,
    bench/results/2026-12-07-gui-scroll-2.txt), and a delegate still gets the texts."""
    overridden = [
        name
        for name in ASKED_WHILE_PAINTING
        if getattr(CaseTableModel, name) is not getattr(QStandardItemModel, name)
    ]
    assert overridden == []
    add_cases(ws, [f"Shelling of the market {n}" for n in range(3)])
    model = CaseTableModel(ws.conn)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    delegate = QStyledItemDelegate(view)
    for column in range(model.columnCount()):
        index = model.index(0, column)
        option = QStyleOptionViewItem()
        delegate.initStyleOption(option, index)  # what painting asks, through multiData
        assert option.text == index.data(Qt.ItemDataRole.DisplayRole) != ""
