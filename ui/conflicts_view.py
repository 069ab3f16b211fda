"""The conflict queue: pick a conflict, read both values side by side, settle it.

A conflict is two edits of one field made without seeing each other (or an edit made while
another office withdrew the record). Valise keeps both; this view lets a person keep one of
them or write a third, through `sync.conflicts.resolve` (an ordinary edit that travels to
every peer). Values are shown read-only and as plain text: they come from other offices.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QObject,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
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

from storage import cases
from storage.errors import StorageError
from storage.workspace import Workspace
from sync.conflicts import Conflict, resolve
from ui.models.conflict_model import (
    ConflictModel,
    field_label,
    is_withdrawal,
    other_text,
    shown_text,
    value_text,
    when_text,
)
from ui.prompts import Prompts

TITLE = "Conflicts"


VALUE_LINES = (2, 10)  # the fewest and the most lines a value's box shows at once
FIT_SLACK = 4  # pixels: a value that just fits must not get a scroll bar


class _Side(QGroupBox):
    """One of the two values: who wrote it and when, the value read-only, a keep button."""

    def __init__(self, title: str, what: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setAccessibleName(title)
        self.author_label = QLabel(self)
        self.author_label.setTextFormat(Qt.TextFormat.PlainText)
        self.author_label.setWordWrap(True)
        self.author_label.setAccessibleName(f"Author of the {what}")
        self.author_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.value_edit = QPlainTextEdit(self)
        self.value_edit.setReadOnly(True)
        self.value_edit.setTabChangesFocus(True)  # Tab moves on, it does not get stuck here
        self.value_edit.setAccessibleName(what.capitalize())
        self.value_edit.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.keep_button = QPushButton("Keep this one", self)
        self.keep_button.setAccessibleName(f"Keep the {what}")
        layout = QVBoxLayout(self)
        layout.addWidget(self.author_label)
        layout.addWidget(self.value_edit)
        layout.addWidget(self.keep_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)
        self.value_edit.installEventFilter(self)  # refit when its width changes
        self._fit_value()

    def show_side(self, author: str, at: str, text: str, verb: str = "Written") -> None:
        """Fill in one side of a conflict."""
        who = author or "an unknown office"
        self.author_label.setText(f"{verb} by {who}, {when_text(at)}")
        self.value_edit.setPlainText(text)
        self._fit_value()

    def _fit_value(self) -> None:
        """The value's box as tall as the value at its width, from VALUE_LINES[0] to
        VALUE_LINES[1] lines (a longer value scrolls): a title in a box of twenty empty
        lines looked like something was missing."""
        edit = self.value_edit
        document = QTextDocument()
        document.setDefaultFont(edit.font())
        document.setDocumentMargin(edit.document().documentMargin())
        document.setPlainText(edit.toPlainText())
        # The edit's own size, not its viewport's: on a resize the viewport follows later.
        frame = 2 * edit.frameWidth()
        document.setTextWidth(max(edit.width() - frame, 1))
        line = edit.fontMetrics().lineSpacing()
        low, high = (lines * line + 2 * document.documentMargin() for lines in VALUE_LINES)
        wanted = min(max(document.size().height(), low), high)
        edit.setFixedHeight(round(wanted) + frame + FIT_SLACK)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A narrower value box wraps the value onto more lines: fit it again."""
        # getattr: Python may have cleared this widget's attributes while Qt, destroying
        # it, still sends events here (see ui.dialogs.busy.BusyKeys).
        if watched is getattr(self, "value_edit", None) and event.type() == QEvent.Type.Resize:
            self._fit_value()
        return super().eventFilter(watched, event)

    def clear_side(self) -> None:
        """Nothing selected: no author, no value."""
        self.author_label.setText("")
        self.value_edit.setPlainText("")


