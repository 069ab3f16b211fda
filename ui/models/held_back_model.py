"""Changesets an import refused (sync.quarantine), as a lazily fetched table: who signed
each, what it tried, why it was held back, when, and its case."""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from storage.workspace import Workspace
from sync.quarantine import HeldBack, count_held_back, list_held_back
from ui.models.case_table import CaseIdRole
from ui.models.headed_table import HeadedTableModel
from ui.models.incoming_model import ChangesetIdRole, received, tooltip

PAGE_SIZE = 100
Index = QModelIndex | QPersistentModelIndex


class HeldBackModel(HeadedTableModel):
    """Held-back changesets, oldest first, read a page at a time as the view scrolls.

    `DisplayRole` gives the text, `ToolTipRole` the whole of a cell that may be cut short
    (the signer's full fingerprint on the From column), `CaseIdRole` the case's id and
    `ChangesetIdRole` the changeset's.
    """

    FROM, WHAT, WHY, CASE, WHEN = range(5)
    HEADERS: ClassVar[tuple[str, ...]] = ("From", "Tried to", "Why", "Case", "Held (UTC)")

    def __init__(self, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._rows: list[HeldBack] = []
        self._total = 0
        self._resetting = False
        self._load()

    def _load(self) -> None:
        self._total = count_held_back(self._ws)
        self._rows = list_held_back(self._ws, PAGE_SIZE, 0)

    @property
    def total(self) -> int:
        """How many changesets are held back (loaded or not)."""
        return self._total

    def refresh(self) -> None:
        """Reread from the oldest (after an import)."""
        self._resetting = True  # no fetch inside the reset (see IncomingModel.set_filter)
        try:
            self.beginResetModel()
            self._load()
            self.endResetModel()
        finally:
            self._resetting = False

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        """More held-back changesets wait in the database."""
        return not parent.isValid() and not self._resetting and len(self._rows) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        """Append the next page."""
        if not self.canFetchMore(parent):
            return
        page = list_held_back(self._ws, PAGE_SIZE, len(self._rows))
        if not page:
            self._total = len(self._rows)
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Loaded rows."""
        return 0 if parent.isValid() else len(self._rows)

    def held(self, row: int) -> HeldBack | None:
        """The held-back changeset shown in `row`, or None outside the loaded rows."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, whole-cell tooltips and the ids."""
        held = self.held(index.row()) if index.isValid() else None
        if held is None:
            return None
        if role == CaseIdRole:
            return held.case_id
        if role == ChangesetIdRole:
            return held.changeset_id
        texts = (
            held.signer.label,
            held.what,
            held.reason,
            held.case or (f"{held.case_id} (not here)" if held.case_id else ""),
            received(held.held_at),
        )
        if not 0 <= index.column() < len(texts):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return texts[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == self.FROM:
                return tooltip(_signer_tip(held))
            return tooltip(texts[index.column()])
        return None


def _signer_tip(held: HeldBack) -> str:
    """Who signed it, in full: the fingerprint on its card, and how it reached us."""
    signer = held.signer
    lines = [signer.name]
    if signer.fingerprint:
        lines.append(f"Fingerprint {signer.fingerprint}")
    elif not signer.known:
        lines.append("No contact card of this key was added here.")
    lines.append(
        f"Came in bundle {held.bundle_id[:16]}" + (f" from {held.sender}" if held.sender else "")
    )
    return "\n".join(lines)
