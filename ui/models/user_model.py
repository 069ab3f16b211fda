"""The office's users as a table: name, role, when and by whom each was added, and whether
(and when, by whom) they were removed. Removed users stay listed: history and the audit log
keep naming them, and a supervisor should see who once had a way in.

A list of users is short (an office has a handful), so the model reads it whole.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from storage import users
from storage.connection import Connection
from storage.text_rules import visible
from ui.models.headed_table import HeadedTableModel

Index = QModelIndex | QPersistentModelIndex


def day(stamp: str) -> str:
    """The date part of an ISO time stamp, as the table shows it."""
    return stamp[:10]


class UserModel(HeadedTableModel):
    """One row per user, active ones first in name order, then the removed ones."""

    HEADERS: ClassVar[tuple[str, ...]] = ("Name", "Role", "Added", "Added by", "Removed")
    NAME, ROLE, ADDED, ADDED_BY, REMOVED = range(5)
    UserRole = Qt.ItemDataRole.UserRole + 1  # the row's `storage.users.User`

    def __init__(self, conn: Connection, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._rows: list[users.User] = []
        self.refresh()

    def refresh(self) -> None:
        """Read the users again (after one was added, removed or given a passphrase)."""
        self.beginResetModel()
        listed = users.all_users(self._conn, with_removed=True)
        self._rows = [u for u in listed if u.active] + [u for u in listed if not u.active]
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """How many users, removed ones included."""
        return 0 if parent.isValid() else len(self._rows)

    def user(self, row: int) -> users.User | None:
        """The user in `row`, or None out of range."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, name: str) -> int:
        """The row of the active user called `name` (any case); -1 when none."""
        wanted = users.normal_name(name).casefold()
        for row, user in enumerate(self._rows):
            if user.active and user.name.casefold() == wanted:
                return row
        return -1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell texts; the `User` under `UserRole`; removed users greyed."""
        if not index.isValid() or index.parent().isValid():
            return None
        user = self.user(index.row())
        if user is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(user, index.column(), role == Qt.ItemDataRole.ToolTipRole)
        if role == self.UserRole:
            return user
        if role == Qt.ItemDataRole.ForegroundRole and not user.active:
            return QApplication.palette().color(
                QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text
            )
        return None

    def _text(self, user: users.User, column: int, tip: bool) -> str | None:
        if column == self.NAME:
            return visible(user.name)
        if column == self.ROLE:
            return user.role_words
        if column == self.ADDED:
            return user.created_at.replace("T", " ")[:16] if tip else day(user.created_at)
        if column == self.ADDED_BY:
            return visible(user.created_by)
        if column == self.REMOVED:
            if user.active:
                return "" if not tip else "Can unlock this workspace"
            return f"{day(user.removed_at)} by {visible(user.removed_by)}"
        return None