class ConflictsView(QWidget):
    """The open conflicts of a workspace and the means to settle them one by one.

    `resolved(conflict_id)` is emitted after a conflict is settled, `countChanged(n)` when
    the number of open conflicts may have changed (for a badge in the main window). Call
    `refresh()` after an import: new conflicts may have arrived.
    """

    resolved = Signal(int)
    countChanged = Signal(int)

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        *,
        prompts: Prompts | None = None,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._prompts = prompts or Prompts()
        self.setAccessibleName(TITLE)

        self.model = ConflictModel(workspace, self)
        self.table = QTableView(self)
        self.setFocusProxy(self.table)  # when docked, the arrows and Enter reach the list
        self.table.setAccessibleName("Open conflicts")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the values
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        widths = {
            ConflictModel.RECORD: 170,
            ConflictModel.FIELD: 100,
            ConflictModel.SHOWN: 200,
            ConflictModel.SHOWN_BY: 160,
            ConflictModel.SHOWN_AT: 150,
            ConflictModel.OTHER: 200,
            ConflictModel.OTHER_BY: 160,
        }
        for column, width in widths.items():
            header.resizeSection(column, width)

        self.count_label = QLabel(self)
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label.setAccessibleName("Number of open conflicts")
        self.explanation_label = QLabel(self)
        self.explanation_label.setTextFormat(Qt.TextFormat.PlainText)
        self.explanation_label.setWordWrap(True)
        self.explanation_label.setAccessibleName("About the selected conflict")

        self.shown_side = _Side("Shown everywhere now", "shown value", self)
        self.other_side = _Side("Waiting", "other value", self)
        self.shown_side.keep_button.clicked.connect(self.keep_shown)
        self.other_side.keep_button.clicked.connect(self.keep_other)
        self.write_button = QPushButton("&Write another value…", self)
        self.write_button.setAccessibleName("Write another value")
        self.write_button.setToolTip("Settle the conflict with a value you type")
        self.write_button.clicked.connect(self.write_value)
        self.reveal_button = QPushButton("Re&veal identity…", self)
        self.reveal_button.setAccessibleName("Reveal the protected identity in this conflict")
        # Who may reveal is decided by storage.roles; the button says so rather than fail.
        self._may_reveal = cases.may_reveal(workspace)
        self.reveal_button.setToolTip(
            "Shows both protected values; the reveal is audited"
            if self._may_reveal
            else cases.who_may_reveal()
        )
        self.reveal_button.clicked.connect(self.reveal_selected)

        sides = QHBoxLayout()
        sides.addWidget(self.shown_side)
        sides.addWidget(self.other_side)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reveal_button)
        buttons.addWidget(self.write_button)
        detail = QWidget(self)
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.explanation_label)
        detail_layout.addLayout(sides)
        detail_layout.addLayout(buttons)
        detail_layout.addStretch(1)
        self.detail = detail

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.count_label)
        layout.addWidget(splitter, 1)

        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.model.modelReset.connect(self._update_count)
        self._update_count()
        self._select_row(0)
        self._show_selected()

    # -- selection -----------------------------------------------------------------------

    def selected_conflict(self) -> Conflict | None:
        """The conflict whose values are shown below the table, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.conflict(rows[0].row()) if rows else None

    def select_conflict(self, conflict_id: int) -> bool:
        """Select a conflict by its number; False when it is not open."""
        row = self.model.row_of(conflict_id)
        if row < 0:
            return False
        self._select_row(row)
        return True

    def _select_row(self, row: int) -> None:
        if self.model.rowCount() == 0:
            return
        row = max(0, min(row, self.model.rowCount() - 1))
        index = self.model.index(row, ConflictModel.RECORD)
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
        """Fill the two sides from the selected conflict, and word the choices for its kind."""
        conflict = self.selected_conflict()
        self.detail.setEnabled(conflict is not None)
        self.reveal_button.setVisible(conflict is not None and conflict.withheld)
        self.reveal_button.setEnabled(self._may_reveal)
        if conflict is None:
            self.explanation_label.setText(
                "No conflict is selected." if self.model.rowCount() else "No conflicts wait."
            )
            self.shown_side.clear_side()
            self.other_side.clear_side()
            return
        record = self.model.record_label(conflict)
        if is_withdrawal(conflict):
            self.explanation_label.setText(
                f"{record} was withdrawn by {conflict.shown_by or 'an office'} while"
                f" {conflict.other_by or 'another office'} was editing it, neither having"
                " seen the other's change. The edit is kept in the record's history either"
                " way: keep the record withdrawn, or restore it."
            )
            self.shown_side.setTitle("Withdrawal")
            self.other_side.setTitle("Edit made meanwhile")
            self.shown_side.show_side(
                conflict.shown_by, conflict.shown_at, "The record is withdrawn.", "Withdrawn"
            )
            self.other_side.show_side(
                conflict.other_by,
                conflict.other_at,
                value_text(conflict.other_value),
                "Edited",
            )
            self.shown_side.keep_button.setText("Keep it withdrawn")
            self.shown_side.keep_button.setAccessibleName("Keep the record withdrawn")
            self.other_side.keep_button.setText("Restore the record")
            self.other_side.keep_button.setAccessibleName("Restore the record with the edit")
            self.write_button.setEnabled(False)
            self.write_button.setToolTip("A withdrawal is settled by keeping or restoring")
            return
        withheld = (
            " Both values are a protected identity: Reveal identity… shows them (the reveal"
            " is recorded in the audit log); keeping one does not need them shown."
            if conflict.withheld
            else ""
        )
        self.explanation_label.setText(
            f"The {field_label(conflict.field).lower()} of {record} was changed by two"
            " offices without seeing each other's change. Every office shows the first"
            f" value until someone decides; the other waits here.{withheld}"
        )
        self.shown_side.setTitle("Shown everywhere now")
        self.other_side.setTitle("Waiting")
        self.shown_side.show_side(conflict.shown_by, conflict.shown_at, shown_text(conflict))
        self.other_side.show_side(conflict.other_by, conflict.other_at, other_text(conflict))
        for side, what in ((self.shown_side, "shown value"), (self.other_side, "other value")):
            side.keep_button.setText("Keep this one")
            side.keep_button.setAccessibleName(f"Keep the {what}")
        self.write_button.setEnabled(True)
        self.write_button.setToolTip("Settle the conflict with a value you type")

    @Slot()
    def _update_count(self) -> None:
        count = self.model.rowCount()
        self.count_label.setText(
            "No open conflicts."
            if count == 0
            else "1 open conflict."
            if count == 1
            else f"{count} open conflicts."
        )
        self.countChanged.emit(count)

    # -- settling ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reread the queue, keeping the selection on the same conflict (or the same row)."""
        current = self.selected_conflict()
        row = self.table.currentIndex().row()
        self.model.refresh()
        if current is None or not self.select_conflict(current.id):
            self._select_row(max(row, 0))
        self._show_selected()

    @Slot()
    def keep_shown(self) -> None:
        """Settle the selected conflict with the value shown now (or keep it withdrawn)."""
        conflict = self.selected_conflict()
        if conflict is not None:
            self._resolve(conflict, keep="shown")

    @Slot()
    def keep_other(self) -> None:
        """Settle the selected conflict with the waiting value (or restore the record)."""
        conflict = self.selected_conflict()
        if conflict is not None:
            self._resolve(conflict, keep="other")

    @Slot()
    def write_value(self) -> None:
        """Ask for a new value and settle the selected conflict with it."""
        conflict = self.selected_conflict()
        if conflict is None or is_withdrawal(conflict):
            return
        shown = conflict.shown_value
        start = shown if isinstance(shown, str) and not conflict.withheld else ""
        text = self._prompts.ask_text(
            self,
            "Write another value",
            f"New {field_label(conflict.field).lower()} of {self.model.record_label(conflict)}"
            " (it replaces both values):",
            start,
        )
        if text is None or not text.strip():
            return  # a cancel is silent
        self._resolve(conflict, value=text.strip())

    @Slot()
    def reveal_selected(self) -> None:
        """After a confirmation, record the reveal in the audit chain, then show the
        selected conflict's protected values."""
        title = "Reveal identity"
        conflict = self.selected_conflict()
        if conflict is None or not conflict.withheld:
            return
        who = self.model.record_label(conflict)
        if not self._prompts.confirm(
            self,
            title,
            f"Show both values of the {field_label(conflict.field).lower()} of {who}? Make"
            " sure no one else can see the screen. The reveal is recorded in the audit log"
            " under your name.",
        ):
            return  # declining shows nothing and records nothing
        try:
            self.model.reveal(conflict.id)
        except StorageError as exc:  # refused (storage.roles): said as its sentence
            self._prompts.warn(self, title, str(exc))
            return
        except Exception as exc:  # not recorded, so not shown
            self._prompts.report_bug(self, title, exc)
            return
        self._show_selected()

    def _resolve(
        self, conflict: Conflict, *, keep: str | None = None, value: str | None = None
    ) -> None:
        """Resolve through the sync layer; user errors as a sentence, anything else as a bug."""
        row = self.model.row_of(conflict.id)
        try:
            resolve(self._ws, conflict.id, keep=keep, value=value)
        except StorageError as exc:  # SyncError and InvalidInput: said for a person
            self._prompts.warn(self, TITLE, str(exc))
            self.refresh()  # it may have been settled by an import meanwhile
            return
        except Exception as exc:  # a bug: logged and shown with copyable details
            self._prompts.report_bug(self, TITLE, exc)
            return
        self.model.refresh()
        self._select_row(row)
        self._show_selected()
        self.resolved.emit(conflict.id)
