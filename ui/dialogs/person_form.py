"""The person forms: adding a person to a case, and editing one.

Adding asks for a name, a role and whether the person is protected (known by pseudonym
only). Editing shows the open part (role, pseudonym, protection, languages, consent) and,
only when the Persons tab shows the identity at that moment (after its audited reveal, or
for a person who is not protected), the protected part: legal name, aliases, date of birth,
contact and home. Otherwise the form holds no identity value at all and says how to get
one. Each changed field is judged with storage's own rules as it is typed, the reason
stands under the field, and Save works only while there is none. Editing returns only the
fields that changed, for `storage.cases.update_record`: an edit then syncs as a change of
those fields alone. Nothing is recorded here; the tab does that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from storage.dates import normalize_uncertain_date
from storage.entities import (
    CONSENT_AUDIENCES,
    CONSENT_DECISIONS,
    MAX_SHORT,
    PROTECTED,
    PROTECTION_LEVELS,
    ROLES,
    entity,
)
from storage.errors import InvalidInput
from storage.records import Person
from ui.dialogs._common import message_label, with_line_under
from ui.dialogs.form_fields import (
    ask_modally,
    caption,
    judge_accept,
    lay_out_form,
    normal_date,
    reason_line,
    show_reason,
    text_problem,
)

PERSON = entity("person")
IDENTITY_FIELDS = tuple(name for name, spec in PERSON.fields.items() if spec.klass == PROTECTED)
OPEN_FIELDS = ("role", "pseudonym", "protection", "languages", "consent")
PROTECTION_LABELS = {"none": "None", "partial": "Partial", "full": "Full"}
DATE_EXAMPLES = "1987, 1987-04, 1987-04-23, before 1990 or about 1987"
# A consent decision in the edit form's answer: "consent:partners" -> "refused".
CONSENT_KEY = "consent:"
CONSENT_LABELS = {"given": "Given", "refused": "Refused", "unknown": "Unknown"}
MAX_WIDTH = 760  # the widest the edit form opens to show a long stored value whole
LINE_EDIT_CHROME = 16  # a line edit's frame and text margins, both sides


@dataclass(frozen=True)
class NewPerson:
    """What the Add person dialog asked for."""

    name: str
    role: str
    protected: bool
    pseudonym: str


def role_combo(parent: QWidget) -> QComboBox:
    """The roles a person can have in a case, by their stored value."""
    combo = QComboBox(parent)
    combo.setAccessibleName("Role in the case")
    for role in ROLES:
        combo.addItem(role.capitalize(), role)
    return combo


MAX_PSEUDONYM = 128  # storage.entities: a person's pseudonym is text(128)


def _limit(name: str) -> int:
    """The longest text storage records in a person's field `name`."""
    return MAX_PSEUDONYM if name == "pseudonym" else MAX_SHORT


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
        self.role_combo = role_combo(self)
        self.role_combo.setPlaceholderText("Choose a role…")
        self.role_combo.setCurrentIndex(-1)
        self.protected_check = QCheckBox("&Protected (known by pseudonym only)", self)
        self.protected_check.setAccessibleName("Protected")
        self.pseudonym_edit = QLineEdit(self)
        self.pseudonym_edit.setAccessibleName("Pseudonym")
        self.pseudonym_edit.setPlaceholderText("empty: the next number, e.g. W-0043")

        form = QFormLayout()
        form.addRow(caption("&Name:", self.name_edit, self), self.name_edit)
        form.addRow(caption("&Role:", self.role_combo, self), self.role_combo)
        form.addRow("", self.protected_check)
        form.addRow(caption("Ps&eudonym:", self.pseudonym_edit, self), self.pseudonym_edit)

        self.buttons, self.add_button, _cancel = lay_out_form(self, form, "&Add person")

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
        return ask_modally(dialog, dialog.new_person)


