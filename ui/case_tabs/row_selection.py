"""Whole-row selection and activation for the single-selection tables of the case tabs.

The Incidents, Persons and Notes tabs list records one per row and act on "the selected
one". Each selected rows the same way (made current, scrolled to), and each opens the
selected record's edit form on Enter or a double-click; they had a copy each of that.
This is the one copy they use.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QTableView

from ui.slots import weak_callback

ACTIVATING_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def setup_row_table(table: QTableView) -> None:
    """Make `table` a list of whole rows: one selected at a time, nothing edited in place,
    Tab leaving the table for the buttons, column titles left-aligned and the last column
    taking the room left."""
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTabKeyNavigation(False)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(True)


def select_row(table: QTableView, row: int, column: int = 0) -> bool:
    """Select the whole of `row` (clamped to the rows there are), make it current and
    scroll to it; False when the table has no rows."""
    model = table.model()
    count = model.rowCount()
    if count == 0:
        return False
    row = max(0, min(row, count - 1))
    index = model.index(row, column)
    table.selectionModel().select(
        index,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    table.setCurrentIndex(index)
    table.scrollTo(index)
    return True


def select_row_if_present(table: QTableView, row: int, column: int = 0) -> bool:
    """Select `row` as `select_row` does when the table has it; when it has not (-1 for a
    record gone meanwhile) change nothing and give False."""
    if not 0 <= row < table.model().rowCount():
        return False
    return select_row(table, row, column)


def selected_row(table: QTableView) -> int:
    """The selected row, or -1 when none is."""
    rows = table.selectionModel().selectedRows()
    return rows[0].row() if rows else -1


class RowActivation(QObject):
    """Calls `activate()` when a person presses Enter on `table` or double-clicks a row.

    `QAbstractItemView.activated` would do on some platforms only (on macOS Enter starts
    editing instead, and a style may activate on a single click, where a click must only
    select), so the keys are caught here and double-clicks come from `doubleClicked`, the
    same everywhere. Enter held with Ctrl, Shift, Alt or Meta is not Enter: it passes on.

    `activate`, when it is the tab's own method (its "Edit…"), is held weakly: the tab owns
    this object, so a strong hold would tie the tab into a reference cycle (`ui.slots`).
    """

    # Read when Python has cleared this object's attributes as its table is collected while
    # Qt still sends the table events (see ui.dialogs.busy.BusyKeys): every event passes.
    _table: QTableView | None = None

    def __init__(self, table: QTableView, activate: Callable[[], object]) -> None:
        super().__init__(table)
        self._table = table
        self._activate = weak_callback(activate)
        table.installEventFilter(self)
        table.doubleClicked.connect(self._on_double_clicked)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter or Return on the table with a row selected opens it; other keys pass."""
        table = self._table
        if (
            table is not None
            and watched is table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in ACTIVATING_KEYS
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            and selected_row(table) >= 0
        ):
            self._activate()
            return True
        return super().eventFilter(watched, event)

    def _on_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid() and self._table is not None:
            select_row(self._table, index.row(), index.column())
            self._activate()
