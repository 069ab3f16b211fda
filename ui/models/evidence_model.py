"""The evidence register of one case as a table model.

The model never reads the database: the evidence tab reads the case's items on its worker
(`storage.queries.in_case`) and hands them over with `set_rows`, because the workspace's
connection must not be used from the GUI thread while a worker holds it. A case holds tens
to a few thousand items, so the rows are kept whole. `EvidenceIdRole` gives a row's id,
the one `storage.evidence` functions accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from PySide6.QtCore import (
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from storage.hlc import Stamp
from storage.records import Evidence
from ui.models.bundle_model import size_text
from ui.models.headed_table import HeadedTableModel

EvidenceIdRole = Qt.ItemDataRole.UserRole + 1
ErnRole = Qt.ItemDataRole.UserRole + 2
Sha256Role = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex

SHORT_HASH = 12  # hex digits shown in the list: enough to tell items apart, not to verify


def short_hash(sha256: str) -> str:
    """The first hex digits of a SHA-256, for a list column (the tooltip has all of it)."""
    return sha256[:SHORT_HASH] + "…" if len(sha256) > SHORT_HASH else sha256


def date_added(item: Evidence) -> str:
    """The UTC day the item was registered here, from its creation stamp."""
    try:
        wall_ms = Stamp.parse(item.created_hlc).wall_ms
    except (ValueError, AttributeError):
        return ""
    return datetime.fromtimestamp(wall_ms / 1000, UTC).strftime("%Y-%m-%d")


class EvidenceModel(HeadedTableModel):
    """Items of one case: ERN, Title, Type, Size, SHA-256 (short), Added.

    `Qt.DisplayRole` gives the text, `ToolTipRole` fuller text (the original file name
    under the title, the whole hash), `EvidenceIdRole` the item's id, `ErnRole` its ERN
    and `Sha256Role` its whole SHA-256. Rows are read-only: register fields are edited in
    the tab's form, through `storage.cases.update_record`.
    """

    ERN, TITLE, TYPE, SIZE, SHA256, ADDED = range(6)
    HEADERS: ClassVar[tuple[str, ...]] = ("ERN", "Title", "Type", "Size", "SHA-256", "Added")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Evidence] = []

    def set_rows(self, rows: Sequence[Evidence]) -> None:
        """Show `rows` (read on the worker) in place of what was shown."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    # -- shape and data ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per item; children of a row: none."""
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Rows are selectable, not editable in place."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text for DisplayRole and ToolTipRole, ids and hashes for the custom roles."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(item, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == self.TITLE and item.original_name != item.title:
                return f"{item.title}\nFile: {item.original_name}"
            if index.column() == self.SHA256:
                return item.sha256
            if index.column() == self.SIZE:
                return f"{item.size:,} bytes"
            return self._text(item, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == self.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == EvidenceIdRole:
            return str(item.id)
        if role == ErnRole:
            return item.ern
        if role == Sha256Role:
            return item.sha256
        return None

    def _text(self, item: Evidence, column: int) -> str | None:
        if column == self.ERN:
            return item.ern
        if column == self.TITLE:
            return item.title or item.original_name
        if column == self.TYPE:
            return item.type
        if column == self.SIZE:
            return size_text(item.size)
        if column == self.SHA256:
            return short_hash(item.sha256)
        if column == self.ADDED:
            return date_added(item)
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[EvidenceIdRole] = QByteArray(b"evidenceId")
        names[ErnRole] = QByteArray(b"ern")
        names[Sha256Role] = QByteArray(b"sha256")
        return names

    # -- ids -----------------------------------------------------------------------------

    def item(self, row: int) -> Evidence | None:
        """The item in a row (as read at the last `set_rows`)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, evidence_id: str) -> int:
        """The row of an item by its id, or -1."""
        for row, item in enumerate(self._rows):
            if item.id == evidence_id:
                return row
        return -1

    def items(self) -> list[Evidence]:
        """Every item shown."""
        return list(self._rows)
