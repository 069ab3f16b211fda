"""Editing persons and notes in the case view.

Real widgets on real workspaces; the edit forms are the real dialogs, shown, typed into and
clicked (never executed) by players put in the tabs' `ask_person_edit` / `ask_note_edit`
seams, and every other question is answered by `ScriptedPrompts`. The rules checked: a
person's identity is in the form only while it is shown in the tab; only changed fields
are written; removing protection and lowering a note's class are asked about first; what
a person types is shown literally, and what storage refuses is said in a sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from storage import changesets, queries
from storage.cases import add_note, add_person, update_record
from storage.records import CaseId, Note, Person
from storage.workspace import Workspace
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from tests.sync.test_redaction import leaks, open_bundle
from tests.ui.test_case_view import (
    WITNESS_NAME,
    make_case,
    make_view,
    notes,
    persons,
    reveals,
    visible_texts,
)
from ui.case_tabs.notes import NotesTab
from ui.case_tabs.persons import PersonsTab
from ui.case_tabs.row_selection import RowActivation, select_row, selected_row
from ui.case_view import CaseView
from ui.dialogs.note_form import AddNoteDialog, EditNoteDialog
from ui.dialogs.person_form import EditPersonDialog
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

SECRET = "Strategy: the Xylocarp theory of command responsibility"
LONG = "Varosan, " * 1_111 + "F"  # 10,000 characters
assert len(LONG) == 10_000

PersonAct = Callable[[EditPersonDialog], None]
NoteAct = Callable[[EditNoteDialog], None]


# -- players ---------------------------------------------------------------------------------


class PersonPlayer:
    """Plays a person at the real Edit person form: `act` types and chooses, then Save is
    clicked; a form that does not close on Save (a problem shown) is cancelled. `act`
    None cancels at once. Every form shown is kept for the test to inspect."""

    def __init__(self, qtbot: QtBot, act: PersonAct | None) -> None:
        self.qtbot = qtbot
        self.act = act
        self.forms: list[EditPersonDialog] = []

    def __call__(
        self, parent: QWidget, person: Person, identity_shown: bool, consent: Mapping[str, str]
    ) -> dict[str, str] | None:
        # No parent: the test keeps the form to inspect after the view is gone, and a
        # child would be deleted with the view before pytest-qt closes it.
        del parent
        form = EditPersonDialog(person, identity_shown=identity_shown, consent=consent)
        self.qtbot.addWidget(form)
        form.show()
        self.forms.append(form)
        if self.act is None:
            form.reject()
            return None
        self.act(form)
        if form.isHidden():  # the act cancelled
            return None
        self.qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
        if form.isVisible():  # a problem kept it open: the person gives up
            form.reject()
            return None
        return form.answer()


class NotePlayer:
    """The same for the Edit note form."""

    def __init__(self, qtbot: QtBot, act: NoteAct | None) -> None:
        self.qtbot = qtbot
        self.act = act
        self.forms: list[EditNoteDialog] = []

    def __call__(self, parent: QWidget, note: Note) -> dict[str, str] | None:
        del parent  # as for persons: the test keeps the form
        form = EditNoteDialog(note)
        self.qtbot.addWidget(form)
        form.show()
        self.forms.append(form)
        if self.act is None:
            form.reject()
            return None
        self.act(form)
        if form.isHidden():  # the act cancelled
            return None
        self.qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
        if form.isVisible():  # a problem kept it open: the person gives up
            form.reject()
            return None
        return form.changes()


def retype(qtbot: QtBot, edit: QLineEdit | QPlainTextEdit, text: str) -> None:
    """Replace a field's text as a person would (select all, then type or paste)."""
    edit.setFocus()
    edit.selectAll()
    if len(text) > 200 or any(ord(c) < 32 for c in text):  # pasted, not typed
        edit.insertPlainText(text) if isinstance(edit, QPlainTextEdit) else edit.insert(text)
    else:
        qtbot.keyClicks(edit, text)


