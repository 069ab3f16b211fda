"""The notes of a case, oldest first, each with its class: open, protected or privileged.

The class decides where a note may go: open notes travel with the case, protected ones
only to peers allowed protected content, privileged ones (internal work product) never
leave the office, so they are marked visibly. Notes are added through
`storage.cases.add_note`, the command line's write path, and edited with "Edit note…" (or
Enter, or a double-click on the row) through `storage.cases.update_record` on the task
runner. Lowering a note's class is asked about first: text written under the stricter
class keeps it (`ui.dialogs.note_form.lowering_question` says where it stays).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import (
    QByteArray,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
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
from storage.cases import add_note, note_text_class, withdraw
from storage.entities import PRIVILEGED
from storage.errors import StorageError
from storage.records import CaseId, Note
from storage.workspace import Workspace
from ui.case_tabs.row_selection import (
    RowActivation,
    select_row,
    select_row_if_present,
    selected_row,
    setup_row_table,
)
from ui.case_tabs.worker_writes import NOTHING_CHANGED, WorkerWrites
from ui.dialogs.note_form import (
    CLASS_HINTS,
    CLASS_LABELS,
    AddNoteDialog,
    EditNoteDialog,
    NewNote,
    class_label,
    lowering_question,
    lowers_class,
    republishing_question,
)
from ui.models.headed_table import HeadedTableModel
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import TaskRunner

TITLE = "Notes"
NoteIdRole = Qt.ItemDataRole.UserRole + 1
NoteClassRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex

__all__ = [
    "CLASS_HINTS",
    "CLASS_LABELS",
    "AddNoteDialog",
    "EditNoteDialog",
    "NewNote",
    "NoteModel",
    "NotesTab",
    "class_label",
]

PRIVILEGED_COLOUR = QColor("#8b1a1a")


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


NoteAsker = Callable[[QWidget], NewNote | None]
NoteEditAsker = Callable[[QWidget, Note], dict[str, str] | None]


class NotesTab(QWidget):
    """The notes of one case with the selected note's whole text, and Add, Edit and
    Withdraw.

    `changed()` is emitted after a note is added, edited or withdrawn; `busy(True)` and
    `busy(False)` bracket an edit on the worker. `ask_note` is the Add note question and
    `ask_note_edit` the Edit note form (the real dialogs by default; tests put their own
    players here).
    """

    changed = Signal()
    busy = Signal(bool)

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
        self.ask_note: NoteAsker = AddNoteDialog.ask
        self.ask_note_edit: NoteEditAsker = EditNoteDialog.ask
        self.setAccessibleName(TITLE)

        self.model = NoteModel(workspace, case_id, self)
        # Edits are signed commits: on the worker
        self._writes = WorkerWrites.for_tab(
            self, runner=runner, prompts=prompts, show=self._show_selected, ending=NOTHING_CHANGED
        )
        self.table = QTableView(self)
        self.table.setAccessibleName("Notes of the case, oldest first")
        self.table.setModel(self.model)
        setup_row_table(self.table)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(NoteModel.CLASS, QHeaderView.ResizeMode.ResizeToContents)
        self._activation = RowActivation(self.table, self.edit_selected)

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
        self.edit_button = QPushButton("&Edit note…", self)
        self.edit_button.setAccessibleName("Edit the selected note")
        self.edit_button.setToolTip(
            "Change the text or the class (Enter or a double-click on the row does the same)"
        )
        self.edit_button.clicked.connect(self.edit_selected)
        self.withdraw_button = QPushButton("&Withdraw…", self)
        self.withdraw_button.setAccessibleName("Withdraw the selected note")
        self.withdraw_button.clicked.connect(self.withdraw_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.edit_button)
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
        return self.model.note(selected_row(self.table))

    def select_note(self, note_id: str) -> bool:
        """Select a note by id; False when not in this case."""
        return select_row_if_present(self.table, self.model.row_of(note_id), NoteModel.TEXT)

    def _select_row(self, row: int) -> None:
        select_row(self.table, row, NoteModel.TEXT)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        note = self.selected_note()
        busy = self._writes.busy
        self.add_button.setEnabled(not busy)
        self.edit_button.setEnabled(note is not None and not busy)
        self.withdraw_button.setEnabled(note is not None and not busy)
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
        if current is None or not self.select_note(current.id):
            self._select_row(max(row, 0))
        self._show_selected()

    @Slot()
    def edit_selected(self) -> None:
        """Open the selected note's form; write what changed on the worker.

        Lowering the class is asked about first, saying that text written under the
        stricter class keeps it; declining changes nothing.
        """
        title = "Edit note"
        note = self.selected_note()
        if note is None or self._writes.busy:
            return
        asked = self.ask_note_edit(self, note)
        if asked is None:
            return  # a cancel is silent
        changes = {key: value for key, value in asked.items() if key in ("text", "class")}
        if changes.get("class") == note.klass:
            del changes["class"]
        if not changes:
            return
        new_class = changes.get("class", note.klass)
        if lowers_class(note.klass, new_class):
            question = lowering_question(note.klass, new_class, text_changed="text" in changes)
            if not self._prompts.confirm(self, title, question):
                return  # declining changes nothing
        elif "text" in changes:
            written = note_text_class(self._ws, note.id)
            if lowers_class(written, new_class):
                question = republishing_question(written, new_class)
                if not self._prompts.confirm(self, title, question):
                    return
        note_id = note.id
        self._writes.update(
            title, self._ws, Note, note_id, changes, lambda _id: self._show_edited(note_id)
        )

    def _show_edited(self, note_id: str) -> None:
        """After an edit (the notes were reread): the edited note, selected."""
        self.select_note(note_id)
        self._show_selected()

    @Slot()
    def withdraw_selected(self) -> None:
        """Withdraw the selected note after a confirmation; it stays in the history."""
        note = self.selected_note()
        if note is None or self._writes.busy:
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
        if self._writes.busy:
            return
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
