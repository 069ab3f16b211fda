"""The persons of a case, with protected identities withheld until an audited reveal.

A protected witness is shown by pseudonym with a shield. Its identity appears only after
"Reveal identity…", which asks first (through `Prompts.confirm`) and is written to the
audit chain by `storage.cases.record_reveal`, as `valise person list --reveal` does. The
identity is
withheld again as soon as the selection changes or the tab is refreshed. Persons are
added through `storage.cases.add_person`, the command line's write path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import cases
from storage.cases import add_person
from storage.entities import ROLES
from storage.errors import StorageError
from storage.records import CaseId, Person
from storage.workspace import Workspace
from ui.models.person_model import PersonModel
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import TaskRunner

TITLE = "Persons"


@dataclass(frozen=True)
class NewPerson:
    """What the Add person dialog asked for."""

    name: str
    role: str
    protected: bool
    pseudonym: str


PersonAsker = Callable[[QWidget], NewPerson | None]


class AddPersonDialog(QDialog):
    """Asks for a new person's name, role and protection; nothing is recorded here.

    A protected person's name goes into the protected identity part; without a pseudonym
    the next number (W-0043) is given by storage.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a person — Valise")
        self.setAccessibleName("Add a person")
        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("Name")
        self.role_combo = QComboBox(self)
        self.role_combo.setAccessibleName("Role in the case")
        self.role_combo.setPlaceholderText("Choose a role…")
        for role in ROLES:
            self.role_combo.addItem(role.capitalize(), role)
        self.role_combo.setCurrentIndex(-1)
        self.protected_check = QCheckBox("&Protected (known by pseudonym only)", self)
        self.protected_check.setAccessibleName("Protected")
        self.pseudonym_edit = QLineEdit(self)
        self.pseudonym_edit.setAccessibleName("Pseudonym")
        self.pseudonym_edit.setPlaceholderText("empty: the next number, e.g. W-0043")

        form = QFormLayout()
        for text, widget in (("&Name:", self.name_edit), ("&Role:", self.role_combo)):
            caption = QLabel(text, self)
            caption.setBuddy(widget)
            form.addRow(caption, widget)
        form.addRow("", self.protected_check)
        caption = QLabel("Ps&eudonym:", self)
        caption.setBuddy(self.pseudonym_edit)
        form.addRow(caption, self.pseudonym_edit)

        self.buttons = QDialogButtonBox(self)
        self.add_button = self.buttons.addButton(
            "&Add person", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.add_button.setAccessibleName("Add person")
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

        self.name_edit.textChanged.connect(self._update)
        self.role_combo.currentIndexChanged.connect(self._update)
        self.protected_check.toggled.connect(self._update)
        self._update()
        self.name_edit.setFocus()

    @Slot()
    def _update(self) -> None:
        protected = self.protected_check.isChecked()
        self.pseudonym_edit.setEnabled(protected)
        has_name = bool(self.name_edit.text().strip())
        self.add_button.setEnabled(self.role_combo.currentIndex() >= 0 and (protected or has_name))

    def set_role(self, role: str) -> None:
        """Choose a role (as a person would in the list)."""
        self.role_combo.setCurrentIndex(self.role_combo.findData(role))

    def new_person(self) -> NewPerson:
        """What was typed and chosen."""
        role = self.role_combo.currentData()
        protected = self.protected_check.isChecked()
        return NewPerson(
            name=self.name_edit.text().strip(),
            role=role if isinstance(role, str) else "",
            protected=protected,
            pseudonym=self.pseudonym_edit.text().strip() if protected else "",
        )

    @classmethod
    def ask(cls, parent: QWidget) -> NewPerson | None:
        """Show the dialog modally; the new person, or None on cancel."""
        dialog = cls(parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.new_person()


def _plain_label(name: str, parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


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
    """The persons of one case: a table, the selected person's identity, Add and Reveal.

    `changed()` is emitted after a person is added. `ask_person` is the Add person
    question (the real dialog by default; tests put their own answer here).
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
        self.ask_person: PersonAsker = AddPersonDialog.ask
        self.setAccessibleName(TITLE)

        self.model = PersonModel(workspace, case_id, self)
        self.table = QTableView(self)
        self.table.setAccessibleName("Persons in the case")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(PersonModel.PROTECTED, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(PersonModel.NAME, 240)
        header.resizeSection(PersonModel.ROLE, 110)

        self.add_button = QPushButton("&Add person…", self)
        self.add_button.setAccessibleName("Add a person")
        self.add_button.clicked.connect(self.add)
        self.reveal_button = QPushButton("Re&veal identity…", self)
        self.reveal_button.setAccessibleName("Reveal the identity of the selected person")
        self.reveal_button.setToolTip("Shows the protected identity; the reveal is audited")
        self.reveal_button.clicked.connect(self.reveal_selected)
        self.withdraw_button = QPushButton("&Withdraw…", self)
        self.withdraw_button.setAccessibleName("Withdraw the selected person")
        self.withdraw_button.setToolTip(
            "Take the person out of the case; the change stays in the history and syncs"
        )
        self.withdraw_button.clicked.connect(self.withdraw_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.reveal_button)
        buttons.addWidget(self.withdraw_button)
        buttons.addStretch(1)

        self.identity_label = _plain_label("Identity of the selected person", self)
        identity = QGroupBox("Identity", self)
        identity.setAccessibleName("Identity")
        identity_layout = QVBoxLayout(identity)
        identity_layout.addWidget(self.identity_label)
        self.message_label = _plain_label("Message", self)

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
        rows = self.table.selectionModel().selectedRows()
        return self.model.person(rows[0].row()) if rows else None

    def select_person(self, person_id: str) -> bool:
        """Select a person by id; False when not in this case."""
        row = self.model.row_of(person_id)
        if row < 0:
            return False
        self._select_row(row)
        return True

    def _select_row(self, row: int) -> None:
        if self.model.rowCount() == 0:
            return
        row = max(0, min(row, self.model.rowCount() - 1))
        index = self.model.index(row, PersonModel.NAME)
        self.table.selectionModel().select(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.model.hide()  # a reveal lasts only while its person stays selected
        self._show_selected()

    def _show_selected(self) -> None:
        person = self.selected_person()
        if person is None:
            self.identity_label.setText(
                "No person is selected." if self.model.rowCount() else "No persons yet."
            )
            self.reveal_button.setEnabled(False)
            self.withdraw_button.setEnabled(False)
            return
        self.withdraw_button.setEnabled(True)
        shown = self.model.identity_shown(person)
        self.reveal_button.setEnabled(person.is_protected and not shown)
        if shown:
            self.identity_label.setText(identity_text(person))
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
        if person is None or not person.is_protected:
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
        except Exception as exc:  # not recorded, so not shown
            self._prompts.report_bug(self, title, exc)
            return
        self.model.reveal(person.id)
        self._show_selected()

    @Slot()
    def withdraw_selected(self) -> None:
        """Withdraw the selected person after a confirmation: it leaves every list here and
        at the peers the case is shared with, and stays in the signed history."""
        person = self.selected_person()
        if person is None:
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
