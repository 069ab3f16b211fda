"""The open conflict queue as a table model: both values of each conflict side by side.

The queue is short (a handful of concurrent edits between two exchanges), so `refresh()`
rereads it whole through `sync.conflicts.list_conflicts`; the model never runs SQL. Each row
keeps the `Conflict` record it was read as, so a view can show both values and hand the
conflict's number (`ConflictIdRole`) to `sync.conflicts.resolve`.

Values come from other offices and are shown as plain text; nothing here is ever HTML.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from PySide6.QtCore import (
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from storage import queries
from storage.apply import WITHDRAWAL
from storage.errors import StorageError
from storage.hlc import Stamp
from storage.records import Case
from storage.text_rules import visible
from storage.workspace import Workspace
from sync.conflicts import WITHHELD, Conflict, get_conflict, list_conflicts, reveal_conflict
from ui.models.headed_table import HeadedTableModel

ConflictIdRole = Qt.ItemDataRole.UserRole + 1
IsWithdrawalRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex

MAX_CELL_CHARS = 120  # a cell shows the start of a long value; the tooltip and view show all
EMPTY = "(empty)"
WITHHELD_TEXT = "(protected — Reveal identity… shows it)"


def is_withdrawal(conflict: Conflict) -> bool:
    """True for an edit flagged against a concurrent withdrawal (not two values of a field).

    Such a conflict is settled by keeping the record withdrawn or restoring it, never by
    writing a value, so views word it and offer its choices differently.
    """
    return conflict.field == WITHDRAWAL


def value_text(value: object) -> str:
    """A stored value as a person reads it: text as typed, lists joined, edits as lines."""
    if value is None or value == "":
        return EMPTY
    if value == WITHHELD:
        return WITHHELD_TEXT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(item) for item in value) or EMPTY
    if isinstance(value, dict):
        if not value:
            return EMPTY
        return "\n".join(f"{field_label(str(k))}: {value_text(v)}" for k, v in value.items())
    return str(value)


def field_label(name: str) -> str:
    """A field name as a column heading would say it ("lead_office" -> "Lead office")."""
    if name == WITHDRAWAL:
        return "Withdrawal"
    return name.replace("_", " ").capitalize()


def shown_text(conflict: Conflict) -> str:
    """What the shown side stands for; for a withdrawal, that the record is withdrawn."""
    if is_withdrawal(conflict):
        return "Withdrawn"
    return value_text(conflict.shown_value)


def other_text(conflict: Conflict) -> str:
    """What the waiting side stands for; for a withdrawal, the edit made without seeing it."""
    if is_withdrawal(conflict):
        return "Edited meanwhile:\n" + value_text(conflict.other_value)
    return value_text(conflict.other_value)


def when_text(hlc: str) -> str:
    """An HLC stamp as a date and time in UTC (offices sit in different time zones)."""
    try:
        stamp = Stamp.parse(hlc)
    except ValueError:
        return hlc
    moment = dt.datetime.fromtimestamp(stamp.wall_ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def one_line(text: str) -> str:
    """A cell's text: on one line, cut after `MAX_CELL_CHARS` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_CELL_CHARS else flat[: MAX_CELL_CHARS - 1] + "…"


