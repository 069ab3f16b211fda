"""The case table model: Qt's model rules, lazy pages of 200, sorting in the database."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QModelIndex, QModelRoleData, QModelRoleDataSpan, Qt
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTableView

from storage.cases import add_case
from storage.records import CaseId
from storage.workspace import Workspace
from ui.models.case_table import PAGE_SIZE, CaseIdRole, CaseTableModel


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
    add_cases(ws, [f"Case {n}" for n in range(450)])
    model = CaseTableModel(ws.conn)
    assert model.total == 450
    assert model.rowCount() == PAGE_SIZE == 200
    assert model.canFetchMore(QModelIndex())
    with qtbot.waitSignal(model.rowsInserted, timeout=1000) as inserted:
        model.fetchMore(QModelIndex())
    assert inserted.args[1:] == [200, 399]
    assert model.rowCount() == 400
    with qtbot.waitSignal(model.rowsInserted, timeout=1000) as inserted:
        model.fetchMore(QModelIndex())
    assert inserted.args[1:] == [400, 449]
    assert model.rowCount() == 450
    assert not model.canFetchMore(QModelIndex())


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
    assert model.index(0, 1).data(CaseIdRole) == case_id
    assert model.index(0, 1).data(Qt.ItemDataRole.DecorationRole) is None
    assert model.case_id(0) == case_id and model.row_of(case_id) == 0
    assert b"caseId" in [bytes(name) for name in model.roleNames().values()]


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
    assert model.rowCount() == 200  # a new first page, not a sort of loaded rows
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


def test_a_delegate_gets_each_cells_roles_in_one_call_with_the_same_values(
    qtbot, ws: Workspace
) -> None:
    """Painting asks `multiData` for seven roles a cell; its answers are `data`'s."""
    add_cases(ws, ["Shelling of the market"])
    model = CaseTableModel(ws.conn)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    delegate = QStyledItemDelegate(view)
    for column in range(model.columnCount()):
        index = model.index(0, column)
        option = QStyleOptionViewItem()
        delegate.initStyleOption(option, index)  # Qt 6 asks the model through multiData
        assert option.text == index.data(Qt.ItemDataRole.DisplayRole)
    asked = [QModelRoleData(role) for role in (Qt.ItemDataRole.DisplayRole, CaseIdRole, 9)]
    for role_data in asked:
        model.multiData(model.index(0, CaseTableModel.TITLE), QModelRoleDataSpan(role_data))
    assert [r.data() for r in asked] == ["Shelling of the market", model.case_id(0), None]
