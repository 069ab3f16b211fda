"""The case list as a lazily fetched table model.

Only the rows a view has scrolled to are read: the first page at once, further pages of
`PAGE_SIZE` when the view asks (`canFetchMore`/`fetchMore`). Sorting is done by the database
on indexed columns (`storage.queries.list_cases`), never by a proxy over loaded rows, so a
sorted list of 100,000 cases still starts with one page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from storage.connection import Connection
from storage.queries import CaseFilter, count_cases, list_cases
from storage.records import Case, CaseId

PAGE_SIZE = 200
CaseIdRole = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex


# What the list keeps of a loaded case: a plain tuple of strings, in this order. Python's
# garbage collector stops tracking such tuples (only exact tuples, not named ones); 100,000
# tracked records made each full collection take over 100 ms, a stall while scrolling.
CaseRow = tuple[str, str, str, str, str, str, str]
ID, REFERENCE, TITLE, STATUS, OPENED, LEAD_OFFICE, UPDATED = range(7)
# Where each sort's value sits in a row, to continue after the last loaded one.
SORT_VALUE = {
    "reference": REFERENCE,
    "title": TITLE,
    "status": STATUS,
    "opened": OPENED,
    "lead_office": LEAD_OFFICE,
    "updated": UPDATED,
}


def case_row(case: Case) -> CaseRow:
    """The row the list keeps of a case record."""
    return (
        case.id,
        case.reference,
        case.title,
        case.status,
        case.opened_on,
        case.lead_office,
        case.updated_hlc,
    )


# Asked once per cell and role while painting: worked out once here, not on each call.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_CASE_ID = int(CaseIdRole)
_SERVED_ROLES = frozenset({_DISPLAY, int(Qt.ItemDataRole.ToolTipRole.value), _CASE_ID})
_FIELD_OF_COLUMN = (REFERENCE, TITLE, STATUS, OPENED, LEAD_OFFICE)  # by column, in order
_COLUMNS = len(_FIELD_OF_COLUMN)


class CaseTableModel(QAbstractTableModel):
    """Cases of one open workspace: Reference, Title, Status, Opened, Lead office.

    `Qt.DisplayRole` gives the text, `CaseIdRole` the case's id (what views hand to other
    parts of the program). Columns without an indexed sort key ignore `sort`.
    """

    REFERENCE, TITLE, STATUS, OPENED, LEAD_OFFICE = range(5)
    HEADERS: ClassVar[tuple[str, ...]] = ("Reference", "Title", "Status", "Opened", "Lead office")
    SORT_KEYS: ClassVar[dict[int, str]] = {
        REFERENCE: "reference",
        TITLE: "title",
        STATUS: "status",
        OPENED: "opened",
        LEAD_OFFICE: "lead_office",
    }
    DEFAULT_SORT = ("updated", True)  # most recently changed first

    def __init__(self, conn: Connection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._rows: list[CaseRow] = []
        self._total = 0
        self._sort_key, self._descending = self.DEFAULT_SORT
        self._sort_column = -1
        self._resetting = False
        self._filter = CaseFilter()
        self._load(PAGE_SIZE)

    # -- loading -------------------------------------------------------------------------

    def _page(self, last: CaseRow | None, limit: int) -> list[CaseRow]:
        after = None if last is None else (last[SORT_VALUE[self._sort_key]], last[ID])
        cases = list_cases(
            self._conn,
            sort=self._sort_key,
            descending=self._descending,
            after=after,
            limit=limit,
            where=self._filter,
        )
        return [case_row(case) for case in cases]

    def _load(self, rows: int) -> None:
        """Reread the count and the first `rows` rows (no model signals: callers reset)."""
        self._total = count_cases(self._conn, where=self._filter)
        self._rows = self._page(None, max(rows, PAGE_SIZE))

    def _reset(self, rows: int) -> None:
        """Reload inside a reset; no rows are fetched while the reset is being signalled.

        Listeners (views, proxies, Qt's model tester) may ask for more rows from their
        `modelReset` slot; inserting rows then would nest an insert inside the reset before
        the other listeners have seen the reset. Views ask again when they lay out.
        """
        self._resetting = True
        try:
            self.beginResetModel()
            self._load(rows)
            self.endResetModel()
        finally:
            self._resetting = False

    def refresh(self) -> None:
        """Reload after a change, keeping as many rows loaded as before."""
        self._reset(len(self._rows))

    def set_filter(self, wanted: CaseFilter) -> None:
        """Show only the cases `wanted` describes (the database filters; one page loads)."""
        if wanted == self._filter:
            return
        self._filter = wanted
        self._reset(PAGE_SIZE)

    @property
    def case_filter(self) -> CaseFilter:
        """The filter in force."""
        return self._filter

    @property
    def total(self) -> int:
        """How many cases the list holds, loaded or not."""
        return self._total

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        """More rows wait in the database (top level only: this is a flat table)."""
        return not parent.isValid() and not self._resetting and len(self._rows) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        """Append the next page."""
        if not self.canFetchMore(parent):
            return
        page = self._page(self._rows[-1] if self._rows else None, PAGE_SIZE)
        if not page:  # cases withdrawn since the count: stop asking
            self._total = len(self._rows)
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)  # last is inclusive
        self._rows.extend(page)
        self.endInsertRows()

    # -- shape and data ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Loaded rows; children of a row: none."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """The five columns; children of a row: none."""
        return 0 if parent.isValid() else len(self.HEADERS)

    # No `flags` here: QAbstractTableModel's own gives what the list needs (selectable,
    # enabled, never children, not editable: edits go through the write path), without a
    # call into Python for every cell painted.

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """The index of a loaded cell. Qt's own asks `rowCount` and `columnCount` (two
        calls into Python) for each of the many indexes a repaint makes."""
        if parent.isValid() or not (0 <= row < len(self._rows) and 0 <= column < _COLUMNS):
            return QModelIndex()
        return self.createIndex(row, column)

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        """Text for DisplayRole and ToolTipRole, the id for CaseIdRole; None otherwise.

        The view asks each cell for seven roles on every repaint (some 900 calls a screen
        while scrolling), so the roles it does not use are answered first and cheaply.
        """
        if role not in _SERVED_ROLES or not index.isValid():
            return None
        row = index.row()
        if not 0 <= row < len(self._rows):
            return None
        case = self._rows[row]
        if role == _CASE_ID:
            return case[ID]
        column = index.column()
        if column == CaseTableModel.STATUS:
            return case[STATUS].capitalize()
        return case[_FIELD_OF_COLUMN[column]] if 0 <= column < len(_FIELD_OF_COLUMN) else None

    def multiData(self, index: Index, roleDataSpan: QModelRoleDataSpan | QModelRoleData) -> None:
        """Every role a delegate asks for a cell, in one call: Qt's own would call `data`
        once per role (seven for each cell painted), each a call into Python."""
        if not index.isValid():
            return
        wanted = (
            [roleDataSpan]
            if isinstance(roleDataSpan, QModelRoleData)
            else cast(Iterable[QModelRoleData], roleDataSpan)  # iterable, untyped in PySide6
        )
        for role_data in wanted:
            role = role_data.role()
            if role in _SERVED_ROLES:
                role_data.setData(self.data(index, role))

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles; rows have no header text."""
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[CaseIdRole] = QByteArray(b"caseId")
        return names

    # -- ids and sorting -----------------------------------------------------------------

    def case_id(self, row: int) -> CaseId | None:
        """The id of a loaded row."""
        return CaseId(self._rows[row][ID]) if 0 <= row < len(self._rows) else None

    def row_of(self, case_id: str) -> int:
        """The row of a loaded case, or -1."""
        for row, case in enumerate(self._rows):
            if case[ID] == case_id:
                return row
        return -1

    def is_sortable(self, column: int) -> bool:
        """True when the database can sort on this column (-1: the default order)."""
        return column < 0 or column in self.SORT_KEYS

    @property
    def sort_column(self) -> int:
        """The column the rows are sorted by; -1 for the default (most recently changed)."""
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        """The direction of the current order."""
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reload the first page in the new order; unsortable columns are ignored."""
        if not self.is_sortable(column):
            return
        if column < 0:
            key, descending = self.DEFAULT_SORT
        else:
            key, descending = self.SORT_KEYS[column], order == Qt.SortOrder.DescendingOrder
        if (column, key, descending) == (self._sort_column, self._sort_key, self._descending):
            return
        self._sort_column, self._sort_key, self._descending = column, key, descending
        self._reset(PAGE_SIZE)
