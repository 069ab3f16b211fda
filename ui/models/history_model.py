"""A case's signed history as a lazily fetched table: newest changeset first."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from storage import history
from storage.connection import Connection
from storage.hlc import Stamp
from ui.models.headed_table import HeadedTableModel

PAGE_SIZE = 100
ChangesetIdRole = Qt.ItemDataRole.UserRole + 1
SignatureOkRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


def when(hlc: str) -> str:
    """A changeset's clock as a person reads it (UTC, to the second)."""
    try:
        wall = Stamp.parse(hlc).wall_ms / 1000
    except ValueError:
        return hlc
    return dt.datetime.fromtimestamp(wall, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


class HistoryModel(HeadedTableModel):
    """Changesets of one case, newest first, with each signature checked as it is read.

    `DisplayRole` gives the text, `ChangesetIdRole` the changeset's id and `SignatureOkRole`
    whether its signature verifies. Pages come from `storage.history.log` as the view
    scrolls.
    """

    WHEN, OFFICE, AUTHOR, WHAT, SIGNATURE = range(5)
    HEADERS: ClassVar[tuple[str, ...]] = (
        "When (UTC)",
        "Signed by",
        "Author (as written)",
        "What changed",
        "Signature",
    )

    def __init__(self, conn: Connection, case_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._case_id = case_id
        self._rows: list[history.LogEntry] = []
        self._exhausted = False
        self._load()

    def _load(self) -> None:
        self._rows = history.log(self._conn, self._case_id, PAGE_SIZE)
        self._exhausted = len(self._rows) < PAGE_SIZE

    def refresh(self) -> None:
        """Reread from the newest changeset."""
        self.beginResetModel()
        self._load()
        self.endResetModel()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        """Older changesets wait in the database."""
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        """Append the next older page."""
        if not self.canFetchMore(parent):
            return
        page = history.log(self._conn, self._case_id, PAGE_SIZE, offset=len(self._rows))
        self._exhausted = len(page) < PAGE_SIZE
        if not page:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Loaded changesets."""
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, tooltips, the id and the signature verdict."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        if role == ChangesetIdRole:
            return entry.id
        if role == SignatureOkRole:
            return entry.signature_ok
        if role == Qt.ItemDataRole.DisplayRole:
            values = (
                when(entry.hlc),
                entry.signer or entry.office,
                entry.author,
                "; ".join(entry.ops),
                "verified" if entry.signature_ok else "DOES NOT VERIFY",
            )
            return values[index.column()] if 0 <= index.column() < len(values) else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Changeset {entry.id[:16]}… (sequence {entry.seq} of its office)"
        return None
