"""The audit chain as a lazily fetched table: newest first, a page at a time."""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from storage import audit
from storage.connection import Connection
from ui.models.headed_table import HeadedTableModel

PAGE_SIZE = 200
SeqRole = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex


class AuditModel(HeadedTableModel):
    """Entries of the audit chain, newest first, optionally of one action.

    `DisplayRole` gives the text, `SeqRole` the entry's sequence number. Pages are read
    with `storage.audit.entries` as the view scrolls, so a chain of a million entries
    opens with one page.
    """

    SEQ, AT, ACTOR, ACTION, SUBJECT, DETAIL = range(6)
    HEADERS: ClassVar[tuple[str, ...]] = ("#", "When (UTC)", "Who", "What", "Record", "Detail")

    def __init__(self, conn: Connection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._action: str | None = None
        self._rows: list[audit.AuditEntry] = []
        self._exhausted = False
        self._load()

    def _load(self) -> None:
        self._rows = audit.entries(self._conn, PAGE_SIZE, action=self._action)
        self._exhausted = len(self._rows) < PAGE_SIZE

    def set_action(self, action: str | None) -> None:
        """Show only entries of `action` (None: all)."""
        self.beginResetModel()
        self._action = action
        self._load()
        self.endResetModel()

    def refresh(self) -> None:
        """Reread from the newest entry."""
        self.set_action(self._action)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        """Older entries wait in the database."""
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        """Append the next older page."""
        if not self.canFetchMore(parent) or not self._rows:
            self._exhausted = True
            return
        page = audit.entries(self._conn, PAGE_SIZE, before=self._rows[-1].seq, action=self._action)
        self._exhausted = len(page) < PAGE_SIZE
        if not page:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Loaded entries."""
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text for display and tooltips; the sequence number for `SeqRole`."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        if role == SeqRole:
            return entry.seq
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            values = (
                str(entry.seq),
                entry.at.replace("T", " ")[:19],
                entry.actor,
                entry.action,
                entry.subject,
                entry.detail,
            )
            return values[index.column()] if 0 <= index.column() < len(values) else None
        return None