def double_click(qtbot: QtBot, table: QTableView, pos: QPoint) -> None:
    """As a hand does it: a click, then the second click that makes it double (Qt's
    test double-click alone sends no press, and a view reacts only to a row pressed)."""
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def widget_texts(dialog: QDialog) -> str:
    """Every text a form holds: labels, fields, combo items, buttons, its title."""
    parts = [dialog.windowTitle()]
    parts += [label.text() for label in dialog.findChildren(QLabel)]
    parts += [edit.text() for edit in dialog.findChildren(QLineEdit)]
    parts += [edit.toPlainText() for edit in dialog.findChildren(QPlainTextEdit)]
    for combo in dialog.findChildren(QComboBox):
        parts += [combo.itemText(i) for i in range(combo.count())]
    parts += [button.text() for button in dialog.findChildren(QAbstractButton)]
    return "\n".join(parts)


def last_op(ws: Workspace) -> changesets.Op:
    row = ws.conn.execute("SELECT body FROM changesets ORDER BY rowid DESC LIMIT 1").fetchone()
    [op] = changesets.decode(bytes(row[0])).ops
    return op


def changeset_count(ws: Workspace) -> int:
    return int(ws.conn.execute("SELECT count(*) FROM changesets").fetchone()[0])


def edit_and_wait(qtbot: QtBot, view: CaseView, tab: PersonsTab | NotesTab) -> None:
    with qtbot.waitSignal(view.changed, timeout=5000):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)


def protected_witness(ws: Workspace, case_id: CaseId) -> str:
    person_id = add_person(
        ws,
        case_id,
        "witness",
        protected=True,
        name=WITNESS_NAME,
        pseudonym="W-0042",
        languages="Varosan",
    )
    update_record(ws, Person, person_id, contact="+999 4471 0023", aliases="Mina")
    return person_id


# -- the forms themselves --------------------------------------------------------------------


def assert_accessible(dialog: QDialog) -> None:
    """Every field has an accessible name and a caption with a mnemonic that moves to it;
    mnemonics are unique; every label is plain text."""
    fields = [
        w
        for w in dialog.findChildren(QWidget)
        if isinstance(w, QLineEdit | QComboBox | QPlainTextEdit) and not w.isHidden()
    ]
    assert fields
    labels = dialog.findChildren(QLabel)
    buddies = {label.buddy(): label for label in labels if label.buddy() is not None}
    keys = []
    for field in fields:
        assert field.accessibleName(), field
        assert field in buddies, f"{field.accessibleName()} has no caption"
        text = buddies[field].text()
        assert "&" in text, text
        keys.append(text[text.index("&") + 1].lower())
    for button in dialog.findChildren(QAbstractButton):
        assert button.accessibleName(), button.text()
        if "&" in button.text():
            keys.append(button.text()[button.text().index("&") + 1].lower())
    assert len(keys) == len(set(keys)), keys
    for label in labels:
        assert label.textFormat() == Qt.TextFormat.PlainText, label.text()


def test_both_edit_forms_are_accessible_and_plain_text(qtbot: QtBot, ws: Workspace) -> None:
    case_id = make_case(ws)
    person_id = protected_witness(ws, case_id)
    person = queries.get(ws.conn, Person, person_id)
    for shown in (False, True):
        form = EditPersonDialog(person, identity_shown=shown)
        qtbot.addWidget(form)
        assert_accessible(form)
    note = queries.get(ws.conn, Note, add_note(ws, case_id, "A note"))
    form_n = EditNoteDialog(note)
    qtbot.addWidget(form_n)
    assert_accessible(form_n)


