"""Changesets other offices sent, as a lazily fetched table: newest received first."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from storage import history
from storage.connection import Connection
from ui.models.case_table import CaseIdRole
from ui.models.headed_table import HeadedTableModel
from ui.models.history_model import when

PAGE_SIZE = 100
# CaseIdRole (UserRole + 1) is the case list's, so a view can open a case from either.
ChangesetIdRole = Qt.ItemDataRole.UserRole + 2
SignatureOkRole = Qt.ItemDataRole.UserRole + 3
OriginRole = Qt.ItemDataRole.UserRole + 4

Index = QModelIndex | QPersistentModelIndex


def received(applied_at: str) -> str:
    """When a changeset was applied here, as a person reads it (UTC, to the second)."""
    try:
        moment = dt.datetime.fromisoformat(applied_at)
    except ValueError:
        return applied_at
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def tooltip(text: str) -> str:
    """A tooltip that shows `text` as it is. Qt guesses whether a tooltip is rich text from
    its first tag, and these carry what other offices typed (titles, names): so the text is
    escaped and marked as rich text, never left to the guess."""
    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


def case_text(entry: history.IncomingEntry) -> str:
    """The case a change belongs to: its reference and title, or what stands for it."""
    if not entry.case_id:
        return "(keys, no case)"
    if not entry.case_reference and not entry.case_title:
        return entry.case_id  # not here (yet): named by its id
    return " ".join(part for part in (entry.case_reference, entry.case_title) if part)


class IncomingModel(HeadedTableModel):
    """Changesets made by offices other than ours, newest received first, optionally from
    one office and received since a moment, each signature checked as it is read.

    `DisplayRole` gives the text, `CaseIdRole` the case's id (empty for key statements),
    `ChangesetIdRole` the changeset's id, `SignatureOkRole` whether its signature verifies
    and `OriginRole` the office's origin. Pages come from `storage.history.incoming` as
    the view scrolls, so 100,000 received changesets open with one page.
    """

    RECEIVED, OFFICE, CASE, WHAT, SIGNATURE = range(5)
    HEADERS: ClassVar[tuple[str, ...]] = (
        "Received (UTC)",
        "Signed by",
        "Case",
        "What changed",
        "Signature",
    )

    def __init__(self, conn: Connection, own_origin: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._conn = conn
        self._own_origin = own_origin
        self._origin: str | None = None
        self._since: dt.datetime | None = None
        self._rows: list[history.IncomingEntry] = []
        self._exhausted = False
        self._resetting = False
        self._load()

    def _page(self, offset: int) -> list[history.IncomingEntry]:
        return history.incoming(
            self._conn,
            self._own_origin,
            origin=self._origin,
            since=self._since,
            limit=PAGE_SIZE,
            offset=offset,
        )

    def _load(self) -> None:
        self._rows = self._page(0)
        self._exhausted = len(self._rows) < PAGE_SIZE

    def set_filter(self, origin: str | None, since: dt.datetime | None) -> None:
        """Show changesets of one office (`origin`; None: every other office) received at
        or after `since` (None: whenever), from the newest."""
        # No rows are fetched while the reset is signalled: a listener (a view, Qt's
        # model tester) may ask for more from its `modelReset` slot, and an insert then
        # would nest inside the reset before the other listeners have seen it.
        self._resetting = True
        try:
            self.beginResetModel()
            self._origin, self._since = origin, since
            self._load()
            self.endResetModel()
        finally:
            self._resetting = False

    def refresh(self) -> None:
        """Reread from the newest received changeset, with the same filter."""
        self.set_filter(self._origin, self._since)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        """Older changesets wait in the database."""
        return not parent.isValid() and not self._resetting and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        """Append the next older page."""
        if not self.canFetchMore(parent):
            return
        page = self._page(len(self._rows))
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

    def entry(self, row: int) -> history.IncomingEntry | None:
        """The changeset shown in `row`, or None outside the loaded rows."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, tooltips, the ids and the signature verdict."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        if role == CaseIdRole:
            return entry.case_id
        if role == ChangesetIdRole:
            return entry.id
        if role == SignatureOkRole:
            return entry.signature_ok
        if role == OriginRole:
            return entry.origin
        if role == Qt.ItemDataRole.DisplayRole:
            values = (
                received(entry.received_at),
                entry.signer or entry.office,
                case_text(entry),
                "; ".join(entry.changes),
                "verified" if entry.signature_ok else "DOES NOT VERIFY",
            )
            return values[index.column()] if 0 <= index.column() < len(values) else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(self._tip(entry, index.column()))
        return None

    def _tip(self, entry: history.IncomingEntry, column: int) -> str:
        if column == self.WHAT:
            return "\n".join(entry.changes)  # the cell may be cut short
        if column == self.SIGNATURE and not entry.signature_ok:
            return (
                "This change is not as its office signed it, or not signed by that office's"
                " key. Do not rely on it; tell your IT staff."
            )
        return (
            f"Signed by {entry.signer or entry.office}; its author wrote the name"
            f" “{entry.author}”; made {when(entry.hlc)} UTC by their clock."
            f"\nChangeset {entry.id[:16]}…"
        )
