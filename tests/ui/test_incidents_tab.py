"""The Incidents tab: incidents in the order of their uncertain dates, a timeline strip in
step with the list, and adding an incident with its dates checked plainly."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import cases, queries
from storage.records import CaseId, Incident
from storage.workspace import Workspace
from ui.case_tabs.incidents import IncidentsTab
from ui.models.incident_model import DatedRole, IncidentIdRole, IncidentModel, date_sort_key
from ui.prompts import ScriptedPrompts
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


def test_adding_an_incident_puts_it_in_its_place(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = varosa_case(ws)
    prompts = ScriptedPrompts(
        ["Shelling of the school", "about 2027-03-10", "", "Oru", "Attack on civilians, killing"]
    )
    tab = make_tab(qtbot, ws, case_id, prompts, runner)
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
    assert titles(tab.model).index("Shelling of the school") == 3
    assert tab.selected_row() == 3
    assert tab.model.index(3, IncidentModel.ACTS).data() == "killing, attack on civilians"
    assert tab.summary() == "8 incidents, 1 undated."
    stored = [i for i in queries.in_case(ws.conn, Incident, case_id) if i.location == "Oru"]
    assert {i.title for i in stored} == {"Market shelled", "Shelling of the school"}


@pytest.mark.parametrize(
    ("answers", "said"),
    [
        (["Raid", "2027-13"], "The start date '2027-13' does not exist in the calendar."),
        (["Raid", "March 2027"], "The start date 'March 2027' is not a date Valise understands."),
        (["Raid", "2027-03", "soon"], "The end date 'soon' is not a date Valise understands."),
        (["Raid", "2027-04", "2027-03"], "would end (2027-03) before it starts (2027-04)"),
    ],
)
def test_a_bad_date_is_refused_plainly_and_nothing_is_recorded(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, answers: list[str], said: str
) -> None:
    case_id = cases.add_case(ws, "Oru valley")
    prompts = ScriptedPrompts(answers)
    tab = make_tab(qtbot, ws, case_id, prompts, runner)
    tab.add_incident()
    last = prompts.asked[-1]
    assert last.kind == "warn" and said in last.text
    assert "Nothing was recorded" in last.text or "nothing was recorded" in last.text
    assert queries.in_case(ws.conn, Incident, case_id) == []
    assert prompts.answers == []
    assert tab.summary().startswith("No incidents yet")