def test_the_person_form_holds_no_identity_while_it_is_withheld(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    protected_witness(ws, case_id)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = persons(view)
    player = PersonPlayer(qtbot, None)
    tab.ask_person_edit = player
    qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    [form] = player.forms
    assert set(form.edits) == {"pseudonym", "languages", "consent"}
    assert (form.role_combo.currentData(), form.protection_combo.currentData()) == (
        "witness",
        "full",
    )
    assert form.edits["pseudonym"].text() == "W-0042"
    assert form.edits["languages"].text() == "Varosan"
    texts = widget_texts(form)
    for secret in (WITNESS_NAME, "Mina", "4471"):
        assert secret not in texts
    assert form.identity_note is not None
    assert "identity of W-0042 is withheld" in form.identity_note.text()
    assert "Reveal identity" in form.identity_note.text()
    assert not form.save_button.isEnabled()  # nothing changed yet


def test_a_revealed_identity_is_in_the_form_and_only_changed_fields_are_written(
    qtbot: QtBot, officer_ws: Workspace, runner: TaskRunner
) -> None:
    ws = officer_ws  # only a protection officer reveals and changes protection
    case_id = make_case(ws)
    person_id = protected_witness(ws, case_id)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts([True]), runner)
    tab = persons(view)
    qtbot.mouseClick(tab.reveal_button, Qt.MouseButton.LeftButton)
    assert len(reveals(ws)) == 1

    def act(form: EditPersonDialog) -> None:
        assert form.edits["legal_name"].text() == WITNESS_NAME
        assert form.edits["aliases"].text() == "Mina"
        assert form.edits["contact"].text() == "+999 4471 0023"
        retype(qtbot, form.edits["aliases"], "Mina, Amina V.")
        retype(qtbot, form.edits["languages"], "Varosan, French")
        retype(qtbot, form.edits["birth_date"], "about 1987")

    tab.ask_person_edit = PersonPlayer(qtbot, act)
    edit_and_wait(qtbot, view, tab)
    stored = queries.get(ws.conn, Person, person_id)
    assert (stored.aliases, stored.languages, stored.legal_name) == (
        "Mina, Amina V.",
        "Varosan, French",
        WITNESS_NAME,
    )
    assert stored.birth_date.startswith("about 1987")
    op = last_op(ws)
    assert op.fields == {"languages": "Varosan, French"}  # the open field, in the open
    assert set(op.sealed) == {"aliases", "birth_date"}  # identity fields sealed
    # Saved: the identity is withheld again, and the message names the pseudonym only.
    assert WITNESS_NAME not in visible_texts(tab)
    assert "Mina" not in visible_texts(tab)
    assert tab.message_label.text().startswith("Saved the changes to W-0042.")
    assert "withheld again" in tab.message_label.text()
    assert tab.selected_person() == stored
    assert len(reveals(ws)) == 1  # editing is not a second reveal


