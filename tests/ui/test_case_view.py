"""The case view: header, overview editing and sharing, persons with protected
identities, notes with their class.

Real widgets on real workspaces (the `ws` fixture, and the sync tests' `Network` for
peers); questions are answered by `ScriptedPrompts`, and the Add person / Add note / Share
dialogs are the real ones, filled in and clicked rather than executed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import audit, queries
from storage.cases import REVEAL_ACTION, add_case, add_note, add_person
from storage.records import Case, CaseId, Note, Person
from storage.workspace import Workspace
from sync import peers
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from ui.case_tabs.notes import AddNoteDialog, NewNote, NoteClassRole, NoteModel, NotesTab
from ui.case_tabs.overview import ChoosePeerDialog, OverviewTab, shared_with
from ui.case_tabs.persons import AddPersonDialog, NewPerson, PersonsTab
from ui.case_view import CaseView
from ui.models.person_model import (
    IsProtectedRole,
    PersonIdRole,
    PersonModel,
    RevealedRole,
)
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

WITNESS_NAME = "Amina Okonkwo-Varel"


def make_case(ws: Workspace) -> CaseId:
    return add_case(
        ws,
        "Shelling of the Kabora market",
        "Market shelled at noon.",
        reference="VAR-KAB-2027-0007",
    )


def make_view(
    qtbot: QtBot,
    ws: Workspace,
    case_id: CaseId,
    prompts: ScriptedPrompts,
    runner: TaskRunner,
    **kwargs: object,
) -> CaseView:
    view = CaseView(ws, case_id, prompts=prompts, runner=runner, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def overview(view: CaseView) -> OverviewTab:
    tab = view.tab("Overview")
    assert isinstance(tab, OverviewTab)
    return tab


def persons(view: CaseView) -> PersonsTab:
    tab = view.tab("Persons")
    assert isinstance(tab, PersonsTab)
    return tab


def notes(view: CaseView) -> NotesTab:
    tab = view.tab("Notes")
    assert isinstance(tab, NotesTab)
    return tab


def visible_texts(widget: QWidget) -> str:
    """Everything the tab shows as text: its labels and every cell of its table."""
    parts = [label.text() for label in widget.findChildren(QLabel)]
    model = getattr(widget, "model", None)
    if model is not None:
        for row in range(model.rowCount()):
            for column in range(model.columnCount()):
                index = model.index(row, column)
                for role in (
                    Qt.ItemDataRole.DisplayRole,
                    Qt.ItemDataRole.ToolTipRole,
                    Qt.ItemDataRole.AccessibleTextRole,
                ):
                    value = index.data(role)
                    if isinstance(value, str):
                        parts.append(value)
    return "\n".join(parts)


def reveals(ws: Workspace) -> list[audit.AuditEntry]:
    return audit.entries(ws.conn, action=REVEAL_ACTION)


# -- header and overview -------------------------------------------------------------------


def test_the_view_shows_the_reference_and_title(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    view = make_view(qtbot, ws, make_case(ws), ScriptedPrompts(), runner)
    assert view.reference_label.text() == "VAR-KAB-2027-0007"
    assert view.title_label.text() == "Shelling of the Kabora market"
    assert [view.tabs.tabText(i) for i in range(view.tabs.count())] == [
        "Overview",
        "Persons",
        "Notes",
    ]
    tab = overview(view)
    assert tab.title_edit.text() == "Shelling of the Kabora market"
    assert tab.summary_edit.toPlainText() == "Market shelled at noon."
    assert tab.status_combo.currentData() == "open"
    assert not tab.save_button.isEnabled()  # nothing to save yet


def test_saving_an_edited_title_changes_the_case_and_emits_changed(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = overview(view)
    tab.title_edit.clear()
    qtbot.keyClicks(tab.title_edit, "Shelling of the Kabora market, 14 March")
    tab.status_combo.setCurrentIndex(tab.status_combo.findData("under review"))
    assert tab.save_button.isEnabled()
    with qtbot.waitSignal(view.changed, timeout=2000) as blocker:
        qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [case_id]
    stored = queries.get(ws.conn, Case, case_id)
    assert stored.title == "Shelling of the Kabora market, 14 March"
    assert stored.status == "under review"
    assert stored.summary == "Market shelled at noon."  # untouched fields stay
    assert view.title_label.text() == "Shelling of the Kabora market, 14 March"
    assert not tab.save_button.isEnabled()


def test_revert_shows_the_stored_values_again(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    view = make_view(qtbot, ws, make_case(ws), ScriptedPrompts(), runner)
    tab = overview(view)
    tab.location_edit.setText("Kabora")
    qtbot.mouseClick(tab.revert_button, Qt.MouseButton.LeftButton)
    assert tab.location_edit.text() == ""
    assert not tab.is_dirty()


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("categories_edit", "killing, arson", "arson"),
        ("opened_edit", "the fourteenth of never", "opened on"),
        ("title_edit", "   ", "needs a title"),
    ],
)
def test_a_refused_value_is_explained_and_nothing_is_saved(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, field: str, value: str, said: str
) -> None:
    case_id = make_case(ws)
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = overview(view)
    getattr(tab, field).setText(value)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["warn"]
    message = prompts.asked[0].text
    assert said in message.lower()
    assert message.endswith("Correct it and save again; nothing was saved.")
    assert queries.get(ws.conn, Case, case_id).title == "Shelling of the Kabora market"
    assert tab.is_dirty()  # the person's typing is kept to correct


def test_the_overview_counts_what_the_case_holds(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    add_person(ws, case_id, "witness", protected=True, name=WITNESS_NAME)
    add_note(ws, case_id, "Call back on Monday.")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    counts = overview(view).counts_label.text()
    assert "Persons: 1" in counts and "Notes: 1" in counts and "Incidents: 0" in counts


# -- sharing -------------------------------------------------------------------------------


def pick_peer(
    qtbot: QtBot, origin: str | None
) -> Callable[[QWidget, Sequence[peers.Peer]], object]:
    """Plays a person at the real ChoosePeerDialog."""

    def choose(parent: QWidget, candidates: Sequence[peers.Peer]) -> peers.Peer | None:
        dialog = ChoosePeerDialog(candidates, parent)
        qtbot.addWidget(dialog)
        dialog.show()
        assert not dialog.share_button.isEnabled()  # no peer is chosen for the person
        if origin is None:
            dialog.reject()
            return None
        dialog.set_peer(origin)
        qtbot.mouseClick(dialog.share_button, Qt.MouseButton.LeftButton)
        return dialog.peer()

    return choose


def test_share_and_unshare_with_a_peer_show_in_the_overview(
    qtbot: QtBot, network: Network, runner: TaskRunner
) -> None:
    kabora = network.ws["kabora"]
    liaison = network.peer("kabora", "liaison")
    case_id = make_case(kabora)
    prompts = ScriptedPrompts([True])  # yes, stop sharing
    view = make_view(qtbot, kabora, case_id, prompts, runner)
    tab = overview(view)
    assert tab.shares_list.count() == 0
    assert not tab.unshare_button.isEnabled()

    tab.choose_peer = pick_peer(qtbot, liaison.origin)  # type: ignore[assignment]
    with qtbot.waitSignal(view.changed, timeout=2000):
        qtbot.mouseClick(tab.share_button, Qt.MouseButton.LeftButton)
    assert [p.origin for p in shared_with(kabora, case_id)] == [liaison.origin]
    assert [tab.shares_list.item(i).text() for i in range(tab.shares_list.count())] == [
        "Tribunal liaison (Liaison)"
    ]
    assert "Shared with Tribunal liaison" in tab.message_label.text()

    tab.shares_list.setCurrentRow(0)
    with qtbot.waitSignal(view.changed, timeout=2000):
        qtbot.mouseClick(tab.unshare_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["confirm"]
    assert "Tribunal liaison" in prompts.asked[0].text
    assert shared_with(kabora, case_id) == []
    assert tab.shares_list.count() == 0
    actions = [e.action for e in audit.entries(kabora.conn, limit=5)]
    assert actions[:2] == ["case unshared", "case shared"]


def test_share_offers_only_peers_not_yet_sharing_and_a_cancel_is_silent(
    qtbot: QtBot, network: Network, runner: TaskRunner
) -> None:
    kabora = network.ws["kabora"]
    case_id = make_case(kabora)
    network.share("kabora", case_id, "dressa")
    offered: list[str] = []
    view = make_view(qtbot, kabora, case_id, ScriptedPrompts(), runner)
    tab = overview(view)
    assert tab.shares_list.count() == 1  # shared before the view opened

    def cancel(_parent: QWidget, candidates: Sequence[peers.Peer]) -> None:
        offered.extend(p.office_name for p in candidates)
        return None

    tab.choose_peer = cancel
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.share_button, Qt.MouseButton.LeftButton)
    assert offered == ["Tribunal liaison", "Varosa Documentation Project"]
    assert [p.office_name for p in shared_with(kabora, case_id)] == ["Dressa field office"]


def test_share_without_peers_says_where_to_add_them(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    prompts = ScriptedPrompts()
    view = make_view(qtbot, ws, make_case(ws), prompts, runner)
    qtbot.mouseClick(overview(view).share_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["inform"]
    assert "contact card" in prompts.asked[0].text


# -- persons -------------------------------------------------------------------------------


def test_a_protected_witness_shows_pseudonym_and_shield_but_not_the_name(
    qtbot: QtBot, officer_ws: Workspace, runner: TaskRunner
) -> None:
    ws = officer_ws  # only a protection officer reveals and changes protection
    case_id = make_case(ws)
    add_person(ws, case_id, "witness", protected=True, name=WITNESS_NAME, pseudonym="W-0042")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = persons(view)
    model = tab.model
    shield = model.index(0, PersonModel.PROTECTED)
    assert model.index(0, PersonModel.NAME).data() == "W-0042"
    assert shield.data(Qt.ItemDataRole.AccessibleTextRole) == "protected"
    assert not shield.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert shield.data(IsProtectedRole) is True
    assert WITNESS_NAME not in visible_texts(tab)
    assert "Withheld" in tab.identity_label.text()
    assert tab.reveal_button.isEnabled()


def test_reveal_shows_the_identity_only_when_confirmed_and_audits_it(
    qtbot: QtBot, officer_ws: Workspace, runner: TaskRunner
) -> None:
    ws = officer_ws  # only a protection officer reveals and changes protection
    case_id = make_case(ws)
    person_id = add_person(ws, case_id, "witness", protected=True, name=WITNESS_NAME)
    prompts = ScriptedPrompts([True])
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = persons(view)
    before = len(reveals(ws))
    qtbot.mouseClick(tab.reveal_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["confirm"]
    assert WITNESS_NAME not in prompts.asked[0].text
    assert WITNESS_NAME in tab.model.index(0, PersonModel.NAME).data()
    assert f"Legal name: {WITNESS_NAME}" in tab.identity_label.text()
    assert tab.model.index(0, 0).data(RevealedRole) is True
    assert not tab.reveal_button.isEnabled()
    entries = reveals(ws)
    assert len(entries) == before + 1
    assert entries[0].subject == case_id
    assert person_id in entries[0].detail
    assert WITNESS_NAME not in entries[0].detail  # the audit names no identity


def test_declining_the_reveal_shows_nothing_and_records_nothing(
    qtbot: QtBot, officer_ws: Workspace, runner: TaskRunner
) -> None:
    ws = officer_ws  # only a protection officer reveals and changes protection
    case_id = make_case(ws)
    add_person(ws, case_id, "witness", protected=True, name=WITNESS_NAME)
    prompts = ScriptedPrompts([False])
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = persons(view)
    before = len(reveals(ws))
    qtbot.mouseClick(tab.reveal_button, Qt.MouseButton.LeftButton)
    assert [a.kind for a in prompts.asked] == ["confirm"]
    assert WITNESS_NAME not in visible_texts(tab)
    assert len(reveals(ws)) == before


def test_a_reveal_is_hidden_again_on_selection_change_and_on_refresh(
    qtbot: QtBot, officer_ws: Workspace, runner: TaskRunner
) -> None:
    ws = officer_ws  # only a protection officer reveals and changes protection
    case_id = make_case(ws)
    add_person(ws, case_id, "witness", protected=True, name=WITNESS_NAME)
    other = add_person(ws, case_id, "expert", name="Dr Lena Marsh")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts([True, True]), runner)
    tab = persons(view)
    qtbot.mouseClick(tab.reveal_button, Qt.MouseButton.LeftButton)
    assert WITNESS_NAME in visible_texts(tab)
    tab.select_person(other)
    assert WITNESS_NAME not in visible_texts(tab)
    assert "Dr Lena Marsh" in tab.identity_label.text()  # not protected: shown as is

    tab.select_person(tab.model.person(0).id)  # type: ignore[union-attr]
    qtbot.mouseClick(tab.reveal_button, Qt.MouseButton.LeftButton)
    assert WITNESS_NAME in visible_texts(tab)
    view.refresh()
    assert WITNESS_NAME not in visible_texts(tab)
    assert tab.reveal_button.isEnabled()


def fill_person(qtbot: QtBot, person: NewPerson | None) -> Callable[[QWidget], NewPerson | None]:
    """Plays a person at the real AddPersonDialog: types, ticks, clicks (or cancels)."""

    def ask(parent: QWidget) -> NewPerson | None:
        dialog = AddPersonDialog(parent)
        qtbot.addWidget(dialog)
        dialog.show()
        assert not dialog.add_button.isEnabled()
        if person is None:
            dialog.reject()
            return None
        qtbot.keyClicks(dialog.name_edit, person.name)
        dialog.set_role(person.role)
        assert not dialog.pseudonym_edit.isEnabled()
        if person.protected:
            dialog.protected_check.setChecked(True)
            qtbot.keyClicks(dialog.pseudonym_edit, person.pseudonym)
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
        return dialog.new_person()

    return ask


def test_adding_a_protected_person_records_it_and_keeps_the_name_hidden(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = persons(view)
    tab.ask_person = fill_person(qtbot, NewPerson(WITNESS_NAME, "witness", True, "W-0077"))
    with qtbot.waitSignal(view.changed, timeout=2000):
        qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
    stored = queries.in_case(ws.conn, Person, case_id)
    assert [(p.pseudonym, p.legal_name, p.role, p.protection) for p in stored] == [
        ("W-0077", WITNESS_NAME, "witness", "full")
    ]
    assert tab.model.rowCount() == 1
    assert tab.selected_person() == stored[0]
    assert WITNESS_NAME not in visible_texts(tab)
    assert "Persons: 1" in overview(view).counts_label.text()


def test_adding_an_unprotected_person_shows_the_name_and_a_cancel_adds_nothing(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = persons(view)
    tab.ask_person = fill_person(qtbot, None)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
    assert tab.model.rowCount() == 0
    tab.ask_person = fill_person(qtbot, NewPerson("Dr Lena Marsh", "expert", False, ""))
    qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
    assert tab.model.index(0, PersonModel.NAME).data() == "Dr Lena Marsh"
    assert tab.model.index(0, PersonModel.ROLE).data() == "Expert"
    assert tab.model.index(0, PersonModel.PROTECTED).data(Qt.ItemDataRole.AccessibleTextRole) == (
        "not protected"
    )
    assert not tab.reveal_button.isEnabled()


@pytest.mark.qt_log_level_fail("WARNING")  # Qt's own tester reports through warnings
@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_person_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, ws: Workspace, force_py: bool
) -> None:
    case_id = make_case(ws)
    qtmodeltester.check(PersonModel(ws, case_id), force_py=force_py)  # no persons yet
    first = add_person(ws, case_id, "witness", protected=True, name=WITNESS_NAME)
    add_person(ws, case_id, "victim", name="Joseph Tamba", languages="French")
    model = PersonModel(ws, case_id)
    qtmodeltester.check(model, force_py=force_py)
    assert model.rowCount() == 2
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.index(0, 0).data(PersonIdRole) == first
    model.reveal(first)  # the tester, still attached, checks the dataChanged it emits
    model.hide()
    model.reveal(first)
    model.refresh()
    assert model.revealed() is None
    names = [name.data() for name in model.roleNames().values()]
    assert b"personId" in names and b"isProtected" in names and b"revealed" in names
    assert model.index(0, 0).data(PersonIdRole) == first
    assert not model.index(5, 0).isValid()
    assert model.data(QModelIndex()) is None


# -- notes ---------------------------------------------------------------------------------


def fill_note(qtbot: QtBot, note: NewNote | None) -> Callable[[QWidget], NewNote | None]:
    """Plays a person at the real AddNoteDialog."""

    def ask(parent: QWidget) -> NewNote | None:
        dialog = AddNoteDialog(parent)
        qtbot.addWidget(dialog)
        dialog.show()
        assert not dialog.add_button.isEnabled()  # no text yet
        if note is None:
            dialog.reject()
            return None
        qtbot.keyClicks(dialog.text_edit, note.text)
        dialog.set_class(note.klass)
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
        return dialog.new_note()

    return ask


def test_notes_are_listed_oldest_first_with_their_class_privileged_marked(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    add_note(ws, case_id, "Witness list drafted.")
    add_note(ws, case_id, "Strategy: charge pillage first.", klass="privileged")
    add_note(ws, case_id, "Intermediary met in Mirani.", klass="protected")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    model = notes(view).model
    rows = [
        (model.index(r, NoteModel.CLASS).data(), model.index(r, NoteModel.TEXT).data())
        for r in range(model.rowCount())
    ]
    assert rows == [
        ("Open", "Witness list drafted."),
        ("PRIVILEGED: never shared", "Strategy: charge pillage first."),
        ("Protected", "Intermediary met in Mirani."),
    ]
    privileged = model.index(1, NoteModel.CLASS)
    assert privileged.data(NoteClassRole) == "privileged"
    assert privileged.data(Qt.ItemDataRole.FontRole).bold()
    assert "never leaves" in privileged.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(0, NoteModel.CLASS).data(Qt.ItemDataRole.FontRole) is None


def test_adding_a_note_records_it_with_its_class(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    add_note(ws, case_id, "First contact made.")
    view = make_view(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab = notes(view)
    tab.ask_note = fill_note(qtbot, None)
    with qtbot.assertNotEmitted(view.changed):
        qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
    tab.ask_note = fill_note(qtbot, NewNote("Theory of the case: see memo.", "privileged"))
    with qtbot.waitSignal(view.changed, timeout=2000):
        qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
    stored = queries.in_case(ws.conn, Note, case_id)
    assert [(n.text, n.klass) for n in stored] == [
        ("First contact made.", "open"),
        ("Theory of the case: see memo.", "privileged"),
    ]
    assert tab.selected_note() == stored[1]
    assert tab.text_view.toPlainText() == "Theory of the case: see memo."
    assert "never leaves" in tab.class_label.text()
    assert "Notes: 2" in overview(view).counts_label.text()


@pytest.mark.qt_log_level_fail("WARNING")
def test_note_model_passes_qtmodeltester(qtmodeltester: ModelTester, ws: Workspace) -> None:
    case_id = make_case(ws)
    add_note(ws, case_id, "One.\nTwo.", klass="protected")
    qtmodeltester.check(NoteModel(ws, case_id))


# -- extra tabs ----------------------------------------------------------------------------


class FakeEvidenceTab(QWidget):
    """Stands for a tab written elsewhere: same constructor, a refresh(), no `changed`."""

    def __init__(
        self,
        workspace: Workspace,
        case_id: CaseId,
        *,
        prompts: ScriptedPrompts,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.case_id = case_id
        self.refreshed = 0

    def refresh(self) -> None:
        self.refreshed += 1


def test_extra_tabs_are_added_after_the_built_in_ones_and_refreshed(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    view = make_view(
        qtbot, ws, case_id, ScriptedPrompts(), runner, extra_tabs=[("Evidence", FakeEvidenceTab)]
    )
    assert view.tabs.tabText(3) == "Evidence"
    extra = view.tab("Evidence")
    assert isinstance(extra, FakeEvidenceTab) and extra.case_id == case_id
    assert extra.accessibleName() == "Evidence"
    view.refresh()
    assert extra.refreshed == 1


def test_withdrawing_a_person_asks_first_and_takes_it_out_of_the_list(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    add_person(ws, case_id, "witness", protected=True, name=WITNESS_NAME, pseudonym="W-0042")
    prompts = ScriptedPrompts([False, True])
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = persons(view)
    tab.withdraw_button.click()  # declined: nothing changes
    assert tab.model.rowCount() == 1
    assert "W-0042" in prompts.asked[0].text and WITNESS_NAME not in prompts.asked[0].text
    with qtbot.waitSignal(view.changed):
        tab.withdraw_button.click()
    assert tab.model.rowCount() == 0 and not tab.withdraw_button.isEnabled()
    assert queries.in_case(ws.conn, Person, case_id) == []
    assert len(queries.in_case(ws.conn, Person, case_id, include_withdrawn=True)) == 1


def test_withdrawing_a_note_asks_first_and_keeps_it_in_the_history(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = make_case(ws)
    add_note(ws, case_id, "Call the vendor about the second shell")
    prompts = ScriptedPrompts([True])
    view = make_view(qtbot, ws, case_id, prompts, runner)
    tab = view.tab("Notes")
    assert isinstance(tab, NotesTab)
    with qtbot.waitSignal(view.changed):
        tab.withdraw_button.click()
    assert "Call the vendor" in prompts.asked[0].text
    assert tab.model.rowCount() == 0
    assert len(queries.in_case(ws.conn, Note, case_id, include_withdrawn=True)) == 1
