"""The case list narrows by status, category and office in the database, and the search
box finds hits across every case."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from storage.cases import add_case, add_note
from storage.connection import Connection, DatabaseError
from storage.errors import StorageError
from storage.queries import CaseFilter, count_cases, list_cases
from storage.search import SearchResults
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
    search = window.search
    search.box.setText("zebra")
    search.run()
    qtbot.waitUntil(lambda: search.summary.text().startswith("Nothing found"))
    search.box.setText("shelling")
    search.run()
    qtbot.waitUntil(lambda: search.hits.count() == 1)
    window.lock()
    assert search.hits.count() == 0 and search.box.text() == ""
    assert not search.isEnabled()


def _endless_query(reader: Connection, _text: str, _limit: int) -> SearchResults:
    """A real query that runs until SQLite is interrupted, standing in for a slow ranking."""
    reader.execute(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    ).fetchone()
    raise AssertionError("the endless query ended by itself")


def test_a_slow_search_leaves_the_window_working_and_escape_stops_it(
    qtbot, window: MainWindow, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ui.case_filters.search_results", _endless_query)
    search = window.search
    search.box.setText("market")
    search.run()
    qtbot.waitUntil(lambda: search.summary.text().startswith("Searching"))
    assert search.stop_button.isVisible() and search.searching
    # The window's own connection is free meanwhile: the list still reads and writes.
    add_case(ws, "Recorded while searching")
    assert window.model is not None
    window.model.refresh()
    assert window.model.total == 4
    search.box.setFocus()
    qtbot.keyClick(search.box, Qt.Key.Key_Escape)
    assert search.summary.text() == "Search stopped." and not search.searching
    assert not search.stop_button.isVisible() and search.hits.count() == 0
    qtbot.waitUntil(lambda: search._pool.activeThreadCount() == 0)


def test_a_newer_search_replaces_a_running_one(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = window.search
    monkeypatch.setattr("ui.case_filters.search_results", _endless_query)
    search.box.setText("market")
    search.run()
    qtbot.waitUntil(lambda: search.searching and search._pool.activeThreadCount() == 1)
    monkeypatch.undo()
    search.box.setText("clinic")
    search.run()
    qtbot.waitUntil(lambda: search.hits.count() == 1)
    assert "clinic" in search.hits.item(0).text().lower()
    assert search.summary.text() == "1 hit"


def test_locking_during_a_search_interrupts_it_and_closes_its_connection(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ui.case_filters.search_results", _endless_query)
    search = window.search
    search.box.setText("market")
    search.run()
    qtbot.waitUntil(lambda: search._reader is not None and search.searching)
    window.lock()  # waits for the search thread, then closes the reader
    assert search._reader is None and not search.searching
    assert search.hits.count() == 0 and not search.isEnabled()


def test_the_search_connection_may_only_read(ws: Workspace, cases: dict[str, str]) -> None:
    reader = ws.open_reader()
    try:
        with pytest.raises(DatabaseError):
            reader.execute("DELETE FROM cases")
        assert reader.execute("SELECT count(*) FROM cases").fetchone()[0] == 3
    finally:
        reader.close()
    ws.close()
    with pytest.raises(StorageError):
        ws.open_reader()


def test_a_cancel_that_misses_the_interrupt_still_stops_the_query(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled without SQLite's interrupt (as when it lands between two statements of a
    search): the progress check stops the query all the same."""
    monkeypatch.setattr("ui.case_filters.search_results", _endless_query)
    search = window.search
    search.box.setText("market")
    search.run()
    qtbot.waitUntil(lambda: search._pool.activeThreadCount() == 1 and search.searching)
    task = search._task
    assert task is not None
    task.token.cancel()  # only the token: no interrupt()
    qtbot.waitUntil(lambda: search._pool.activeThreadCount() == 0, timeout=3000)


def test_each_filter_shows_its_longest_choice_whole_yet_may_shrink(window: MainWindow) -> None:
    """Found by the end-to-end walk (tests/e2e/test_withdraw_restore_walk.py): the status
    filter read "Withdraw" for Withdrawn, its box always as narrow as four characters."""
    window.resize(1200, 700)
    window.filter_bar.set_offices(["Mirani field office", "Kabora field office"])
    bar = window.filter_bar
    for box in (bar.status_box, bar.category_box, bar.office_box):
        longest = max((box.itemText(i) for i in range(box.count())), key=len)
        needed = box.fontMetrics().horizontalAdvance(longest)
        assert box.sizeHint().width() > needed, (box.accessibleName(), longest)
        # Beside a docked view the box may still shrink (eliding its choice).
        assert 0 < box.minimumWidth() < box.sizeHint().width()
