"""The case list narrows by status, category and office in the database, and the search
box finds hits across every case."""

from __future__ import annotations

import pytest

from storage.cases import add_case, add_note
from storage.queries import CaseFilter, count_cases, list_cases
from storage.workspace import Workspace
from ui.main_window import MainWindow
from ui.models.case_table import CaseTableModel
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner


@pytest.fixture
def cases(ws: Workspace) -> dict[str, str]:
    return {
        "market": add_case(ws, "Shelling of the market", categories="attack on civilians"),
        "camp": add_case(
            ws, "Detentions at the camp", status="closed", categories="torture,killing"
        ),
        "clinic": add_case(
            ws, "Attack on the clinic", status="under review", lead_office="Mirani field office"
        ),
    }


def test_the_database_filters_by_status_category_and_office(
    ws: Workspace, cases: dict[str, str]
) -> None:
    def ids(wanted: CaseFilter) -> set[str]:
        assert count_cases(ws.conn, where=wanted) == len(list_cases(ws.conn, where=wanted))
        return {case.id for case in list_cases(ws.conn, where=wanted)}

    assert ids(CaseFilter()) == set(cases.values())
    assert ids(CaseFilter(status="closed")) == {cases["camp"]}
    assert ids(CaseFilter(category="killing")) == {cases["camp"]}
    assert ids(CaseFilter(category="kill")) == set()  # a whole category, not a substring
    assert ids(CaseFilter(category="attack on civilians")) == {cases["market"]}
    assert ids(CaseFilter(lead_office="Mirani field office")) == {cases["clinic"]}
    assert ids(CaseFilter(status="open", lead_office="Mirani field office")) == set()


def test_a_filtered_model_still_passes_the_model_tester(
    qtmodeltester, ws: Workspace, cases: dict[str, str]
) -> None:
    model = CaseTableModel(ws.conn)
    model.set_filter(CaseFilter(status="closed"))
    assert model.total == 1 and model.rowCount() == 1
    qtmodeltester.check(model)


@pytest.fixture
def window(qtbot, ws: Workspace, cases: dict[str, str], runner: TaskRunner) -> MainWindow:
    main = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(main)
    main.show()
    return main


def test_choosing_filters_narrows_the_window_list(window: MainWindow) -> None:
    bar = window.filter_bar
    offices = [bar.office_box.itemText(i) for i in range(bar.office_box.count())]
    assert "Mirani field office" in offices and offices[0] == "Any"
    bar.status_box.setCurrentIndex(bar.status_box.findData("closed"))
    assert window.model is not None and window.model.total == 1
    assert window.model.index(0, CaseTableModel.TITLE).data() == "Detentions at the camp"
    bar.status_box.setCurrentIndex(0)
    bar.category_box.setCurrentIndex(bar.category_box.findData("attack on civilians"))
    assert window.model.total == 1
    bar.category_box.setCurrentIndex(0)
    bar.office_box.setCurrentIndex(bar.office_box.findData("Mirani field office"))
    assert [window.model.index(r, CaseTableModel.TITLE).data() for r in range(1)] == [
        "Attack on the clinic"
    ]


def test_search_finds_notes_across_cases_and_opens_the_case(
    qtbot, window: MainWindow, ws: Workspace, cases: dict[str, str]
) -> None:
    add_note(ws, cases["camp"], "The guard known as Tiger was seen at the gate")
    window.search.box.setText("tiger")
    qtbot.waitUntil(lambda: window.search.hits.count() == 1)
    assert window.search.summary.text() == "1 hit"
    item = window.search.hits.item(0)
    assert "tiger" in item.text().lower()
    window.search.hits.itemActivated.emit(item)
    assert window.selected_case_id() == cases["camp"]


def test_a_search_with_no_hits_says_so_and_locking_empties_it(qtbot, window: MainWindow) -> None:
    window.search.box.setText("zebra")
    window.search.run()
    assert window.search.summary.text().startswith("Nothing found")
    window.search.box.setText("shelling")
    window.search.run()
    assert window.search.hits.count() == 1
    window.lock()
    assert window.search.hits.count() == 0 and window.search.box.text() == ""
    assert not window.search.isEnabled()
