"""The Incidents tab: incidents in the order of their uncertain dates, a timeline strip in
step with the list, and adding and editing an incident through the incident form (played
here by `fill_incident`; the form itself is tested in test_incident_element_forms.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import cases, changesets, queries
from storage.records import CaseId, Incident
from storage.workspace import Workspace
from ui.case_tabs.incidents import IncidentsTab
from ui.dialogs.incident_form import IncidentDraft, IncidentForm
from ui.models.incident_model import DatedRole, IncidentIdRole, IncidentModel, date_sort_key
from ui.prompts import Asked, ScriptedPrompts
from ui.tasks import TaskRunner


def make_tab(
    qtbot: QtBot, ws: Workspace, case_id: CaseId, prompts: ScriptedPrompts, runner: TaskRunner
) -> IncidentsTab:
    tab = IncidentsTab(ws, case_id, prompts=prompts, runner=runner)
    qtbot.addWidget(tab)
    tab.resize(900, 500)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def last_change(ws: Workspace) -> list[tuple[str, str, str, list[str]]]:
    """The ops of the newest signed changeset: kind, entity, id and the fields named."""
    row = ws.conn.execute("SELECT body FROM changesets ORDER BY hlc DESC LIMIT 1").fetchone()
    ops = changesets.decode(bytes(row[0])).ops
    return [(op.kind, op.entity, op.entity_id, sorted(op.fields)) for op in ops]


def titles(model: IncidentModel) -> list[str]:
    return [str(model.index(row, IncidentModel.TITLE).data()) for row in range(model.rowCount())]


def varosa_case(ws: Workspace) -> CaseId:
    """Incidents recorded out of order, with every kind of uncertain date."""
    case_id = cases.add_case(ws, "Oru valley, spring 2027")
    add = cases.add_incident
    add(ws, case_id, "Looting of the depot")  # undated
    add(
        ws,
        case_id,
        "Market shelled",
        date_from="2027-03-15",
        location="Oru",
        act_types="attack on civilians",
    )
    add(ws, case_id, "Arrests at the checkpoint", date_from="after 2027-03")
    add(ws, case_id, "Village burned", date_from="2027-03", date_to="2027-04")
    add(ws, case_id, "Disappearance of the mayor", date_from="before 2027-03-15")
    add(ws, case_id, "Displacement began", date_from="2027")
    add(ws, case_id, "Executions near the river", date_from="2027-03-01")
    return case_id


def test_uncertain_dates_sort_by_where_they_start_wider_spans_first() -> None:
    """The order the tab defines (storage.dates only checks dates): a date sorts where it
    starts, the less precise before the more precise on the same day, "before X" just
    before X and "after X" just after it ends."""
    written = [
        "after 2027-03",
        "2027-03-15",
        "before 2027-03-15",
        "2027-03-01",
        "2027-03",
        "2027",
        "about 2027-03-15",
        "2026-12-31",
    ]
    ordered = sorted(written, key=lambda text: date_sort_key(text) or (0, 0, 0))
    assert ordered == [
        "2026-12-31",
        "2027",
        "2027-03",
        "2027-03-01",
        "before 2027-03-15",
        "2027-03-15",
        "about 2027-03-15",
        "after 2027-03",
    ]
    assert date_sort_key("") is None


def test_incidents_are_listed_in_date_order_with_undated_last(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = varosa_case(ws)
    tab = make_tab(qtbot, ws, case_id, ScriptedPrompts(), runner)
    assert titles(tab.model) == [
        "Displacement began",
        "Village burned",
        "Executions near the river",
        "Disappearance of the mayor",
        "Market shelled",
        "Arrests at the checkpoint",
        "Looting of the depot",
    ]
    when = [tab.model.index(row, IncidentModel.WHEN).data() for row in range(7)]
    assert when[1] == "2027-03 – 2027-04"
    assert when[3] == "before 2027-03-15"
    assert when[-1] == "undated"
    market = tab.model.index(4, IncidentModel.PLACE)
    assert market.data() == "Oru"
    assert tab.model.index(4, IncidentModel.ACTS).data() == "attack on civilians"
    assert tab.model.index(6, 0).data(DatedRole) is False
    assert tab.summary() == "7 incidents, 1 undated."
    assert tab.timeline.dated_rows() == [0, 1, 2, 3, 4, 5]


@pytest.mark.qt_log_level_fail("WARNING")
@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, ws: Workspace, force_py: bool
) -> None:
    empty = cases.add_case(ws, "An empty case")
    qtmodeltester.check(IncidentModel(ws, empty), force_py=force_py)
    model = IncidentModel(ws, varosa_case(ws))
    qtmodeltester.check(model, force_py=force_py)
    model.refresh()
    assert model.index(0, 0).data(IncidentIdRole) == model.incident(0).id  # type: ignore[union-attr]
    assert b"incidentId" in [name.data() for name in model.roleNames().values()]


def test_the_timeline_and_the_list_select_the_same_incident(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    tab = make_tab(qtbot, ws, varosa_case(ws), ScriptedPrompts(), runner)
    tab.select_row(4)
    assert tab.timeline.selected_row() == 4
    tab.timeline.setFocus()
    qtbot.keyClick(tab.timeline, Qt.Key.Key_Right)
    assert tab.selected_row() == 5
    qtbot.keyClick(tab.timeline, Qt.Key.Key_Home)
    assert tab.selected_row() == 0
    rect = tab.timeline._rect_of(1)
    assert rect is not None
    qtbot.mouseClick(tab.timeline, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert tab.selected_row() == 1 and tab.timeline.selected_row() == 1


@dataclass(frozen=True)
class Typed:
    """What a test types into the incident form (fields left None are not touched)."""

    title: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    location: str | None = None
    acts: tuple[str, ...] | None = None
    status: str | None = None


def fill_incident(
    qtbot: QtBot, typed: Typed | None, seen: list[IncidentDraft | None] | None = None
) -> Callable[[QWidget, IncidentDraft | None], dict[str, str] | None]:
    """Plays a person at the real IncidentForm: clears and types, ticks, presses Enter (or
    Escape for None). `seen` collects what the form was opened with."""

    def ask(parent: QWidget, original: IncidentDraft | None) -> dict[str, str] | None:
        if seen is not None:
            seen.append(original)
        form = IncidentForm(parent, original)
        qtbot.addWidget(form)
        form.show()
        if typed is None:
            qtbot.keyClick(form.title_edit, Qt.Key.Key_Escape)
            assert form.result() == QDialog.DialogCode.Rejected
            return None
        for edit, text in (
            (form.title_edit, typed.title),
            (form.from_edit, typed.date_from),
            (form.to_edit, typed.date_to),
            (form.location_edit, typed.location),
        ):
            if text is not None:
                edit.clear()
                qtbot.keyClicks(edit, text)
        if typed.acts is not None:
            form.set_act_types(typed.acts)
        if typed.status is not None:
            form.set_status(typed.status)
        assert form.ok_button.isEnabled(), form.problems()
        qtbot.keyClick(form.title_edit, Qt.Key.Key_Return)
        assert form.result() == QDialog.DialogCode.Accepted
        return form.changes()

    return ask


def answer(
    values: dict[str, str] | None,
) -> Callable[[QWidget, IncidentDraft | None], dict[str, str] | None]:
    """An answer the form itself would not give (to reach storage's own refusals)."""
    return lambda _parent, _original: values


def test_adding_an_incident_puts_it_in_its_place(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = varosa_case(ws)
    tab = make_tab(qtbot, ws, case_id, ScriptedPrompts(), runner)
    seen: list[IncidentDraft | None] = []
    tab.ask_incident = fill_incident(
        qtbot,
        Typed(
            "Shelling of the school",
            "about 2027-03-10",
            location="Oru",
            acts=("attack on civilians", "killing"),
        ),
        seen,
    )
    states: list[bool] = []
    tab.busy.connect(states.append)
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
    assert seen == [None]
    assert states == [True, False]  # the window keeps off the database meanwhile
    assert titles(tab.model).index("Shelling of the school") == 3
    assert tab.selected_row() == 3
    assert tab.model.index(3, IncidentModel.ACTS).data() == "killing, attack on civilians"
    assert tab.model.index(3, IncidentModel.STATUS).data() == "open"
    assert tab.summary() == "8 incidents, 1 undated."
    stored = [i for i in queries.in_case(ws.conn, Incident, case_id) if i.location == "Oru"]
    assert {i.title for i in stored} == {"Market shelled", "Shelling of the school"}


def test_cancelling_the_form_records_nothing(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = varosa_case(ws)
    tab = make_tab(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab.ask_incident = fill_incident(qtbot, None)
    with qtbot.assertNotEmitted(tab.changed), qtbot.assertNotEmitted(tab.busy):
        tab.add_incident()
        tab.select_row(0)
        tab.edit_selected()
    assert len(queries.in_case(ws.conn, Incident, case_id)) == 7


@pytest.mark.parametrize(
    ("values", "said"),
    [
        (
            {"title": "Raid", "date_from": "2027-13"},
            "The date from '2027-13' does not exist in the calendar. Nothing was recorded.",
        ),
        (
            {"title": "Raid", "act_types": "looting"},
            "Act types: ['looting'] not among",
        ),
        ({"title": "R" * 1001}, "Title is longer than 1000 characters. Nothing was recorded."),
    ],
)
def test_a_storage_refusal_is_said_plainly_and_nothing_is_recorded(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, values: dict[str, str], said: str
) -> None:
    """The form refuses these before OK; should one reach storage anyway, its own sentence
    is shown as a warning (not a bug report) and nothing is recorded."""
    case_id = cases.add_case(ws, "Oru valley")
    prompts = ScriptedPrompts()
    tab = make_tab(qtbot, ws, case_id, prompts, runner)
    tab.ask_incident = answer(values)
    with qtbot.waitSignal(tab.busy, timeout=10_000, check_params_cb=lambda busy: not busy):
        tab.add_incident()
    [warning] = prompts.asked
    assert warning.kind == "warn" and warning.title == "Add incident"
    assert said in warning.text
    assert queries.in_case(ws.conn, Incident, case_id) == []
    assert tab.summary().startswith("No incidents yet")
    assert tab.add_button.isEnabled()


def test_editing_an_incident_records_only_the_changed_fields(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    """The edit is one update of the same incident naming only what changed, so it syncs
    as an edit of those fields."""
    case_id = varosa_case(ws)
    tab = make_tab(qtbot, ws, case_id, ScriptedPrompts(), runner)
    row = titles(tab.model).index("Market shelled")
    market = tab.model.incident(row)
    assert market is not None
    tab.select_row(row)
    assert tab.edit_button.isEnabled()
    seen: list[IncidentDraft | None] = []
    tab.ask_incident = fill_incident(
        qtbot, Typed(title="Market shelled twice", status="corroborated"), seen
    )
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    assert seen == [IncidentDraft.of(market)]
    stored = queries.get(ws.conn, Incident, market.id)
    assert (stored.title, stored.status, stored.location, stored.date_from) == (
        "Market shelled twice",
        "corroborated",
        "Oru",
        "2027-03-15",
    )
    assert len(queries.in_case(ws.conn, Incident, case_id)) == 7
    assert last_change(ws) == [("update", "incident", market.id, ["status", "title"])]
    assert tab.selected_row() == tab.model.row_of(market.id)  # still selected


def test_editing_a_date_moves_the_incident_in_the_list(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = varosa_case(ws)
    tab = make_tab(qtbot, ws, case_id, ScriptedPrompts(), runner)
    row = titles(tab.model).index("Looting of the depot")  # undated, last
    tab.select_row(row)
    tab.ask_incident = fill_incident(qtbot, Typed(date_from="2026"))
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        tab.edit_selected()
    assert titles(tab.model)[0] == "Looting of the depot"
    assert tab.selected_row() == 0 and tab.timeline.selected_row() == 0
    assert tab.summary() == "7 incidents, 0 undated."


def test_enter_or_a_double_click_on_a_row_opens_the_form_for_that_incident(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    tab = make_tab(qtbot, ws, varosa_case(ws), ScriptedPrompts(), runner)
    seen: list[IncidentDraft | None] = []
    tab.ask_incident = fill_incident(qtbot, None, seen)
    tab.select_row(2)
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    assert [draft.title if draft else None for draft in seen] == [titles(tab.model)[2]]
    where = tab.table.visualRect(tab.model.index(4, IncidentModel.TITLE)).center()
    qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert len(seen) == 1  # a click only selects
    assert tab.selected_row() == 4
    # A double click is a press, a release, then the double click, as a hand does it.
    qtbot.mouseDClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert len(seen) == 2 and seen[-1] is not None
    assert seen[-1].title == titles(tab.model)[4]


def test_an_unchanged_edit_records_nothing(qtbot: QtBot, ws: Workspace, runner: TaskRunner) -> None:
    case_id = varosa_case(ws)
    tab = make_tab(qtbot, ws, case_id, ScriptedPrompts(), runner)
    tab.select_row(0)
    tab.ask_incident = fill_incident(qtbot, Typed())
    before = last_change(ws)
    with qtbot.assertNotEmitted(tab.changed), qtbot.assertNotEmitted(tab.busy):
        tab.edit_selected()
    assert last_change(ws) == before


def test_edit_is_offered_only_for_a_selected_incident(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    tab = make_tab(qtbot, ws, cases.add_case(ws, "An empty case"), ScriptedPrompts(), runner)
    assert tab.add_button.isEnabled() and not tab.edit_button.isEnabled()
    tab.ask_incident = answer({"title": "Raid"})
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        tab.add_incident()
    assert tab.selected_row() == 0 and tab.edit_button.isEnabled()


def test_an_edit_storage_refuses_is_said_and_the_incident_stays_as_it_was(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = varosa_case(ws)
    prompts = ScriptedPrompts()
    tab = make_tab(qtbot, ws, case_id, prompts, runner)
    tab.select_row(1)
    before = tab.model.incident(1)
    assert before is not None
    tab.ask_incident = answer({"date_to": "2027-02-30"})
    with qtbot.waitSignal(tab.busy, timeout=10_000, check_params_cb=lambda busy: not busy):
        tab.edit_selected()
    assert prompts.asked == [
        Asked(
            "warn",
            "Edit incident",
            "The date to '2027-02-30' does not exist in the calendar. Nothing was recorded.",
        )
    ]
    assert queries.get(ws.conn, Incident, before.id) == before
    assert tab.selected_row() == 1 and tab.edit_button.isEnabled()
