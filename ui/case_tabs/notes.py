"""The notes of a case, oldest first, each with its class: open, protected or privileged.

The class decides where a note may go: open notes travel with the case, protected ones
only to peers allowed protected content, privileged ones (internal work product) never
leave the office, so they are marked visibly. Notes are added through
`storage.cases.add_note`, the command line's write path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from PySide6.QtCore import (
    QByteArray,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import queries
from storage.cases import add_note, withdraw
from storage.entities import NOTE_CLASSES, OPEN, PRIVILEGED, PROTECTED
from storage.errors import StorageError
from storage.records import CaseId, Note
from storage.workspace import Workspace
from ui.models.headed_table import HeadedTableModel
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import TaskRunner

TITLE = "Notes"
NoteIdRole = Qt.ItemDataRole.UserRole + 1
NoteClassRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex

CLASS_LABELS = {
    OPEN: "Open",
    PROTECTED: "Protected",
    PRIVILEGED: "PRIVILEGED: never shared",
}
CLASS_HINTS = {
    OPEN: "Open: travels with the case to every peer it is shared with",
    PROTECTED: "Protected: only for peers allowed protected content",
    PRIVILEGED: "Privileged: internal work product, never leaves this office",
}
PRIVILEGED_COLOUR = QColor("#8b1a1a")


def class_label(klass: str) -> str:
    """A note class as shown in the list; privileged stands out in capitals."""
    return CLASS_LABELS.get(klass, klass)


def first_line(text: str, limit: int = 120) -> str:
    """The start of a note for the list (the whole text is shown below it)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