def test_enter_and_a_double_click_open_the_form_of_that_row(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    add_person(ws, case_id, "expert", name="Dr Lena Marsh")
    second = add_person(ws, case_id, "victim", name="Joseph Tamba")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = persons(view)
    opened: list[str] = []

    def ask(_parent: QWidget, person: Person, _shown: bool, _consent: object) -> None:
        opened.append(person.id)
        return None

    tab.ask_person_edit = ask
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    assert opened == [tab.model.person(0).id]  # type: ignore[union-attr]
    row = tab.model.row_of(second)
    rect = tab.table.visualRect(tab.model.index(row, 1))
    double_click(qtbot, tab.table, rect.center())
    assert opened[-1] == second
    assert tab.selected_person().id == second  # type: ignore[union-attr]
    qtbot.keyClick(tab.table, Qt.Key.Key_Enter)
    assert opened[-1] == second
    qtbot.keyClick(tab.table, Qt.Key.Key_Down)  # other keys still move through the list
    assert len(opened) == 3


def test_a_cancelled_form_changes_nothing(qtbot: QtBot, ws: Workspace, runner: TaskRunner) -> None:
    case_id = make_case(ws)
    protected_witness(ws, case_id)
    add_note(ws, case_id, SECRET, klass="privileged")
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, case_id, prompts, runner)
    before = changeset_count(ws)

    def wreck_person(form: EditPersonDialog) -> None:
        retype(qtbot, form.edits["pseudonym"], "W-9999")
        form.set_protection("none")
        form.reject()

    def wreck_note(form: EditNoteDialog) -> None:
        retype(qtbot, form.text_edit, "Something else")
        form.set_class("open")
        form.reject()

    persons(view).ask_person_edit = PersonPlayer(qtbot, wreck_person)
    notes(view).ask_note_edit = NotePlayer(qtbot, wreck_note)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(persons(view).edit_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(notes(view).edit_button, Qt.MouseButton.LeftButton)
    persons(view).ask_person_edit = PersonPlayer(qtbot, None)
    notes(view).ask_note_edit = NotePlayer(qtbot, None)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(persons(view).edit_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(notes(view).edit_button, Qt.MouseButton.LeftButton)
    assert changeset_count(ws) == before
    assert prompts.asked == []  # a cancel is silent
    assert queries.in_case(ws.conn, Person, case_id)[0].pseudonym == "W-0042"


# -- protection ------------------------------------------------------------------------------


def test_removing_protection_is_asked_first_and_declining_changes_nothing(
    qtbot: QtBot, officer_ws: Workspace, runner: TaskRunner
) -> None:
    ws = officer_ws  # only a protection officer reveals and changes protection
    case_id = make_case(ws)
    person_id = protected_witness(ws, case_id)
    prompts = ScriptedPrompts([False, True])
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = persons(view)

    def lower(form: EditPersonDialog) -> None:
        form.set_protection("none")
        assert form.protection_hint.isVisible()
        assert "no audit entry" in form.protection_hint.text()

    tab.ask_person_edit = PersonPlayer(qtbot, lower)
    before = changeset_count(ws)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["confirm"]
    question = prompts.asked[0].text
    assert "W-0042" in question and WITNESS_NAME not in question
    assert "without a reveal" in question and "pseudonym only" in question
    assert changeset_count(ws) == before
    assert queries.get(ws.conn, Person, person_id).protection == "full"
    assert tab.message_label.text() == "Nothing was changed."

    edit_and_wait(qtbot, view, tab)
    assert queries.get(ws.conn, Person, person_id).protection == "none"
    assert last_op(ws).fields == {"protection": "none"}
    assert WITNESS_NAME in visible_texts(tab)  # shown now, as the question said


def test_removing_protection_does_not_send_the_name_to_a_partner(
    qtbot: QtBot, network: Network, runner: TaskRunner
) -> None:
    """What the question promises: the legal name stays a protected field, so an NGO
    still receives the pseudonym only; the liaison, which may hold identities, has it."""
    kabora = network.ws["kabora"]
    case_id = make_case(kabora)
    person_id = protected_witness(kabora, case_id)
    network.share("kabora", case_id, "ngo", "liaison")  # by its supervisor
    kabora = network.as_officer("kabora")  # who may remove a protection
    view = make_view(qtbot, kabora, case_id, ScriptedPrompts([True]), runner)
    tab = persons(view)
    tab.ask_person_edit = PersonPlayer(qtbot, lambda form: form.set_protection("none"))
    edit_and_wait(qtbot, view, tab)
    to_ngo = network.export("kabora", "ngo")
    assert leaks(open_bundle(to_ngo, network.ws["ngo"]).everything, [WITNESS_NAME]) == []
    assert network.receive("ngo", to_ngo.head)[0].status == "imported"
    held = queries.get(network.ws["ngo"].conn, Person, person_id)
    assert (held.protection, held.legal_name, held.display_name) == ("none", "", "W-0042")
    assert network.send("kabora", "liaison").status == "imported"
    assert queries.get(network.ws["liaison"].conn, Person, person_id).legal_name == WITNESS_NAME


def test_raising_protection_needs_a_pseudonym_that_is_not_the_name(
    qtbot: QtBot, officer_ws: Workspace, runner: TaskRunner
) -> None:
    ws = officer_ws  # only a protection officer reveals and changes protection
    case_id = make_case(ws)
    person_id = add_person(ws, case_id, "victim", name="Joseph Tamba")  # pseudonym = name
    prompts = ScriptedPrompts([False, True])  # declined once, then protected anyway
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = persons(view)
    seen: list[str] = []

    def raise_only(form: EditPersonDialog) -> None:
        form.set_protection("partial")
        seen.append(form.problems().get("pseudonym", ""))
        assert not form.save_button.isEnabled()

    tab.ask_person_edit = PersonPlayer(qtbot, raise_only)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert "must not be their name" in seen[0]

    def raise_and_rename(form: EditPersonDialog) -> None:
        form.set_protection("partial")
        retype(qtbot, form.edits["pseudonym"], "V-0007")

    tab.ask_person_edit = PersonPlayer(qtbot, raise_and_rename)
    with qtbot.assertNotEmitted(view.changed):  # the name stays in the history: declined
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert queries.get(ws.conn, Person, person_id).protection == "none"
    question = prompts.asked[-1].text
    assert "signed history" in question and "withdraw this person" in question
    tab.ask_person_edit = PersonPlayer(qtbot, raise_and_rename)
    edit_and_wait(qtbot, view, tab)
    stored = queries.get(ws.conn, Person, person_id)
    assert (stored.protection, stored.pseudonym, stored.legal_name) == (
        "partial",
        "V-0007",
        "Joseph Tamba",
    )
    assert "Joseph Tamba" not in visible_texts(tab)


def test_a_withheld_name_cannot_be_guessed_through_the_pseudonym_check(
    qtbot: QtBot, ws: Workspace
) -> None:
    """Typing the hidden legal name as the pseudonym must look like typing anything else."""
    case_id = make_case(ws)
    person = queries.get(ws.conn, Person, protected_witness(ws, case_id))
    form = EditPersonDialog(person, identity_shown=False)
    qtbot.addWidget(form)
    retype(qtbot, form.edits["pseudonym"], WITNESS_NAME)
    assert form.problems() == {}
    assert form.save_button.isEnabled()


def test_the_tab_never_writes_identity_fields_it_did_not_show(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    person_id = protected_witness(ws, case_id)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = persons(view)
    tab.ask_person_edit = lambda _p, _person, _shown, _consent: {  # a form gone wrong
        "legal_name": "Someone Else",
        "languages": "French",
    }
    edit_and_wait(qtbot, view, tab)
    stored = queries.get(ws.conn, Person, person_id)
    assert (stored.legal_name, stored.languages) == (WITNESS_NAME, "French")
    assert last_op(ws).fields == {"languages": "French"} and last_op(ws).sealed == {}


# -- garbage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("consent", LONG, "10,000 characters long; at most 1,000"),
        ("pseudonym", "W-" + "9" * 200, "at most 128"),
        ("languages", "Varosan\x1b[31m", "control character (U+001B)"),
        ("pseudonym", "W-00\x0042", "control character (U+0000)"),
        ("contact", "call\x07me", "control character (U+0007)"),
        ("birth_date", "the fourteenth of never", "date of birth"),
        ("pseudonym", "   ", "known by a pseudonym"),
    ],
)
def test_the_person_form_says_why_a_value_cannot_be_recorded(
    qtbot: QtBot, officer_ws: Workspace, runner: TaskRunner, field: str, value: str, said: str
) -> None:
    ws = officer_ws  # only a protection officer reveals and changes protection
    case_id = make_case(ws)
    protected_witness(ws, case_id)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts([True]), runner)
    tab = persons(view)
    qtbot.mouseClick(tab.reveal_button, Qt.MouseButton.LeftButton)
    reasons: list[str] = []

    def act(form: EditPersonDialog) -> None:
        retype(qtbot, form.edits[field], value)
        reasons.append(form.problems().get(field, ""))
        assert not form.save_button.isEnabled()
        shown = [label.text() for label in form.findChildren(QLabel) if label.isVisible()]
        assert any(said in text for text in shown), shown

    before = changeset_count(ws)
    tab.ask_person_edit = PersonPlayer(qtbot, act)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert said in reasons[0]
    assert changeset_count(ws) == before


