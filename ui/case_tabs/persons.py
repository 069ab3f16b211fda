"""The persons of a case, with protected identities withheld until an audited reveal.

A protected witness is shown by pseudonym with a shield. Its identity appears only after
"Reveal identity…", which asks first (through `Prompts.confirm`) and is written to the
audit chain by `storage.cases.record_reveal`, as `valise person list --reveal` does. The
identity is withheld again as soon as the selection changes or the tab is refreshed.
Persons are added through `storage.cases.add_person`, the command line's write path, and
edited with "Edit person…" (or Enter, or a double-click on the row): the form
(`ui.dialogs.person_form`) holds the identity fields only while the identity is shown, and
only the changed fields are written, by `storage.cases.update_record` on the task runner.
The form also shows the person's consent per audience (`storage.consent`); a changed
decision is recorded as a new signed consent statement in the same step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QItemSelection, Signal, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import cases
from storage.cases import add_person
from storage.consent import current_consent, record_consent
from storage.errors import StorageError
from storage.records import CaseId, Person
from storage.workspace import Workspace
from ui.case_tabs.row_selection import (
    RowActivation,
    select_row,
    select_row_if_present,
    selected_row,
    setup_row_table,
)
from ui.case_tabs.worker_writes import NOTHING_CHANGED, WorkerWrites
from ui.dialogs._common import message_label
from ui.dialogs.person_form import (
    CONSENT_KEY,
    IDENTITY_FIELDS,
    OPEN_FIELDS,
    AddPersonDialog,
    EditPersonDialog,
    NewPerson,
)
from ui.models.person_model import PersonModel
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, TaskRunner

TITLE = "Persons"

__all__ = ["AddPersonDialog", "EditPersonDialog", "NewPerson", "PersonsTab"]

PersonAsker = Callable[[QWidget], NewPerson | None]
# (parent, the person, whether its identity is shown now) -> the changed fields, or None
PersonEditAsker = Callable[[QWidget, Person, bool, Mapping[str, str]], dict[str, str] | None]


def identity_text(person: Person) -> str:
    """The identity part of a person, one field a line (shown only when allowed)."""
    lines = [
        ("Legal name", person.legal_name),
        ("Aliases", person.aliases),
        ("Born", person.birth_date),
        ("Contact", person.contact),
        ("Home", person.home_location),
    ]
    shown = [f"{label}: {value}" for label, value in lines if value]
    return "\n".join(shown) if shown else "No identity details are recorded."


class PersonsTab(QWidget):
    """The persons of one case: a table, the selected person's identity, and Add, Edit,
    Reveal and Withdraw.

    `changed()` is emitted after a person is added, edited or withdrawn; `busy(True)` and
    `busy(False)` bracket an edit on the worker. `ask_person` is the Add person question
    and `ask_person_edit` the Edit person form (the real dialogs by default; tests put
    their own players here).
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
        self.ask_person: PersonAsker = AddPersonDialog.ask
        self.ask_person_edit: PersonEditAsker = EditPersonDialog.ask
        self.setAccessibleName(TITLE)

        self.model = PersonModel(workspace, case_id, self)
        # Edits are signed commits: on the worker
        self._writes = WorkerWrites.for_tab(
            self, runner=runner, prompts=prompts, show=self._show_selected, ending=NOTHING_CHANGED
        )
        self.table = QTableView(self)
        self.table.setAccessibleName("Persons in the case")
        self.table.setModel(self.model)
        setup_row_table(self.table)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(PersonModel.PROTECTED, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(PersonModel.NAME, 240)
        header.resizeSection(PersonModel.ROLE, 110)
        self._activation = RowActivation(self.table, self.edit_selected)

        self.add_button = QPushButton("&Add person…", self)
        self.add_button.setAccessibleName("Add a person")
        self.add_button.clicked.connect(self.add)
        self.edit_button = QPushButton("&Edit person…", self)
        self.edit_button.setAccessibleName("Edit the selected person")
        self.edit_button.setToolTip(
            "Change role, pseudonym, protection, languages or consent; the identity too"
            " while it is revealed (Enter or a double-click on the row does the same)"
        )
        self.edit_button.clicked.connect(self.edit_selected)
        self.reveal_button = QPushButton("Re&veal identity…", self)
        self.reveal_button.setAccessibleName("Reveal the identity of the selected person")
        # Who may reveal is decided by storage.roles; the button says so rather than fail.
        self._may_reveal = cases.may_reveal(workspace)
        self.reveal_button.setToolTip(
            "Shows the protected identity; the reveal is audited"
            if self._may_reveal
            else cases.who_may_reveal()
        )
        self.reveal_button.clicked.connect(self.reveal_selected)
        self.withdraw_button = QPushButton("&Withdraw…", self)
        self.withdraw_button.setAccessibleName("Withdraw the selected person")
        self.withdraw_button.setToolTip(
            "Take the person out of the case; the change stays in the history and syncs"
        )
        self.withdraw_button.clicked.connect(self.withdraw_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.reveal_button)
        buttons.addWidget(self.withdraw_button)
        buttons.addStretch(1)

        self.identity_label = message_label("Identity of the selected person", self)
        identity = QGroupBox("Identity", self)
        identity.setAccessibleName("Identity")
        identity_layout = QVBoxLayout(identity)
        identity_layout.addWidget(self.identity_label)
        self.message_label = message_label("Message", self)

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(identity)
        layout.addWidget(self.message_label)

        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._select_row(0)
        self._show_selected()

    # -- selection -----------------------------------------------------------------------

    def selected_person(self) -> Person | None:
        """The selected person (as read at the last refresh), if any."""
        return self.model.person(selected_row(self.table))

    def select_person(self, person_id: str) -> bool:
        """Select a person by id; False when not in this case."""
        return select_row_if_present(self.table, self.model.row_of(person_id), PersonModel.NAME)

    def _select_row(self, row: int) -> None:
        select_row(self.table, row, PersonModel.NAME)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.model.hide()  # a reveal lasts only while its person stays selected
        self._show_selected()

    def _show_selected(self) -> None:
        person = self.selected_person()
        busy = self._writes.busy
        self.add_button.setEnabled(not busy)
        if person is None:
            self.identity_label.setText(
                "No person is selected." if self.model.rowCount() else "No persons yet."
            )
            self.edit_button.setEnabled(False)
            self.reveal_button.setEnabled(False)
            self.withdraw_button.setEnabled(False)
            return
        self.edit_button.setEnabled(not busy)
        self.withdraw_button.setEnabled(not busy)
        shown = self.model.identity_shown(person)
        self.reveal_button.setEnabled(
            self._may_reveal and person.is_protected and not shown and not busy
        )
        if shown:
            self.identity_label.setText(identity_text(person))
        elif not self._may_reveal:
            self.identity_label.setText(
                f"Withheld: {person.pseudonym} is protected. {cases.who_may_reveal()}"
            )
        else:
            self.identity_label.setText(
                f"Withheld: {person.pseudonym} is protected. Use Reveal identity… to see"
                " the identity; the reveal is recorded in the audit log."
            )

    def refresh(self) -> None:
        """Reread the persons, keeping the same one selected; any reveal is withdrawn."""
        current = self.selected_person()
        row = self.table.currentIndex().row()
        self.model.refresh()
        if current is None or not self.select_person(current.id):
            self._select_row(max(row, 0))
        self._show_selected()

    # -- actions -------------------------------------------------------------------------

    @Slot()
    def reveal_selected(self) -> None:
        """After a confirmation, record the reveal in the audit chain, then show it."""
        title = "Reveal identity"
        person = self.selected_person()
        if person is None or not person.is_protected or self._writes.busy:
            return
        if not self._prompts.confirm(
            self,
            title,
            f"Show the identity of {person.pseudonym}? Make sure no one else can see the"
            " screen. The reveal is recorded in the audit log under your name.",
        ):
            return  # declining shows nothing and records nothing
        try:
            # The same entry `valise person list --reveal` writes; no identity in it.
            cases.record_reveal(self._ws, self._case_id, [person.id])
        except StorageError as exc:  # refused (storage.roles): said as its sentence
            self._prompts.warn(self, title, sentence(str(exc)))
            return
        except Exception as exc:  # not recorded, so not shown
            self._prompts.report_bug(self, title, exc)
            return
        self.model.reveal(person.id)
        self._show_selected()

    @Slot()
    def edit_selected(self) -> None:
        """Open the selected person's form; write what changed on the worker.

        The identity fields are offered only while the identity is shown here. Removing
        a protected person's protection is asked about first, since the name is then
        shown without a reveal; so is protecting a person recorded without protection,
        whose name stays in the signed history. Only changed fields are written, so an
        edit syncs (and could conflict) as a change of those fields alone.
        """
        title = "Edit person"
        person = self.selected_person()
        if person is None or self._writes.busy:
            return
        shown = self.model.identity_shown(person)
        standing = current_consent(self._ws.conn, person.id)
        consent = {audience: s.decision for audience, s in standing.items()}
        asked = self.ask_person_edit(self, person, shown, consent)
        if asked is None:
            return  # a cancel is silent
        editable = (*OPEN_FIELDS, *(IDENTITY_FIELDS if shown else ()))
        changes = {
            key: value
            for key, value in asked.items()
            if key in editable and value != getattr(person, key)
        }
        decisions = {
            key.removeprefix(CONSENT_KEY): value
            for key, value in asked.items()
            if key.startswith(CONSENT_KEY) and value != consent.get(key.removeprefix(CONSENT_KEY))
        }
        if decisions and not changes:
            self._record_consent(title, person.id, decisions)
            return
        if not changes:
            self.message_label.setText(f"Nothing was changed for {person.display_name}.")
            return
        if person.is_protected and changes.get("protection") == "none":
            question = (
                f"Remove the protection of {person.pseudonym}? The legal name will then be"
                " shown in place of the pseudonym, without a reveal and without an audit"
                " entry, to everyone using Valise here and at the offices and the tribunal"
                " liaison the case is shared with. Partner NGOs and the defence still"
                " receive the pseudonym only."
            )
            if not self._prompts.confirm(self, title, question):
                self.message_label.setText("Nothing was changed.")
                return
        if not person.is_protected and changes.get("protection", "none") != "none":
            question = (
                f"{person.display_name} was recorded without protection, so the name is in"
                " this case's signed history, which cannot be changed: offices that already"
                " hold the case have it, and a peer the case is shared with later receives"
                " the whole history, name included. To keep the name from new peers,"
                " withdraw this person and add them again as protected instead.\n\n"
                "Protect them from now on anyway?"
            )
            if not self._prompts.confirm(self, title, question):
                self.message_label.setText("Nothing was changed.")
                return
        person_id = person.id
        if decisions:
            self._record_consent(title, person_id, decisions, changes)
            return
        self._writes.update(
            title, self._ws, Person, person_id, changes, lambda _id: self._show_edited(person_id)
        )

    def _record_consent(
        self,
        title: str,
        person_id: str,
        decisions: Mapping[str, str],
        changes: Mapping[str, str] | None = None,
    ) -> None:
        """Write the changed fields (if any) and one consent statement per changed
        audience, all in one transaction on the worker."""
        ws, fields, chosen = self._ws, dict(changes or {}), dict(decisions)

        def work(_token: CancelToken, _sink: ProgressSink) -> str:
            with ws.transaction():
                if fields:
                    cases.update_record(ws, Person, person_id, **fields)
                for audience, decision in chosen.items():
                    record_consent(ws, person_id, audience, decision)
            return person_id

        self._writes.run(title, work, lambda _id: self._show_edited(person_id))

    def _show_edited(self, person_id: str) -> None:
        """After an edit (the persons were reread, so any reveal is withdrawn): the edited
        person, selected, and what became of the edit."""
        self.select_person(person_id)
        self._show_selected()
        saved = self.selected_person()
        if saved is not None:
            note = (
                " The identity is withheld again; reveal it to see it."
                if saved.is_protected
                else ""
            )
            self.message_label.setText(f"Saved the changes to {saved.display_name}.{note}")

    @Slot()
    def withdraw_selected(self) -> None:
        """Withdraw the selected person after a confirmation: it leaves every list here and
        at the peers the case is shared with, and stays in the signed history."""
        person = self.selected_person()
        if person is None or self._writes.busy:
            return
        title = "Withdraw a person"
        asked = (
            f"Withdraw {person.display_name} from this case? The person leaves every list"
            " here and at the offices the case is shared with; the record stays in the"
            " case's history."
        )
        if not self._prompts.confirm(self, title, asked):
            return
        try:
            cases.withdraw(self._ws, Person, person.id)
        except StorageError as exc:
            self._prompts.warn(self, title, f"{sentence(str(exc))} Nothing was changed.")
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        self.refresh()
        self.message_label.setText(f"Withdrew {person.display_name}.")
        self.changed.emit()

    @Slot()
    def add(self) -> None:
        """Ask for a new person and add it to the case."""
        title = "Add a person"
        if self._writes.busy:
            return
        new = self.ask_person(self)
        if new is None:
            return  # a cancel is silent
        try:
            person_id = add_person(
                self._ws,
                self._case_id,
                new.role,
                name=new.name,
                protected=new.protected,
                pseudonym=new.pseudonym or None,
            )
        except StorageError as exc:
            self._prompts.warn(self, title, f"{sentence(str(exc))} Nothing was added.")
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        self.model.refresh()
        self.select_person(person_id)
        self._show_selected()
        added = self.model.person(self.model.row_of(person_id))
        if added is not None:
            self.message_label.setText(
                f"Added {added.pseudonym} (protected)."
                if added.is_protected
                else f"Added {added.display_name}."
            )
        self.changed.emit()