class NoteModel(HeadedTableModel):
    """Notes of one case, oldest first: Class, Note (its first line).

    Privileged rows are bold and dark red in the Class column, with a tooltip saying why.
    `NoteIdRole` gives the id, `NoteClassRole` the class value (open, protected,
    privileged).
    """

    CLASS, TEXT = range(2)
    HEADERS: ClassVar[tuple[str, ...]] = ("Class", "Note")

    def __init__(
        self, workspace: Workspace, case_id: CaseId, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._case_id = case_id
        self._rows: list[Note] = queries.in_case(workspace.conn, Note, case_id)

    def refresh(self) -> None:
        """Reread the notes after one is added or an import brought some."""
        self.beginResetModel()
        self._rows = queries.in_case(self._ws.conn, Note, self._case_id)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per note; children of a row: none."""
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
        """Text, the privileged marking (bold, dark red, tooltip) and the explicit roles."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        note = self._rows[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return class_label(note.klass) if column == self.CLASS else first_line(note.text)
        if role == Qt.ItemDataRole.ToolTipRole:
            return CLASS_HINTS.get(note.klass, note.klass) if column == self.CLASS else None
        if role == Qt.ItemDataRole.FontRole and note.klass == PRIVILEGED:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and note.klass == PRIVILEGED:
            return QBrush(PRIVILEGED_COLOUR)
        if role == NoteIdRole:
            return note.id
        if role == NoteClassRole:
            return note.klass
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[NoteIdRole] = QByteArray(b"noteId")
        names[NoteClassRole] = QByteArray(b"noteClass")
        return names

    def note(self, row: int) -> Note | None:
        """The note in a row (as read at the last refresh)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, note_id: str) -> int:
        """The row of a note by id, or -1."""
        for row, note in enumerate(self._rows):
            if note.id == note_id:
                return row
        return -1


@dataclass(frozen=True)
class NewNote:
    """What the Add note dialog asked for."""

    text: str
    klass: str


NoteAsker = Callable[[QWidget], NewNote | None]


class AddNoteDialog(QDialog):
    """Asks for a note's text and class (open by default); nothing is recorded here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a note — Valise")
        self.setAccessibleName("Add a note")
        self.text_edit = QPlainTextEdit(self)
        self.text_edit.setAccessibleName("Note text")
        self.text_edit.setTabChangesFocus(True)
        self.class_combo = QComboBox(self)
        self.class_combo.setAccessibleName("Class of the note")
        for klass in NOTE_CLASSES:
            self.class_combo.addItem(CLASS_HINTS[klass], klass)
        self.class_combo.setCurrentIndex(self.class_combo.findData(OPEN))
        form = QFormLayout()
        for text, widget in (("&Text:", self.text_edit), ("&Class:", self.class_combo)):
            caption = QLabel(text, self)
            caption.setBuddy(widget)
            form.addRow(caption, widget)
        self.buttons = QDialogButtonBox(self)
        self.add_button = self.buttons.addButton(
            "&Add note", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.add_button.setAccessibleName("Add note")
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.text_edit.textChanged.connect(self._update)
        self._update()
        self.text_edit.setFocus()

    @Slot()
    def _update(self) -> None:
        self.add_button.setEnabled(bool(self.text_edit.toPlainText().strip()))

    def set_class(self, klass: str) -> None:
        """Choose a class (as a person would in the list)."""
        self.class_combo.setCurrentIndex(self.class_combo.findData(klass))

    def new_note(self) -> NewNote:
        """What was typed and chosen."""
        klass = self.class_combo.currentData()
        return NewNote(self.text_edit.toPlainText(), klass if isinstance(klass, str) else OPEN)

    @classmethod
    def ask(cls, parent: QWidget) -> NewNote | None:
        """Show the dialog modally; the new note, or None on cancel."""
        dialog = cls(parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.new_note()


class NotesTab(QWidget):
    """The notes of one case with the selected note's whole text, and Add note….

    `changed()` is emitted after a note is added. `ask_note` is the Add note question (the
    real dialog by default; tests put their own answer here).
    """

    changed = Signal()

    def __init__(
        self,
        workspace: Workspace,
        case_id: CaseId,
        *,
        prompts: Prompts,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._case_id = case_id
        self._prompts = prompts
        self._runner = runner  # reads and edits here are small: done on the GUI thread
        self.ask_note: NoteAsker = AddNoteDialog.ask
        self.setAccessibleName(TITLE)

        self.model = NoteModel(workspace, case_id, self)
        self.table = QTableView(self)
        self.table.setAccessibleName("Notes of the case, oldest first")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(NoteModel.CLASS, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self.text_view = QPlainTextEdit(self)
        self.text_view.setReadOnly(True)
        self.text_view.setTabChangesFocus(True)
        self.text_view.setAccessibleName("Text of the selected note")
        self.class_label = QLabel(self)
        self.class_label.setTextFormat(Qt.TextFormat.PlainText)
        self.class_label.setAccessibleName("Class of the selected note")

        self.add_button = QPushButton("&Add note…", self)
        self.add_button.setAccessibleName("Add a note")
        self.add_button.clicked.connect(self.add)
        self.withdraw_button = QPushButton("&Withdraw…", self)
        self.withdraw_button.setAccessibleName("Withdraw the selected note")
        self.withdraw_button.clicked.connect(self.withdraw_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.withdraw_button)
        buttons.addStretch(1)

        detail = QWidget(self)
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.class_label)
        detail_layout.addWidget(self.text_view, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)

        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._select_row(0)
        self._show_selected()

    def selected_note(self) -> Note | None:
        """The selected note, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.note(rows[0].row()) if rows else None

    def _select_row(self, row: int) -> None:
        if self.model.rowCount() == 0:
            return
        row = max(0, min(row, self.model.rowCount() - 1))
        index = self.model.index(row, NoteModel.TEXT)
        self.table.selectionModel().select(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        note = self.selected_note()
        self.withdraw_button.setEnabled(note is not None)
        if note is None:
            self.class_label.setText("No notes yet." if not self.model.rowCount() else "")
            self.text_view.setPlainText("")
            return
        self.class_label.setText(CLASS_HINTS.get(note.klass, note.klass) + ".")
        self.text_view.setPlainText(note.text)

    def refresh(self) -> None:
        """Reread the notes, keeping the same one selected."""
        current = self.selected_note()
        row = self.table.currentIndex().row()
        self.model.refresh()
        target = self.model.row_of(current.id) if current else -1
        self._select_row(target if target >= 0 else max(row, 0))
        self._show_selected()

    @Slot()
    def withdraw_selected(self) -> None:
        """Withdraw the selected note after a confirmation; it stays in the history."""
        note = self.selected_note()
        if note is None:
            return
        title = "Withdraw a note"
        first_words = " ".join(note.text.split()[:8])
        asked = (
            f"Withdraw the note \u201c{first_words}\u2026\u201d? It leaves this case's"
            " notes here and at the offices the case is shared with; it stays in the"
            " case's history."
        )
        if not self._prompts.confirm(self, title, asked):
            return
        try:
            withdraw(self._ws, Note, note.id)
        except StorageError as exc:
            self._prompts.warn(self, title, f"{sentence(str(exc))} Nothing was changed.")
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        self.refresh()
        self.changed.emit()

    @Slot()
    def add(self) -> None:
        """Ask for a note and add it to the case; it is selected afterwards."""
        title = "Add a note"
        new = self.ask_note(self)
        if new is None:
            return  # a cancel is silent
        try:
            note_id = add_note(self._ws, self._case_id, new.text, klass=new.klass)
        except StorageError as exc:
            self._prompts.warn(self, title, f"{sentence(str(exc))} Nothing was added.")
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        self.model.refresh()
        self._select_row(self.model.row_of(note_id))
        self._show_selected()
        self.changed.emit()