def test_markup_and_long_text_are_recorded_and_shown_literally(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    person_id = add_person(ws, case_id, "expert", name="Dr Lena Marsh")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = persons(view)
    aliases = ("<b>x</b> " * 111)[:999]

    def act(form: EditPersonDialog) -> None:
        retype(qtbot, form.edits["legal_name"], "<b>x</b>")
        retype(qtbot, form.edits["aliases"], aliases)

    tab.ask_person_edit = PersonPlayer(qtbot, act)
    edit_and_wait(qtbot, view, tab)
    stored = queries.get(ws.conn, Person, person_id)
    assert (stored.legal_name, stored.aliases) == ("<b>x</b>", aliases.strip())
    assert tab.model.index(0, 1).data() == "<b>x</b>"
    assert tab.message_label.text() == "Saved the changes to <b>x</b>."
    assert tab.message_label.textFormat() == Qt.TextFormat.PlainText
    assert "Legal name: <b>x</b>" in tab.identity_label.text()
    assert tab.identity_label.textFormat() == Qt.TextFormat.PlainText


def test_a_storage_refusal_is_warned_as_a_sentence_and_nothing_changes(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    person_id = add_person(ws, case_id, "expert", name="Dr Lena Marsh")
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = persons(view)
    tab.ask_person_edit = lambda _p, _person, _shown, _consent: {"role": "bystander"}
    with qtbot.waitSignal(tab.busy, timeout=5000, check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["warn"]
    said = prompts.asked[0].text
    assert "role must be one of" in said.lower() and said.endswith("Nothing was changed.")
    assert "Traceback" not in said
    assert queries.get(ws.conn, Person, person_id).role == "expert"
    assert tab.edit_button.isEnabled()  # no longer busy


def test_a_pseudonym_already_used_in_the_case_is_refused_plainly(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    """Two protected persons of one case may not share a pseudonym: a statement by W-0042
    must name one witness. Storage refuses it; the form's sentence says so."""
    case_id = make_case(ws)
    protected_witness(ws, case_id)
    other = add_person(ws, case_id, "witness", protected=True, name="B", pseudonym="W-0043")
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = persons(view)
    tab.select_person(other)
    tab.ask_person_edit = PersonPlayer(
        qtbot, lambda form: retype(qtbot, form.edits["pseudonym"], "W-0042")
    )
    with qtbot.waitSignal(tab.busy, timeout=5000, check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    [warning] = prompts.asked
    assert warning.kind == "warn" and "already the pseudonym of another" in warning.text
    names = sorted(tab.model.index(row, 1).data() for row in range(tab.model.rowCount()))
    assert names == ["W-0042", "W-0043"]


# -- notes -----------------------------------------------------------------------------------


def test_editing_a_notes_text_writes_only_the_text(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    add_note(ws, case_id, "First note")
    note_id = add_note(ws, case_id, "Call back on Monday.", klass="protected")
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = notes(view)
    tab.select_note(note_id)

    def act(form: EditNoteDialog) -> None:
        assert form.text_edit.toPlainText() == "Call back on Monday."
        assert form.chosen_class() == "protected"
        assert not form.save_button.isEnabled()
        retype(qtbot, form.text_edit, "Call back on Tuesday.")

    tab.ask_note_edit = NotePlayer(qtbot, act)
    edit_and_wait(qtbot, view, tab)
    stored = queries.get(ws.conn, Note, note_id)
    assert (stored.text, stored.klass) == ("Call back on Tuesday.", "protected")
    op = last_op(ws)
    assert op.fields == {} and set(op.sealed) == {"text"}  # protected text stays sealed
    assert prompts.asked == []
    assert tab.selected_note() == stored
    assert tab.text_view.toPlainText() == "Call back on Tuesday."


def test_enter_and_a_double_click_open_the_note_form(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    add_note(ws, case_id, "One")
    second = add_note(ws, case_id, "Two")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = notes(view)
    opened: list[str] = []

    def ask(_parent: QWidget, note: Note) -> None:
        opened.append(note.text)
        return None

    tab.ask_note_edit = ask
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    rect = tab.table.visualRect(tab.model.index(tab.model.row_of(second), 1))
    double_click(qtbot, tab.table, rect.center())
    assert opened == ["One", "Two"]


def test_lowering_a_privileged_note_asks_and_its_text_stays_sealed(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    note_id = add_note(ws, case_id, SECRET, klass="privileged")
    prompts = ScriptedPrompts([False, True])
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = notes(view)
    hints: list[str] = []

    def lower(form: EditNoteDialog) -> None:
        form.set_class("open")
        hints.append(form.class_hint.text())

    tab.ask_note_edit = NotePlayer(qtbot, lower)
    before = changeset_count(ws)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert changeset_count(ws) == before
    assert queries.get(ws.conn, Note, note_id).klass == "privileged"
    [asked] = prompts.asked
    assert asked.kind == "confirm" and asked.text.startswith("Make this note open?")
    assert "written while it was privileged stays at this office" in asked.text
    assert "text you are saving now" not in asked.text
    assert SECRET not in asked.text
    assert "stays at this office" in hints[0] and "asked to confirm" in hints[0]

    edit_and_wait(qtbot, view, tab)
    stored = queries.get(ws.conn, Note, note_id)
    assert (stored.text, stored.klass) == (SECRET, "open")
    assert last_op(ws).fields == {"class": "open"}  # the text is not written again
    assert b"Xylocarp" not in b"".join(
        bytes(r[0]) for r in ws.conn.execute("SELECT body FROM changesets")
    )


def test_lowering_with_new_text_says_the_new_text_travels(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    note_id = add_note(ws, case_id, "Intermediary met in Mirani.", klass="protected")
    prompts = ScriptedPrompts([True])
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = notes(view)

    def act(form: EditNoteDialog) -> None:
        form.set_class("open")
        retype(qtbot, form.text_edit, "A meeting took place.")

    tab.ask_note_edit = NotePlayer(qtbot, act)
    edit_and_wait(qtbot, view, tab)
    [asked] = prompts.asked
    assert "never to partners" in asked.text
    assert "The text you are saving now is written as open" in asked.text
    assert last_op(ws).fields == {"text": "A meeting took place.", "class": "open"}
    assert queries.get(ws.conn, Note, note_id).klass == "open"


def test_raising_a_notes_class_asks_nothing_and_says_what_is_not_recalled(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    note_id = add_note(ws, case_id, "Draft list of witnesses")
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = notes(view)
    hints: list[str] = []

    def act(form: EditNoteDialog) -> None:
        form.set_class("privileged")
        hints.append(form.class_hint.text())

    tab.ask_note_edit = NotePlayer(qtbot, act)
    edit_and_wait(qtbot, view, tab)
    assert prompts.asked == []
    assert "not recalled" in hints[0]
    assert queries.get(ws.conn, Note, note_id).klass == "privileged"
    assert tab.model.index(0, 0).data() == "PRIVILEGED: never shared"


def test_an_untouched_text_is_not_written_back_when_the_class_is_lowered(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    """A text editor shows a no-break space as a plain one: the form must not take that
    for an edit and publish the privileged text under the new class."""
    case_id = make_case(ws)
    text = "Xylocarp\u00a0memo, 14\u00a0March"
    note_id = add_note(ws, case_id, text, klass="privileged")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts([True]), runner)
    tab = notes(view)
    tab.ask_note_edit = NotePlayer(qtbot, lambda form: form.set_class("open"))
    edit_and_wait(qtbot, view, tab)
    assert last_op(ws).fields == {"class": "open"}
    assert queries.get(ws.conn, Note, note_id).text == text


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "needs some text"),
        (" \n\t ", "needs some text"),
        ("Bell\x07", "control character (U+0007)"),
        ("Escape\x1b[31m", "control character (U+001B)"),
        ("x" * 100_001, "at most 100,000"),
    ],
)
def test_the_note_form_says_why_a_text_cannot_be_recorded(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, text: str, said: str
) -> None:
    case_id = make_case(ws)
    note_id = add_note(ws, case_id, "Original")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = notes(view)
    reasons: list[str] = []

    def act(form: EditNoteDialog) -> None:
        form.text_edit.setPlainText(text)
        reasons.append(form.reason_label.text())
        assert form.reason_label.isVisible()
        assert not form.save_button.isEnabled()

    tab.ask_note_edit = NotePlayer(qtbot, act)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert said in reasons[0]
    assert queries.get(ws.conn, Note, note_id).text == "Original"


def test_a_long_note_with_markup_is_saved_and_shown_literally(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    note_id = add_note(ws, case_id, "Original")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = notes(view)
    text = "<b>x</b>\n" + "Varosa \t" * 1_250
    assert len(text) > 10_000
    tab.ask_note_edit = NotePlayer(qtbot, lambda form: form.text_edit.setPlainText(text))
    edit_and_wait(qtbot, view, tab)
    assert queries.get(ws.conn, Note, note_id).text == text
    assert tab.text_view.toPlainText() == text
    assert tab.model.index(0, 1).data() == "<b>x</b>"


def test_a_note_refusal_from_storage_is_warned_and_changes_nothing(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    note_id = add_note(ws, case_id, "Original")
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = notes(view)
    tab.ask_note_edit = lambda _parent, _note: {"class": "secret"}
    with qtbot.waitSignal(tab.busy, timeout=5000, check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["warn"]
    assert "class must be one of" in prompts.asked[0].text.lower()
    assert prompts.asked[0].text.endswith("Nothing was changed.")
    assert queries.get(ws.conn, Note, note_id).klass == "open"


def test_the_edit_buttons_follow_the_selection(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    assert not persons(view).edit_button.isEnabled()
    assert not notes(view).edit_button.isEnabled()
    add_note(ws, case_id, "One")
    add_person(ws, case_id, "expert", name="Dr Lena Marsh")
    view.refresh()
    assert persons(view).edit_button.isEnabled()
    assert notes(view).edit_button.isEnabled()


# -- row selection ---------------------------------------------------------------------------


def test_select_row_clamps_and_enter_on_an_empty_table_does_nothing(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    table = notes(view).table
    assert isinstance(table, QTableView)
    assert not select_row(table, 3)
    assert selected_row(table) == -1
    calls: list[int] = []
    RowActivation(table, lambda: calls.append(1))
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert calls == []
    add_note(ws, case_id, "One")
    add_note(ws, case_id, "Two")
    notes(view).refresh()
    assert select_row(table, 99) and selected_row(table) == 1
    assert select_row(table, -5) and selected_row(table) == 0


def test_editing_a_text_written_under_a_stricter_class_asks_first(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    """The class was lowered earlier, so the privileged text stayed here: a one-letter fix
    would send the whole text as open. It is asked about; declining writes nothing."""
    case_id = make_case(ws)
    note_id = add_note(ws, case_id, SECRET, klass="privileged")
    update_record(ws, Note, note_id, klass="open")
    prompts = ScriptedPrompts([False, True])
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = notes(view)

    def fix(form: EditNoteDialog) -> None:
        retype(qtbot, form.text_edit, SECRET + ".")

    tab.ask_note_edit = NotePlayer(qtbot, fix)
    before = changeset_count(ws)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert changeset_count(ws) == before
    [asked] = prompts.asked
    assert "written while it was privileged" in asked.text and SECRET not in asked.text
    tab.ask_note_edit = NotePlayer(qtbot, fix)
    edit_and_wait(qtbot, view, tab)  # said yes: the new text is written as open
    assert queries.get(ws.conn, Note, note_id).text == SECRET + "."


def test_the_add_note_form_refuses_what_storage_would_and_says_why(qtbot: QtBot) -> None:
    form = AddNoteDialog()
    qtbot.addWidget(form)
    form.show()
    assert not form.add_button.isEnabled() and form.reason_label.text() == ""
    form.text_edit.setPlainText("Seen at the gate\x00 at night")
    assert not form.add_button.isEnabled()
    assert "control character" in form.reason_label.text()
    form.accept()
    assert form.result() != QDialog.DialogCode.Accepted
    form.text_edit.setPlainText("x" * 100_001)
    assert not form.add_button.isEnabled() and "at most" in form.reason_label.text()
    form.text_edit.setPlainText("Seen at the gate at night")
    assert form.add_button.isEnabled() and form.reason_label.text() == ""
