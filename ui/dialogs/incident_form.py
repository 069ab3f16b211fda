"""The incident form: every field of an incident in one dialog, to add one or to edit one.

It replaces asking one question at a time. Each field is judged as it is typed with the
rule the storage layer enforces (uncertain dates by `storage.dates.normalize_uncertain_date`,
lengths and characters as in `storage.entities`), and the plain reason stands under the
field, so a refusal is visible before OK is pressed and OK stays disabled until every field
can be recorded. Editing returns only the fields that changed: the tab sends them to
`storage.cases.update_record`, so an edit syncs as a change of those fields alone and two
offices changing different fields of one incident do not meet as a conflict.

`RecordForm`, the part shared with the legal element form (`ui.dialogs.element_form`), also
lives here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage.dates import normalize_uncertain_date
from storage.entities import ACT_TYPES, INCIDENT_STATUSES, MAX_SHORT, MAX_TEXT, is_utf8
from storage.errors import InvalidInput
from storage.records import Incident
from ui.dialogs._common import message_label
from ui.models.incident_model import date_bounds

DATE_EXAMPLES = "2027, 2027-03, 2027-03-15, before 2027-03-15, after 2027-03 or about 2027"
Field = QLineEdit | QPlainTextEdit | QComboBox | QListWidget


def text_problem(what: str, text: str, limit: int, *, multiline: bool = False) -> str:
    """Why `text` cannot be recorded as `what`, as a plain sentence; '' when it can.

    Storage refuses over-long text, NUL and broken characters; a form also refuses other
    invisible control characters, which in a title or a charge are nearly always left by
    copying and pasting and would make the record hard to find or read aloud.
    """
    if len(text) > limit:
        return (
            f"{what} is {len(text):,} characters long; at most {limit:,} can be recorded."
            " Shorten it."
        )
    if not is_utf8(text):
        return (
            f"{what} holds a broken character (often left by copying and pasting)."
            " Type that part again by hand."
        )
    allowed = "\n\t" if multiline else ""
    for character in text:
        if (ord(character) < 32 or 127 <= ord(character) < 160) and character not in allowed:
            return (
                f"{what} holds an invisible control character (U+{ord(character):04X}),"
                " often left by copying and pasting. Remove it."
            )
    return ""


def caption(text: str, buddy: QWidget, parent: QWidget) -> QLabel:
    """A field's caption: plain text with a mnemonic (&) that moves the focus to `buddy`."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setBuddy(buddy)
    return label


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

        self.buttons = QDialogButtonBox(self)
        self.ok_button = QPushButton(accept_text, self)
        self.ok_button.setAccessibleName(accept_text.replace("&", ""))
        self.ok_button.setDefault(True)  # Enter in a one-line field accepts, when enabled
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel")
        self.buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addWidget(self.buttons)

    # -- building --------------------------------------------------------------------------

    def _add_row(self, key: str, text: str, widget: Field, name: str) -> None:
        """A captioned row for `widget`, with its reason line under it."""
        widget.setAccessibleName(name)
        self._fields[key] = widget
        reason = message_label(f"Problem with the {name.lower()}", self)
        reason.setVisible(False)
        self._reasons[key] = reason
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        column.addWidget(reason)
        self._form.addRow(caption(text, widget, self), box)

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
            label.setText(text)
            label.setVisible(bool(text))
            widget.setAccessibleDescription(text)
        first = next(iter(problems.values()), "")
        self.ok_button.setEnabled(not problems)
        self.ok_button.setToolTip(first)
        self.ok_button.setAccessibleDescription(first)

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


def _normal_date(text: str) -> str:
    try:
        return normalize_uncertain_date(text)
    except InvalidInput:
        return text.strip()


def _normal_acts(text: str) -> str:
    picked = {part.strip().lower() for part in text.split(",") if part.strip()}
    return ", ".join(act for act in ACT_TYPES if act in picked)


@dataclass(frozen=True)
class IncidentDraft:
    """The values an incident form starts from when editing (as stored)."""

    title: str = ""
    date_from: str = ""
    date_to: str = ""
    location: str = ""
    act_types: str = ""
    status: str = "open"
    description: str = ""

    @classmethod
    def of(cls, incident: Incident) -> IncidentDraft:
        """The editable fields of a stored incident."""
        return cls(
            title=incident.title,
            date_from=incident.date_from,
            date_to=incident.date_to,
            location=incident.location,
            act_types=incident.act_types,
            status=incident.status or "open",
            description=incident.description,
        )


