"""The incident form: every field of an incident in one dialog, to add one or to edit one.

It replaces asking one question at a time. Each field is judged as it is typed with the
rule the storage layer enforces (uncertain dates by `storage.dates.normalize_uncertain_date`,
lengths and characters as in `storage.entities`), and the plain reason stands under the
field, so a refusal is visible before OK is pressed and OK stays disabled until every field
can be recorded. Editing returns only the fields that changed: the tab sends them to
`storage.cases.update_record`, so an edit syncs as a change of those fields alone and two
offices changing different fields of one incident do not meet as a conflict.

`RecordForm`, the part shared with the legal element form (`ui.dialogs.element_form`),
lives with the other pieces the forms share in `ui.dialogs.form_fields`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QWidget,
)

from storage.dates import end_before_start, normalize_uncertain_date
from storage.entities import ACT_TYPES, INCIDENT_STATUSES, MAX_SHORT, MAX_TEXT
from storage.errors import InvalidInput
from storage.records import Incident
from ui.dialogs.form_fields import RecordForm, ask_modally, normal_date, text_problem

__all__ = ["DATE_EXAMPLES", "IncidentDraft", "IncidentForm", "RecordForm", "text_problem"]

DATE_EXAMPLES = "2027, 2027-03, 2027-03-15, before 2027-03-15, after 2027-03 or about 2027"


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
        # Every act in sight, so a ticked one is never hidden below the fold; the row of a
        # checkbox is taller than its text alone, so the height is measured on the list.
        rows = sum(self.acts_list.sizeHintForRow(row) for row in range(len(ACT_TYPES)))
        self.acts_list.setFixedHeight(rows + 2 * self.acts_list.frameWidth() + 4)
        # The keyboard starts on the first act without selecting it: a highlighted act
        # would read as a chosen one.
        self.acts_list.setCurrentRow(0, QItemSelectionModel.SelectionFlag.NoUpdate)
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
            "date_from": normal_date(self.from_edit.text()),
            "date_to": normal_date(self.to_edit.text()),
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
        span = (dates.get("date_from", ""), dates.get("date_to", ""))
        if problem := end_before_start(*span):
            found["date_to"] = problem
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
        return ask_modally(form, form.changes)
