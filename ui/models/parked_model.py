"""What imports kept aside (sync.parked), as a table: what, from whom, case, for what, since."""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from sync.parked import BUNDLE, Waiting
from ui.models.case_table import CaseIdRole
from ui.models.headed_table import HeadedTableModel
from ui.models.incoming_model import received, tooltip

Index = QModelIndex | QPersistentModelIndex
KINDS = {"changeset": "change", "bundle": "bundle", "quarantined": "quarantined change"}


def what_text(item: Waiting) -> str:
    """What waits, in a few words: "change 4 (epoch 0)" or "bundle"."""
    if item.kind == BUNDLE:
        return "bundle"
    return f"{KINDS.get(item.kind, item.kind)}, {item.position}"


def from_text(item: Waiting) -> str:
    """Who it comes from: the office that made it, and the one that sent it when another."""
    if item.kind == BUNDLE:
        return f"{item.sender} (not verified)" if item.sender else "an unknown office"
    if item.sender and item.sender != item.author:
        return f"{item.author}, sent by {item.sender}"
    return item.author


def case_text(item: Waiting) -> str:
    """The case by reference and title, or by id when it is not here (often why it waits)."""
    if item.kind == BUNDLE:
        return "(inside the bundle)"
    return item.case or f"{item.case_id} (not here yet)"


class ParkedModel(HeadedTableModel):
    """Everything waiting, oldest first: `DisplayRole` gives the text, `ToolTipRole` the
    whole of a cell that may be cut short, `CaseIdRole` the case's id (empty for a bundle
    or a statement about keys)."""

    WHAT, FROM, CASE, WAITS_FOR, SINCE = range(5)
    HEADERS: ClassVar[tuple[str, ...]] = ("What", "From", "Case", "Waits for", "Since (UTC)")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Waiting] = []

    def set_items(self, items: list[Waiting]) -> None:
        """Show `items` (from sync.parked.list_waiting)."""
        self.beginResetModel()
        self._rows = list(items)
        self.endResetModel()

    def item(self, row: int) -> Waiting | None:
        """The item shown in `row`, or None outside the rows."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Items waiting."""
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, whole-cell tooltips and the case id."""
        item = self.item(index.row()) if index.isValid() else None
        if item is None:
            return None
        if role == CaseIdRole:
            return item.case_id
        texts = (
            what_text(item),
            from_text(item),
            case_text(item),
            item.waits_for,
            received(item.since),
        )
        if not 0 <= index.column() < len(texts):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return texts[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(texts[index.column()])
        return None
