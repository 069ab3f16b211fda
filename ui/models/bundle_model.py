"""The bundles found on a stick (or any folder), as a table model.

Rows are made on a worker thread from `sync.importer.inspect_bundle` (which decrypts and
checks every part, so "verified" means the whole bundle verified, not only its head) and
handed to the model on the GUI thread with `set_rows`. The model never touches the
workspace. `BundlePathRole` gives a row's head file, `StateRole` its verification state as
a short code, `DetailRole` the sentence that explains a refusal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import (
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from ui.models.headed_table import HeadedTableModel

BundlePathRole = Qt.ItemDataRole.UserRole + 1
StateRole = Qt.ItemDataRole.UserRole + 2
DetailRole = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex

# inspect_bundle's refusal codes in words a person reads in a table cell.
REFUSAL_WORDS = {
    "damaged": "damaged",
    "digest": "altered or incomplete",
    "truncated": "cut short",
    "missing part": "a part is missing",
    "signature": "signature does not verify",
    "not addressed to us": "not addressed to us",
    "not a bundle": "not a Valise bundle",
    "malformed": "malformed",
    "limits": "too large",
    "version": "written by a newer Valise",
    "unknown signer": "holds changes of an unknown office",
    "not a file": "not a file (a link, pipe, device or folder)",
    "not kept": "from an unknown office, too large to keep",
}
VERIFIED = "verified"


def refusal_words(reason: str) -> str:
    """A refusal code from the sync layer as a few plain words ("digest" -> "altered")."""
    return REFUSAL_WORDS.get(reason, reason)


def when_written(created: str) -> str:
    """A manifest's ISO time as a date and time in UTC (offices sit in different zones)."""
    try:
        moment = dt.datetime.fromisoformat(created)
    except ValueError:
        return created
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def size_text(size: int) -> str:
    """A byte count as a person reads it (1,536 -> "1.5 KiB")."""
    if size < 1024:
        return f"{size:,} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:,.1f} {unit}"
    return f"{size:,} bytes"  # not reached


@dataclass(frozen=True)
class BundleRow:
    """One bundle as listed: who wrote it, when, how big, and whether it verified.

    `state` is a short code: "verified", "already imported", "not for us", "unknown
    sender", "sender not verified", "ours", "refused" or "unreadable"; `state_text` is
    what the table shows and `detail` the full sentence (empty when there is nothing more
    to say).
    """

    head: Path
    sender: str
    created: str
    parts: int | None
    size: int | None
    state: str
    state_text: str
    detail: str = ""

    @property
    def importable(self) -> bool:
        """True when importing it would do something (bring in changes or park it)."""
        return self.state in (VERIFIED, "unknown sender", "sender not verified")


def row_from_inspection(head: Path, info: dict[str, Any]) -> BundleRow:
    """Turn `sync.importer.inspect_bundle`'s answer into a row; pure, for the worker."""
    verification = str(info.get("verification", ""))
    detail = str(info.get("detail", ""))
    if verification.startswith("refused (") and verification.endswith(")"):
        state, text = "refused", refusal_words(verification[len("refused (") : -1])
    elif verification == "written by this installation":
        state, text = "ours", verification
    else:
        state, text = verification, verification
    sender = str(info.get("sender", ""))
    if state == VERIFIED and info.get("sender_verified") is False:
        detail = detail or (
            "The bundle verified; nobody here compared its sender's fingerprint, but this"
            " office accepts unverified peers."
        )
    parts = info.get("parts")
    size = info.get("bytes")  # known only once the head opened and listed its parts
    return BundleRow(
        head=head,
        sender=sender,
        created=str(info.get("created", "")),
        parts=int(parts) if parts is not None else None,
        size=int(size) if size is not None else None,
        state=state,
        state_text=text,
        detail=detail,
    )


def unreadable_row(head: Path, message: str) -> BundleRow:
    """A bundle that could not be read at all (a stick pulled out, a full disk)."""
    return BundleRow(head, "", "", None, None, "unreadable", "could not be read", message)


class BundleModel(HeadedTableModel):
    """Bundles in a folder: Sender, Written, Parts, Size, Verification, File.

    `Qt.DisplayRole` gives the text, `ToolTipRole` the explanation of the verification
    state, `BundlePathRole` the head file (a `str`), `StateRole` the state code,
    `DetailRole` the full sentence.
    """

    SENDER, STATE, WRITTEN, SIZE, PARTS, FILE = range(6)
    HEADERS: ClassVar[tuple[str, ...]] = (
        "Sender",
        "Verification",
        "Written",
        "Size",
        "Parts",
        "File",
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[BundleRow] = []

    def set_rows(self, rows: list[BundleRow]) -> None:
        """Show a new listing (after a folder was scanned)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        """Show nothing (a new folder is being scanned)."""
        self.set_rows([])

    # -- shape and data ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per bundle; children of a row: none."""
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Rows are selectable, never editable: a listing of files on a stick."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text for DisplayRole, the explanation for ToolTipRole, the head file for
        BundlePathRole, the state code for StateRole, the sentence for DetailRole."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == self.FILE:
                return str(row.head)
            return row.detail or self._text(row, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (
            self.PARTS,
            self.SIZE,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == BundlePathRole:
            return str(row.head)
        if role == StateRole:
            return row.state
        if role == DetailRole:
            return row.detail
        return None

    def _text(self, row: BundleRow, column: int) -> str | None:
        if column == self.SENDER:
            return row.sender or "unknown"
        if column == self.WRITTEN:
            return when_written(row.created) if row.created else ""
        if column == self.PARTS:
            return "" if row.parts is None else f"{row.parts:,}"
        if column == self.SIZE:
            return "" if row.size is None else size_text(row.size)
        if column == self.STATE:
            return row.state_text
        if column == self.FILE:
            return row.head.name
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[BundlePathRole] = QByteArray(b"bundlePath")
        names[StateRole] = QByteArray(b"verificationState")
        names[DetailRole] = QByteArray(b"verificationDetail")
        return names

    # -- rows ----------------------------------------------------------------------------

    def bundle(self, row: int) -> BundleRow | None:
        """The bundle in a row, if any."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def bundles(self) -> list[BundleRow]:
        """Every bundle listed, in order."""
        return list(self._rows)
