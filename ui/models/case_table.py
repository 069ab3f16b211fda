"""The case list as a lazily fetched table model whose cells Qt reads without Python.

Only the rows a view has scrolled to are read: the first page at once, further pages of
`PAGE_SIZE` when the view asks (`canFetchMore`/`fetchMore`). Sorting is done by the database
on indexed columns (`storage.queries.list_cases`), never by a proxy over loaded rows, so a
sorted list of 100,000 cases still starts with one page.

The loaded pages' texts live in Qt's own store (a `QStandardItemModel`), so painting a
screen of cases never calls into Python: with a Python `multiData` answering each cell, a
repaint cost about 1.7 times as much and scrolling 100,000 cases on a busy machine stalled
the window beyond 100 ms (bench/results/2026-12-07-gui-scroll-2.txt). Python keeps only
each row's case id and where the next page starts. The price is memory: Qt's store takes
about 1.6 KB a loaded row (159 MB once all 100,000 cases are scrolled to), Python's tuples
took about 0.65 KB (64 MB).
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel

from storage.connection import Connection
from storage.queries import CaseFilter, case_sort_key, count_cases, list_cases
from storage.records import Case, CaseId

# Rows read at a time. Small, because a page is read and written into Qt's store on the
# GUI thread while the view scrolls: 200 rows made every eighth screen cost twice the
# others (a stall on a busy machine); 50 cost a millisecond or two more than a screen.
PAGE_SIZE = 50
# The role by which lists of things in cases (search hits, incoming changes, parked
# bundles) give a case's id, so a view can open a case from any of them. The case table
# itself gives it by `CaseTableModel.case_id(row)`: answered from Python, the role would
# make Qt call into Python for every role of every cell painted (see `CaseTableModel`).
CaseIdRole = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex

# What a cell may do: be selected. Not edited (edits go through the write path), no
# children, no drag and drop (a QStandardItem's default allows all three).
_CELL_FLAGS = (
    Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
)


def cell_texts(case: Case) -> tuple[str, str, str, str, str]:
    """What the list shows of a case, by column: Reference, Title, Status, Opened, Lead
    office. A withdrawn case says so in its Status, with the status it had: under Status ›
    Withdrawn a plain "Open" would tell a person the case is still in use."""
    status = case.status.capitalize()
    if case.withdrawn:
        status = f"Withdrawn (was {case.status})"
    return (case.reference, case.title, status, case.opened_on, case.lead_office)


class CaseTableModel(QStandardItemModel):
    """Cases of one open workspace: Reference, Title, Status, Opened, Lead office.

    `Qt.DisplayRole` gives the text; `case_id(row)` the case's id (what views hand to other
    parts of the program). Every role is answered by Qt's store: no `data` or `multiData`
    in Python, because Qt's `QStandardItemModel::multiData` asks `data` once per role (seven
    a cell painted), which would each call into Python again. For the same reason the
    whole text of a cell cut short comes from the view's delegate (`ui.cell_tips`), not
    from a `ToolTipRole`. Columns without an indexed sort key ignore `sort`. Cells are
    read-only.
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
        super().__init__(0, len(self.HEADERS), parent)
        # Cells Qt creates for `setData` are copies of this one: read-only, no children.
        prototype = QStandardItem()
        prototype.setFlags(_CELL_FLAGS)
        self.setItemPrototype(prototype)
        self._conn = conn
        self._ids: list[str] = []  # the case id of each loaded row
        self._after: tuple[str, str] | None = None  # where the next page starts
        self._total = 0
        self._sort_key, self._descending = self.DEFAULT_SORT
        self._sort_column = -1
        self._changing = False  # inserting or resetting: no page is fetched meanwhile
        self._filter = CaseFilter()
        self._reset(PAGE_SIZE)

    # -- loading -------------------------------------------------------------------------

    def _page(self, limit: int) -> list[Case]:
        return list_cases(
            self._conn,
            sort=self._sort_key,
            descending=self._descending,
            after=self._after,
            limit=limit,
            where=self._filter,
        )

    def _fill(self, first: int, cases: list[Case]) -> None:
        """Write the cases' texts into the rows from `first`, which exist.

        Without signals: one `dataChanged` a cell (five a row) cost the view three times
        the writing itself; callers announce the rows once, as a reset or a range. The
        cells are written one by one, unrolled: this loop is most of a page's cost.
        """
        index, set_data = self.index, self.setData
        blocked = self.blockSignals(True)
        try:
            for row, case in enumerate(cases, first):
                reference, title, status, opened, lead_office = cell_texts(case)
                set_data(index(row, self.REFERENCE), reference)
                set_data(index(row, self.TITLE), title)
                set_data(index(row, self.STATUS), status)
                set_data(index(row, self.OPENED), opened)
                set_data(index(row, self.LEAD_OFFICE), lead_office)
        finally:
            self.blockSignals(blocked)
        self._ids.extend(case.id for case in cases)
        if cases:
            self._after = case_sort_key(cases[-1], self._sort_key)

    def _reset(self, rows: int) -> None:
        """Reread the count and the first `rows` rows inside one reset.

        No rows are fetched while the reset is being signalled: listeners (views, proxies,
        Qt's model tester) may ask for more rows from their `modelReset` slot; inserting
        rows then would nest an insert inside the reset before the other listeners have
        seen it. Views ask again when they lay out. Qt's store is cut to size and written
        over with its signals held back: listeners see one reset, as from any model.
        """
        self._changing = True
        try:
            self.beginResetModel()
            try:
                self._total = count_cases(self._conn, where=self._filter)
                self._ids, self._after = [], None
                cases = self._page(max(rows, PAGE_SIZE))
                blocked = self.blockSignals(True)
                try:
                    # Rows kept are written over (a refresh keeps them all): freeing and
                    # making Qt's items again cost more than the writing.
                    self.setRowCount(len(cases))
                finally:
                    self.blockSignals(blocked)
                self._fill(0, cases)
            finally:
                self.endResetModel()
        finally:
            self._changing = False

    def refresh(self) -> None:
        """Reload after a change, keeping as many rows loaded as before."""
        self._reset(len(self._ids))

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
        return not parent.isValid() and not self._changing and len(self._ids) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        """Append the next page: the rows are inserted (one `rowsInserted`, last row
        inclusive), then filled, then announced changed in one `dataChanged`.

        Listeners of `rowsInserted` (Qt's model tester does) may ask for more rows before
        the new ones are filled: none is fetched until this page is in.
        """
        if not self.canFetchMore(parent):
            return
        cases = self._page(PAGE_SIZE)
        if not cases:  # cases withdrawn since the count: stop asking
            self._total = len(self._ids)
            return
        first = len(self._ids)
        self._changing = True
        try:
            self.setRowCount(first + len(cases))
            self._fill(first, cases)
        finally:
            self._changing = False
        last = first + len(cases) - 1
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.HEADERS) - 1))

    # -- headers ---------------------------------------------------------------------------

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

    # -- ids and sorting -----------------------------------------------------------------

    def case_id(self, row: int) -> CaseId | None:
        """The id of a loaded row."""
        return CaseId(self._ids[row]) if 0 <= row < len(self._ids) else None

    def row_of(self, case_id: str) -> int:
        """The row of a loaded case, or -1."""
        try:
            return self._ids.index(case_id)
        except ValueError:
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