class ConflictModel(HeadedTableModel):
    """Open conflicts of one workspace: Record, Field, Shown value, By, When, Other value,
    By, When.

    `Qt.DisplayRole` gives one-line text (the full text in `ToolTipRole`), `ConflictIdRole`
    the conflict's number for `sync.conflicts.resolve`, `IsWithdrawalRole` whether it is an
    edit against a withdrawal. Read-only: resolving goes through the write path.
    """

    RECORD, FIELD, SHOWN, SHOWN_BY, SHOWN_AT, OTHER, OTHER_BY, OTHER_AT = range(8)
    HEADERS: ClassVar[tuple[str, ...]] = (
        "Record",
        "Field",
        "Shown value",
        "Shown value by",
        "Shown value at",
        "Other value",
        "Other value by",
        "Other value at",
    )

    def __init__(self, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._rows: list[Conflict] = []
        self._records: dict[str, str] = {}
        self._revealed: set[int] = set()  # conflicts whose identities a person revealed here
        self._load()

    # -- loading -------------------------------------------------------------------------

    def _load(self) -> None:
        """Reread the queue (no model signals: callers reset). Protected identities stay
        withheld, except in conflicts already revealed (and audited) in this view."""
        self._rows = [
            get_conflict(self._ws, c.id) if c.id in self._revealed else c
            for c in list_conflicts(self._ws)
        ]
        self._records = {}

    def reveal(self, conflict_id: int) -> None:
        """Show the protected values of one conflict, after recording the reveal in the
        audit chain (nothing is shown when recording fails: the error propagates)."""
        row = self.row_of(conflict_id)
        if row < 0:
            return
        self._rows[row] = reveal_conflict(self._ws, conflict_id)
        self._revealed.add(conflict_id)
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def refresh(self) -> None:
        """Reread the queue after a resolution or an import."""
        self.beginResetModel()
        self._load()
        self.endResetModel()

    def record_label(self, conflict: Conflict) -> str:
        """The record a conflict is about, by its case's reference where there is one."""
        key = f"{conflict.entity}:{conflict.entity_id}:{conflict.case_id}"
        if key not in self._records:
            self._records[key] = self._describe_record(conflict)
        return self._records[key]

    def _describe_record(self, conflict: Conflict) -> str:
        reference = ""
        if conflict.case_id:
            try:
                reference = queries.get(self._ws.conn, Case, conflict.case_id).reference
            except StorageError:  # a case we hold no copy of: fall back to the id
                reference = ""
        if conflict.entity == "case":
            return f"Case {reference or conflict.entity_id[:8]}"
        kind = conflict.entity.capitalize()
        where = f" in case {reference}" if reference else ""
        # A person by pseudonym: never by a name that may be the protected identity.
        return f"{kind} {conflict.person or conflict.entity_id[:8]}{where}"

    # -- shape and data ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per open conflict; children of a row: none."""
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Rows are selectable, not editable: a resolution is an edit through the write path."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """One-line text for DisplayRole, the full text for ToolTipRole, the conflict's
        number for ConflictIdRole, a bool for IsWithdrawalRole; None otherwise."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        conflict = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            text = self._text(conflict, index.column())
            return None if text is None else one_line(text)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._text(conflict, index.column())
        if role == ConflictIdRole:
            return conflict.id
        if role == IsWithdrawalRole:
            return is_withdrawal(conflict)
        return None

    def _text(self, conflict: Conflict, column: int) -> str | None:
        if column == self.RECORD:
            return visible(self.record_label(conflict))
        if column == self.FIELD:
            return field_label(conflict.field)
        if column == self.SHOWN:
            return shown_text(conflict)
        if column == self.SHOWN_BY:
            return visible(conflict.shown_by)
        if column == self.SHOWN_AT:
            return when_text(conflict.shown_at)
        if column == self.OTHER:
            return other_text(conflict)
        if column == self.OTHER_BY:
            return visible(conflict.other_by)
        if column == self.OTHER_AT:
            return when_text(conflict.other_at)
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[ConflictIdRole] = QByteArray(b"conflictId")
        names[IsWithdrawalRole] = QByteArray(b"isWithdrawal")
        return names

    # -- ids -----------------------------------------------------------------------------

    def conflict(self, row: int) -> Conflict | None:
        """The conflict shown in a row (as read at the last refresh)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def conflict_id(self, row: int) -> int | None:
        """The number of the conflict in a row."""
        return self._rows[row].id if 0 <= row < len(self._rows) else None

    def row_of(self, conflict_id: int) -> int:
        """The row of a conflict, or -1 (settled since, or never open)."""
        for row, conflict in enumerate(self._rows):
            if conflict.id == conflict_id:
                return row
        return -1