class IncidentForm(RecordForm):
    """Asks for an incident's title, dates, place, acts, status and description.

    Without `original` it adds (OK gives every field); with one it edits that incident
    (OK gives only the changed fields). Nothing is recorded here: the tab does that.
    """

    def __init__(self, parent: QWidget | None = None, original: IncidentDraft | None = None):
        editing = original is not None
        super().__init__(
            parent,
            name="Edit incident" if editing else "Add an incident",
            accept_text="Sa&ve changes" if editing else "&Add incident",
            editing=editing,
        )
        start = original or IncidentDraft()
        self.title_edit = QLineEdit(start.title, self)
        self.title_edit.setPlaceholderText("What happened, e.g. Shelling of the Oru market")
        self.from_edit = QLineEdit(start.date_from, self)
        self.from_edit.setPlaceholderText("e.g. 2027-03 or before 2027-03-15; may stay empty")
        self.to_edit = QLineEdit(start.date_to, self)
        self.to_edit.setPlaceholderText("the last day it may have lasted; may stay empty")
        self.location_edit = QLineEdit(start.location, self)
        self.location_edit.setPlaceholderText("place names; may stay empty")
        self.acts_list = QListWidget(self)
        chosen = set(_normal_acts(start.act_types).split(", "))
        for act in ACT_TYPES:
            item = QListWidgetItem(act.capitalize(), self.acts_list)
            item.setData(Qt.ItemDataRole.UserRole, act)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsUserCheckable
            )
            item.setCheckState(Qt.CheckState.Checked if act in chosen else Qt.CheckState.Unchecked)
        rows = self.acts_list.sizeHintForRow(0) * min(len(ACT_TYPES), 6)
        self.acts_list.setFixedHeight(rows + 2 * self.acts_list.frameWidth() + 4)
        self.acts_list.setCurrentRow(0)
        self.status_combo = QComboBox(self)
        for status in INCIDENT_STATUSES:
            self.status_combo.addItem(status.capitalize(), status)
        self.set_status(start.status or "open")
        self.description_edit = QPlainTextEdit(start.description, self)
        self.description_edit.setTabChangesFocus(True)  # Tab moves on, as in every field
        self.description_edit.setPlaceholderText("Who did what to whom; may stay empty")
        self.description_edit.setMinimumHeight(self.fontMetrics().lineSpacing() * 5)

        self._add_row("title", "&Title:", self.title_edit, "Title")
        self._add_row("date_from", "&From:", self.from_edit, "Start date")
        self._add_row("date_to", "T&o:", self.to_edit, "End date")
        self._add_row("location", "&Place:", self.location_edit, "Place")
        self._add_row("act_types", "A&cts:", self.acts_list, "Act types")
        self._add_row("status", "&Status:", self.status_combo, "Status")
        self._add_row("description", "&Description:", self.description_edit, "Description")
        hint = f"Dates may be uncertain: {DATE_EXAMPLES}."
        self.from_edit.setToolTip(hint)
        self.to_edit.setToolTip(hint)
        self.acts_list.setToolTip("Space ticks or unticks the act under the cursor")
        self._watch()
        self.title_edit.setFocus()

    # -- choosing (as a person would) ----------------------------------------------------

    def set_act_types(self, acts: Iterable[str]) -> None:
        """Tick exactly these acts (names as in storage.entities.ACT_TYPES)."""
        wanted = {act.strip().lower() for act in acts}
        for row in range(self.acts_list.count()):
            item = self.acts_list.item(row)
            ticked = item.data(Qt.ItemDataRole.UserRole) in wanted
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def act_types(self) -> list[str]:
        """The ticked acts, in the order of storage.entities.ACT_TYPES."""
        items = (self.acts_list.item(row) for row in range(self.acts_list.count()))
        return [
            str(item.data(Qt.ItemDataRole.UserRole))
            for item in items
            if item.checkState() == Qt.CheckState.Checked
        ]

    def set_status(self, status: str) -> None:
        """Choose a status (as in storage.entities.INCIDENT_STATUSES)."""
        self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(status)))

    # -- judging -------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """Every field as storage will record it: text trimmed, dates in their normal form,
        acts in the registry's order."""
        status = self.status_combo.currentData()
        return {
            "title": self.title_edit.text().strip(),
            "date_from": _normal_date(self.from_edit.text()),
            "date_to": _normal_date(self.to_edit.text()),
            "location": self.location_edit.text().strip(),
            "act_types": ", ".join(self.act_types()),
            "status": status if isinstance(status, str) else "open",
            "description": self.description_edit.toPlainText().strip(),
        }

    def _check(self) -> dict[str, str]:
        found: dict[str, str] = {}
        title = self.title_edit.text()
        if not title.strip():
            found["title"] = "An incident needs a title: say in a few words what happened."
        elif problem := text_problem("The title", title, MAX_SHORT):
            found["title"] = problem
        dates: dict[str, str] = {}
        for key, edit, field in (
            ("date_from", self.from_edit, "start date"),
            ("date_to", self.to_edit, "end date"),
        ):
            try:
                dates[key] = normalize_uncertain_date(edit.text(), field)
            except InvalidInput as exc:
                found[key] = str(exc)
        if "date_from" in dates and "date_to" in dates:
            start, end = date_bounds(dates["date_from"]), date_bounds(dates["date_to"])
            if start is not None and end is not None and end[1] < start[0]:
                found["date_to"] = (
                    f"The incident would end ({dates['date_to']}) before it starts"
                    f" ({dates['date_from']}). Check the dates."
                )
        if problem := text_problem("The place", self.location_edit.text(), MAX_SHORT):
            found["location"] = problem
        description = self.description_edit.toPlainText()
        if problem := text_problem("The description", description, MAX_TEXT, multiline=True):
            found["description"] = problem
        return found

    @classmethod
    def ask(cls, parent: QWidget, original: IncidentDraft | None = None) -> dict[str, str] | None:
        """Show the form modally: the fields to record (all when adding, the changed ones
        when editing), or None on cancel."""
        form = cls(parent, original)
        if form.exec() != QDialog.DialogCode.Accepted:
            return None
        return form.changes()
