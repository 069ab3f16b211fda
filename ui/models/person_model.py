"""The persons of one case as a table model, with protected identities withheld.

A protected person (protection partial or full) is shown by pseudonym with a shield; the
legal name and the rest of the identity stay out of every role until the view calls
`reveal(person_id)` after the person at the keyboard confirmed (and the view audited it).
`hide()` withholds it again; `refresh()` always does. Persons of a case are few, so
`refresh()` rereads them whole through `storage.queries.in_case`; the model runs no SQL.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import (
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from storage import queries
from storage.records import CaseId, Person, PersonId
from storage.workspace import Workspace
from ui.models.headed_table import HeadedTableModel

PersonIdRole = Qt.ItemDataRole.UserRole + 1
IsProtectedRole = Qt.ItemDataRole.UserRole + 2
RevealedRole = Qt.ItemDataRole.UserRole + 3

Index = QModelIndex | QPersistentModelIndex

PROTECTED_TEXT = "protected"
WITHHELD = "(withheld: reveal to see)"
_shield: QIcon | None = None


def shield_icon() -> QIcon:
    """A small drawn shield, made once. Drawn rather than a glyph: the bundled DejaVu Sans
    has no shield character, and a missing glyph shows as an empty box."""
    global _shield
    if _shield is None:
        icon = QIcon()
        for size in (16, 24, 32):
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            s = float(size)
            path = QPainterPath(QPointF(s * 0.5, s * 0.06))
            path.lineTo(s * 0.88, s * 0.2)
            path.cubicTo(s * 0.88, s * 0.6, s * 0.7, s * 0.82, s * 0.5, s * 0.95)
            path.cubicTo(s * 0.3, s * 0.82, s * 0.12, s * 0.6, s * 0.12, s * 0.2)
            path.closeSubpath()
            painter.setPen(QPen(QColor("#1f3a68"), max(1.0, s / 16)))
            painter.setBrush(QBrush(QColor("#3b6fb6")))
            painter.drawPath(path)
            painter.end()
            icon.addPixmap(pixmap)
        _shield = icon
    return _shield


def protection_label(level: str) -> str:
    """A protection level as a person reads it."""
    return {"none": "None", "partial": "Partial", "full": "Full"}.get(level, level)


class PersonModel(HeadedTableModel):
    """Persons of one case: Protected (a shield), Name or pseudonym, Role, Protection,
    Languages.

    `Qt.DisplayRole` gives the text; the Protected column has no text but a shield
    (`DecorationRole`) and the accessible text "protected". `PersonIdRole` gives the id,
    `IsProtectedRole` whether the identity is withheld by default, `RevealedRole` whether it
    is shown now. The legal name of a protected person appears in no role until `reveal`.
    """

    PROTECTED, NAME, ROLE, PROTECTION, LANGUAGES = range(5)
    HEADERS: ClassVar[tuple[str, ...]] = (
        "Protected",
        "Name or pseudonym",
        "Role",
        "Protection",
        "Languages",
    )

    def __init__(
        self, workspace: Workspace, case_id: CaseId, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._case_id = case_id
        self._rows: list[Person] = queries.in_case(workspace.conn, Person, case_id)
        self._revealed: PersonId | None = None

    def refresh(self) -> None:
        """Reread the persons (after an add or an import); any reveal is withdrawn."""
        self.beginResetModel()
        self._revealed = None
        self._rows = queries.in_case(self._ws.conn, Person, self._case_id)
        self.endResetModel()

    # -- reveal --------------------------------------------------------------------------

    def reveal(self, person_id: PersonId) -> bool:
        """Show one protected person's identity (the caller confirmed and audited it);
        any other reveal is hidden first. False when the person is not in the list."""
        row = self.row_of(person_id)
        if row < 0:
            return False
        self.hide()
        self._revealed = person_id
        self._row_changed(row)
        return True

    def hide(self) -> None:
        """Withhold every protected identity again."""
        if self._revealed is None:
            return
        row = self.row_of(self._revealed)
        self._revealed = None
        if row >= 0:
            self._row_changed(row)

    def revealed(self) -> PersonId | None:
        """The person whose identity is shown now, if any."""
        return self._revealed

    def identity_shown(self, person: Person) -> bool:
        """True when the person's identity may be shown: not protected, or revealed."""
        return not person.is_protected or person.id == self._revealed

    def _row_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.HEADERS) - 1))

    # -- shape and data ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per person; children of a row: none."""
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Rows are selectable, not editable in place: changes go through actions."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, the shield and its accessible text, tooltips and the explicit roles."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        person = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(person, column)
        if role == Qt.ItemDataRole.DecorationRole:
            return shield_icon() if column == self.PROTECTED and person.is_protected else None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if column == self.PROTECTED:
                return PROTECTED_TEXT if person.is_protected else "not protected"
            return self._text(person, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.PROTECTED and person.is_protected:
                return (
                    "Protected: known by pseudonym; the identity is shown only on an"
                    " explicit reveal, which is recorded in the audit log"
                )
            return self._text(person, column)
        if role == PersonIdRole:
            return person.id
        if role == IsProtectedRole:
            return person.is_protected
        if role == RevealedRole:
            return person.id == self._revealed
        return None

    def _text(self, person: Person, column: int) -> str | None:
        if column == self.PROTECTED:
            return None
        if column == self.NAME:
            if not person.is_protected:
                return person.legal_name or person.pseudonym
            if person.id == self._revealed:
                return f"{person.pseudonym} — {person.legal_name or '(no name recorded)'}"
            return person.pseudonym
        if column == self.ROLE:
            return person.role.capitalize()
        if column == self.PROTECTION:
            return protection_label(person.protection)
        if column == self.LANGUAGES:
            return person.languages
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[PersonIdRole] = QByteArray(b"personId")
        names[IsProtectedRole] = QByteArray(b"isProtected")
        names[RevealedRole] = QByteArray(b"revealed")
        return names

    # -- ids -----------------------------------------------------------------------------

    def person(self, row: int) -> Person | None:
        """The person in a row (as read at the last refresh)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, person_id: str) -> int:
        """The row of a person by id, or -1."""
        for row, person in enumerate(self._rows):
            if person.id == person_id:
                return row
        return -1