class EditPersonDialog(QDialog):
    """Edits a person of a case; `changes()` gives only the fields that changed.

    `identity_shown` is whether the Persons tab shows this person's identity now (not
    protected, or revealed through the audited reveal). Without it the identity fields are
    not built and no identity value is put in any widget: the form says instead that the
    identity must be revealed to edit it. Likewise a pseudonym is compared with the legal
    name only when the identity is shown, so the form cannot be used to guess a hidden name.
    """

    def __init__(
        self,
        person: Person,
        *,
        identity_shown: bool,
        consent: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.person = person
        self.identity_shown = identity_shown
        self.setWindowTitle("Edit person — Valise")
        self.setAccessibleName("Edit person")
        self.setMinimumWidth(520)
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.edits: dict[str, QLineEdit] = {}
        self._reasons: dict[str, QLabel] = {}

        self.role_combo = role_combo(self)
        if self.role_combo.findData(person.role) < 0:  # kept as it is if unknown here
            self.role_combo.addItem(person.role, person.role)
        self.role_combo.setCurrentIndex(self.role_combo.findData(person.role))
        self.protection_combo = QComboBox(self)
        self.protection_combo.setAccessibleName("Protection level")
        for level in PROTECTION_LEVELS:
            self.protection_combo.addItem(PROTECTION_LABELS.get(level, level), level)
        self.protection_combo.setCurrentIndex(
            max(0, self.protection_combo.findData(person.protection))
        )
        self._add_row("role", "&Role:", self.role_combo)
        self._add_line("pseudonym", "Ps&eudonym:", "Pseudonym", "e.g. W-0042")
        self._add_row("protection", "Pro&tection:", self.protection_combo)
        self.protection_hint = message_label("About lowering the protection", self)
        self.protection_hint.setVisible(False)
        self._form.addRow("", self.protection_hint)
        self._add_line("languages", "&Languages:", "Languages", "e.g. Varosan, French")
        self._add_line(
            "consent",
            "C&onsent notes:",
            "Consent to share",
            "to whom, when and given to whom, e.g. tribunal: yes, 2027-03-02",
        )
        self.consent_combos: dict[str, QComboBox] = {}
        if consent is not None:
            self._add_consent(consent)
        self.identity_note: QLabel | None = None
        if identity_shown:
            self._add_line("legal_name", "Legal &name:", "Legal name", "")
            self._add_line("aliases", "&Aliases:", "Aliases", "other names, comma-separated")
            self._add_line("birth_date", "Date of &birth:", "Date of birth", DATE_EXAMPLES)
            self._add_line("contact", "Conta&ct:", "Contact", "phone, address or go-between")
            self._add_line("home_location", "&Home:", "Home location", "")
        else:
            self.identity_note = message_label("Identity withheld", self)
            self.identity_note.setText(
                f"The identity of {person.pseudonym} is withheld, so it cannot be edited"
                " here. To change the legal name, aliases, date of birth, contact or home,"
                " cancel, choose Reveal identity… under the list of persons (the reveal is"
                " recorded in the audit log), then edit the person again."
            )
            self._form.addRow(self.identity_note)

        self.buttons, self.save_button, _cancel = lay_out_form(self, self._form, "&Save changes")
        self.save_button.setDefault(True)
        self._fit_to_values()

        # What the widgets show at first: an untouched field is never written back, even
        # where a widget shows a stored value slightly differently.
        self._shown = {key: self._raw(key) for key in self.fields()}
        for edit in self.edits.values():
            edit.textChanged.connect(self._update)
        self.role_combo.currentIndexChanged.connect(self._update)
        self.protection_combo.currentIndexChanged.connect(self._update)
        self._consent_shown = {a: self._chosen(c) for a, c in self.consent_combos.items()}
        for combo in self.consent_combos.values():
            combo.currentIndexChanged.connect(self._update)
        self._update()
        self.role_combo.setFocus()

    # -- building --------------------------------------------------------------------------

    def _add_row(self, key: str, text: str, widget: QWidget) -> None:
        """A captioned row for `widget` with its reason line under it."""
        reason = reason_line(f"Problem with the {key.replace('_', ' ')}", self)
        self._reasons[key] = reason
        self._form.addRow(caption(text, widget, self), with_line_under(widget, reason))

    def _add_line(self, key: str, text: str, name: str, placeholder: str) -> None:
        """A one-line field prefilled with the person's stored value."""
        edit = QLineEdit(str(getattr(self.person, key)), self)
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        edit.setCursorPosition(0)
        self.edits[key] = edit
        self._add_row(key, text, edit)

    def _add_consent(self, consent: Mapping[str, str]) -> None:
        """One choice per audience (given, refused, unknown), showing the decision that
        stands; a change is recorded as a new signed consent statement, dated today."""
        heading = message_label("About consent", self)
        heading.setText(
            "Consent to be identified, per audience. Unknown counts as refused: nothing"
            " identifying this person is released to partners without a Given."
        )
        self._form.addRow(heading)
        for audience in CONSENT_AUDIENCES:
            combo = QComboBox(self)
            combo.setAccessibleName(f"Consent: {audience}")
            for decision in CONSENT_DECISIONS:
                combo.addItem(CONSENT_LABELS[decision], decision)
            combo.setCurrentIndex(max(0, combo.findData(consent.get(audience, "unknown"))))
            self.consent_combos[audience] = combo
            self._form.addRow(caption(f"{audience.capitalize()}:", combo, self), combo)

    def set_consent(self, audience: str, decision: str) -> None:
        """Choose a decision for an audience (as a person would in its list)."""
        combo = self.consent_combos[audience]
        combo.setCurrentIndex(combo.findData(decision))

    def consent_changes(self) -> dict[str, str]:
        """The audiences whose decision was changed in the form, with the new decision."""
        return {
            audience: self._chosen(combo)
            for audience, combo in self.consent_combos.items()
            if self._chosen(combo) != self._consent_shown.get(audience)
        }

    def answer(self) -> dict[str, str]:
        """What Save gives the tab: the changed fields, and each changed consent decision
        under `consent:AUDIENCE`."""
        out = self.changes()
        out.update({CONSENT_KEY + a: d for a, d in self.consent_changes().items()})
        return out

    def _fit_to_values(self) -> None:
        """Open wide enough to show each stored value whole (a consent is often one long
        line), up to `MAX_WIDTH`, and as tall as the wrapped notes need at that width: left
        to itself the dialog takes the height its notes need at its narrowest and shows
        the difference as an empty band above the buttons."""
        captions = (
            self._form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            for row in range(self._form.rowCount())
        )
        caption_width = max((item.sizeHint().width() for item in captions if item), default=0)
        layout = self.layout()
        if layout is None:  # laid out by lay_out_form; never None here
            return
        margins = layout.contentsMargins()
        spacing = max(0, self._form.horizontalSpacing())
        beside = margins.left() + margins.right() + caption_width + spacing + LINE_EDIT_CHROME
        widest = max(
            (edit.fontMetrics().horizontalAdvance(edit.text()) for edit in self.edits.values()),
            default=0,
        )
        width = min(max(self.minimumWidth(), beside + widest), MAX_WIDTH)
        self.resize(width, layout.totalHeightForWidth(width))

    # -- choosing (as a person would) ------------------------------------------------------

    def set_role(self, role: str) -> None:
        """Choose a role by its stored value."""
        self.role_combo.setCurrentIndex(self.role_combo.findData(role))

    def set_protection(self, level: str) -> None:
        """Choose a protection level (none, partial, full)."""
        self.protection_combo.setCurrentIndex(self.protection_combo.findData(level))

    # -- judging ---------------------------------------------------------------------------

    def _chosen(self, combo: QComboBox) -> str:
        data = combo.currentData()
        return data if isinstance(data, str) else ""

    def _raw(self, key: str) -> str:
        if key == "role":
            return self._chosen(self.role_combo)
        if key == "protection":
            return self._chosen(self.protection_combo)
        return self.edits[key].text()

    def _edited(self) -> list[str]:
        """Fields the person changed: their text differs from what the form first showed."""
        return [key for key in self.fields() if self._raw(key) != self._shown[key]]

    def fields(self) -> tuple[str, ...]:
        """The fields this form shows (the identity ones only when the identity is shown)."""
        return (*OPEN_FIELDS, *(IDENTITY_FIELDS if self.identity_shown else ()))

    def _value(self, key: str) -> str:
        """A field as storage will record it: trimmed, a date in its normal form."""
        raw = self._raw(key)
        return normal_date(raw) if key == "birth_date" else raw.strip()

    def problems(self) -> dict[str, str]:
        """Why each changed field cannot be recorded, by field; fields that can are left
        out. Unchanged fields are not judged: an edit need not fix what it leaves alone."""
        found: dict[str, str] = {}
        for key in self._edited():
            if key in ("role", "protection"):
                continue
            what = self.edits[key].accessibleName()
            raw = self._raw(key)
            if problem := text_problem(f"The {what.lower()}", raw, _limit(key)):
                found[key] = problem
            elif key == "birth_date":
                try:
                    normalize_uncertain_date(raw, "date of birth")
                except InvalidInput as exc:
                    found[key] = f"{exc} Examples: {DATE_EXAMPLES}."
        if "pseudonym" not in found and (problem := self._pseudonym_problem()):
            found["pseudonym"] = problem
        return found

    def _pseudonym_problem(self) -> str:
        pseudonym = self._value("pseudonym")
        protection = self._chosen(self.protection_combo)
        name = self._value("legal_name") if self.identity_shown else ""
        if protection != "none":
            if not pseudonym:
                return "A protected person is known by a pseudonym, such as W-0042. Type one."
            if name and pseudonym.casefold() == name.casefold():
                return (
                    "A protected person's pseudonym must not be their name: partners see"
                    " the pseudonym. Type another, such as a witness number."
                )
        elif not pseudonym and not name:
            return "Give the person a name or a pseudonym."
        return ""

    def changes(self) -> dict[str, str]:
        """The fields whose value changed, as storage will record them."""
        out = {}
        for key in self._edited():
            value = self._value(key)
            if value != getattr(self.person, key):
                out[key] = value
        return out

    def lowers_to_none(self) -> bool:
        """True when the edit removes the protection of a protected person."""
        return self.person.is_protected and self.changes().get("protection") == "none"

    @Slot()
    def _update(self) -> None:
        problems = self.problems()
        for key, label in self._reasons.items():
            show_reason(label, problems.get(key, ""), self.edits.get(key))
        self.protection_hint.setText(
            "Without protection the legal name is shown in place of the pseudonym, with no"
            " reveal and no audit entry, here and at the offices and the tribunal liaison"
            " the case is shared with. You will be asked to confirm."
            if self.lowers_to_none()
            else ""
        )
        self.protection_hint.setVisible(self.lowers_to_none())
        judge_accept(
            self.save_button, next(iter(problems.values()), ""), changed=bool(self.answer())
        )

    def accept(self) -> None:
        """Close with Save only while something changed and every change can be recorded
        (Enter, or a script, may try otherwise)."""
        if self.problems() or not self.answer():
            self._update()
            return
        super().accept()

    @classmethod
    def ask(
        cls,
        parent: QWidget,
        person: Person,
        identity_shown: bool,
        consent: Mapping[str, str],
    ) -> dict[str, str] | None:
        """Show the form modally: the changed fields and consent decisions (`answer`), or
        None on cancel."""
        dialog = cls(person, identity_shown=identity_shown, consent=consent, parent=parent)
        return ask_modally(dialog, dialog.answer)
