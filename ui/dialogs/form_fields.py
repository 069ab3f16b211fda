"""What the record forms share: captions, the checks of typed text, reason lines under
fields, the accept and Cancel buttons, and `RecordForm`.

The incident, legal element, person and note forms were written in parallel, and each
carried its own copy of these pieces. Copies drift, and these had begun to: the person and
note forms told a person to "type it again" where the incident form said which part to
type again and how, and only the incident form asked to shorten an over-long text. Here is
the one copy the four forms use, so they judge text by one rule and say so in the same
sentences, and a fix to a caption, a check or the buttons reaches every form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeVar

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage.dates import normalize_uncertain_date
from storage.errors import InvalidInput
from storage.text_rules import text_problem as stored_text_problem
from ui.dialogs._common import message_label, with_line_under

Field = QLineEdit | QPlainTextEdit | QComboBox | QListWidget
T = TypeVar("T")

NOT_CHANGED_YET = "Nothing has changed yet."


# -- judging typed text --------------------------------------------------------------------


def text_problem(what: str, text: str, limit: int, *, multiline: bool = False) -> str:
    """Why `text` cannot be recorded as `what`, as a plain sentence; '' when it can.

    Length is the form's own check; every other rule is storage's
    (`storage.text_rules.text_problem`: control characters, bidirectional overrides,
    broken characters), so a form refuses exactly what storage would and says so first.
    Line breaks and tabs are fine in `multiline` text.
    """
    if len(text) > limit:
        return (
            f"{what} is {len(text):,} characters long; at most {limit:,} can be recorded."
            " Shorten it."
        )
    return stored_text_problem(what, text, multiline=multiline)


def normal_date(text: str) -> str:
    """An uncertain date in the normal form storage records it in; text that is not a
    date comes back trimmed (the form's check says why it cannot be recorded)."""
    try:
        return normalize_uncertain_date(text)
    except InvalidInput:
        return text.strip()


def field_text(widget: Field) -> str:
    """The text a person typed into a field of any kind (checked items for a list)."""
    if isinstance(widget, QLineEdit):
        return widget.text()
    if isinstance(widget, QPlainTextEdit):
        return widget.toPlainText()
    if isinstance(widget, QComboBox):
        return widget.currentText()
    checked = (widget.item(row) for row in range(widget.count()))
    return ", ".join(item.text() for item in checked if item.checkState() == Qt.CheckState.Checked)


# -- building ------------------------------------------------------------------------------


def caption(text: str, buddy: QWidget, parent: QWidget) -> QLabel:
    """A field's caption: plain text with a mnemonic (&) that moves the focus to `buddy`."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setBuddy(buddy)
    return label


def reason_line(accessible_name: str, parent: QWidget) -> QLabel:
    """The line that says why a field cannot be recorded; hidden while there is no reason."""
    reason = message_label(accessible_name, parent)
    reason.setVisible(False)
    return reason


class FormButtons(NamedTuple):
    """The buttons under a form: the box, its accept button and Cancel."""

    box: QDialogButtonBox
    accept: QPushButton
    cancel: QPushButton


def lay_out_form(dialog: QDialog, form: QLayout, accept_text: str) -> FormButtons:
    """Lay `dialog` out as `form` above an accept button (`accept_text`, with its mnemonic)
    and Cancel, wired to the dialog's `accept` and `reject`.

    Cancel is a plain button, not the platform's standard one: a platform theme may give
    that one a mnemonic (&Cancel) that takes Alt+C from a caption of the form.
    """
    box = QDialogButtonBox(dialog)
    accept = QPushButton(accept_text, dialog)
    accept.setAccessibleName(accept_text.replace("&", ""))
    cancel = QPushButton("Cancel", dialog)
    cancel.setAccessibleName("Cancel")
    box.addButton(accept, QDialogButtonBox.ButtonRole.AcceptRole)
    box.addButton(cancel, QDialogButtonBox.ButtonRole.RejectRole)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addLayout(form)
    layout.addWidget(box)
    return FormButtons(box, accept, cancel)


# -- showing the verdict -------------------------------------------------------------------


def show_reason(reason: QLabel, text: str, field: QWidget | None = None) -> None:
    """Show `text` on a field's reason line ('' hides it); a screen reader hears it as the
    field's description."""
    reason.setText(text)
    reason.setVisible(bool(text))
    if field is not None:
        field.setAccessibleDescription(text)


def judge_accept(button: QPushButton, problem: str, *, changed: bool = True) -> None:
    """Enable the accept button only while something `changed` and there is no `problem`;
    its tooltip says why it is disabled."""
    button.setEnabled(changed and not problem)
    button.setToolTip(problem or ("" if changed else NOT_CHANGED_YET))
    button.setAccessibleDescription(problem)


def ask_modally(dialog: QDialog, answer: Callable[[], T]) -> T | None:
    """Show `dialog` modally: `answer()` once it is accepted, None when it is cancelled."""
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return answer()


# -- the incident and element forms --------------------------------------------------------


class RecordForm(QDialog):
    """What the incident and element forms share: add or edit, and OK only when valid.

    A subclass builds its fields, registers each with `_add_row`, and implements `values`
    (every field, normalised as storage will record it) and `_check` (the reason each
    field cannot be recorded). A reason is shown under its field once the field holds
    text or was edited, so an empty new form does not open with complaints; OK (and
    Enter) work only while there is no reason at all. Escape cancels.
    """

    def __init__(
        self,
        parent: QWidget | None,
        *,
        name: str,
        accept_text: str,
        editing: bool,
    ) -> None:
        super().__init__(parent)
        self.editing = editing
        self.setWindowTitle(f"{name} — Valise")
        self.setAccessibleName(name)
        self.setMinimumWidth(560)
        self._original: dict[str, str] = {}
        self._fields: dict[str, Field] = {}
        self._reasons: dict[str, QLabel] = {}
        self._touched: set[str] = set()
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.buttons, self.ok_button, self.cancel_button = lay_out_form(
            self, self._form, accept_text
        )
        self.ok_button.setDefault(True)  # Enter in a one-line field accepts, when enabled

    # -- building --------------------------------------------------------------------------

    def _add_row(self, key: str, text: str, widget: Field, name: str) -> None:
        """A captioned row for `widget`, with its reason line under it."""
        widget.setAccessibleName(name)
        self._fields[key] = widget
        reason = reason_line(f"Problem with the {name.lower()}", self)
        self._reasons[key] = reason
        self._form.addRow(caption(text, widget, self), with_line_under(widget, reason))

    def _watch(self) -> None:
        """Judge the fields on every change from now on (after they were prefilled)."""
        for key, widget in self._fields.items():
            if isinstance(widget, QLineEdit):
                widget.textChanged.connect(lambda _text, key=key: self._on_edited(key))
            elif isinstance(widget, QPlainTextEdit):
                widget.textChanged.connect(lambda key=key: self._on_edited(key))
            elif isinstance(widget, QComboBox):
                widget.currentTextChanged.connect(lambda _text, key=key: self._on_edited(key))
            else:
                widget.itemChanged.connect(lambda _item, key=key: self._on_edited(key))
        self._original = self.values() if self.editing else {}
        self._update()

    def _on_edited(self, key: str) -> None:
        self._touched.add(key)
        self._update()

    # -- judging ---------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """Every field as storage will record it (meaningful only while `is_valid`)."""
        raise NotImplementedError

    def _check(self) -> dict[str, str]:
        """The reason each field cannot be recorded, by field; fields that can are left out."""
        raise NotImplementedError

    def problems(self) -> dict[str, str]:
        """Every reason not to record yet, by field (including ones not shown yet)."""
        return self._check()

    def is_valid(self) -> bool:
        """True when every field can be recorded as it stands."""
        return not self._check()

    def reason(self, key: str) -> str:
        """The reason shown under a field now ('' when none is shown)."""
        label = self._reasons[key]
        return label.text() if not label.isHidden() else ""

    @Slot()
    def _update(self) -> None:
        problems = self._check()
        for key, label in self._reasons.items():
            widget = self._fields[key]
            text = problems.get(key, "")
            if not (key in self._touched or field_text(widget)):
                text = ""  # an untouched empty field is not an error yet
            show_reason(label, text, widget)
        judge_accept(self.ok_button, next(iter(problems.values()), ""))

    def accept(self) -> None:
        """Close with OK only while every field can be recorded (Enter, or a script)."""
        if self._check():
            self._touched.update(self._fields)
            self._update()
            return
        super().accept()

    def changes(self) -> dict[str, str]:
        """Adding: every field. Editing: only the fields whose value changed."""
        values = self.values()
        if not self.editing:
            return values
        return {key: value for key, value in values.items() if value != self._original.get(key)}
