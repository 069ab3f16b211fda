"""An empty case list is replaced by a guide: the first steps in a new workspace (each
button opens what it names), or, when the filters leave no case, a sentence saying so
with a way to clear them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from storage.cases import add_case
from storage.workspace import Workspace
from ui.case_list_guide import ListState
from ui.main_window import MainWindow
from ui.models.case_table import PAGE_SIZE
from ui.peers_view import PeersView
from ui.prompts import ScriptedPrompts
from ui.sync_center import SyncCenter
from ui.tasks import TaskRunner


@pytest.fixture
def prompts() -> ScriptedPrompts:
    return ScriptedPrompts()


@pytest.fixture
def window(qtbot, ws: Workspace, prompts: ScriptedPrompts, runner: TaskRunner) -> MainWindow:
    main = MainWindow(ws, prompts=prompts, runner=runner)
    qtbot.addWidget(main)
    main.resize(1024, 700)
    main.show()
    qtbot.waitExposed(main)
    return main


def test_a_new_workspace_shows_the_first_steps_instead_of_an_empty_table(
    window: MainWindow,
) -> None:
    assert window.list_state is ListState.NEW_WORKSPACE
    assert window.cases_stack.currentWidget() is window.guide
    assert window.guide.heading.text() == "No cases yet"
    shown = [
        b.text()
        for b in window.guide.findChildren(type(window.guide.new_case_button))
        if b.isVisible()
    ]
    assert shown == ["&New case… (Ctrl+N)", "&Import from a stick…", "Add a &peer…"]
    assert not window.guide.clear_button.isVisible()


def test_new_case_in_the_guide_asks_the_title_and_then_shows_the_list(
    qtbot, window: MainWindow, prompts: ScriptedPrompts
) -> None:
    prompts.answers.append("Shelling of the market")
    qtbot.mouseClick(window.guide.new_case_button, Qt.MouseButton.LeftButton)
    assert [(a.kind, a.title) for a in prompts.asked] == [("text", "New case")]
    qtbot.waitUntil(lambda: window.list_state is ListState.CASES)
    assert window.cases_stack.currentWidget() is window.table
    assert window.model is not None and window.model.rowCount() == 1


def test_import_from_a_stick_in_the_guide_opens_the_sync_centre(qtbot, window: MainWindow) -> None:
    qtbot.mouseClick(window.guide.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(SyncCenter) is not None)
    center = window.findChild(SyncCenter)
    assert center is not None and center.isVisible()
    qtbot.waitUntil(lambda: not center.is_busy)  # it rereads the peers as it opens


def test_add_a_peer_in_the_guide_opens_the_peers(qtbot, window: MainWindow) -> None:
    qtbot.mouseClick(window.guide.add_peer_button, Qt.MouseButton.LeftButton)
    view = window.findChild(PeersView)
    assert view is not None and view.isVisible()


def test_filters_that_leave_no_case_say_so_and_clear_brings_the_cases_back(
    qtbot, ws: Workspace, window: MainWindow
) -> None:
    add_case(ws, "Shelling of the market")
    window._refresh_cases()
    assert window.list_state is ListState.CASES
    window.filter_bar.status_box.setCurrentIndex(window.filter_bar.status_box.findData("closed"))
    assert window.list_state is ListState.NO_MATCH
    assert window.guide.heading.text() == "No case matches these filters"
    assert window.guide.clear_button.isVisible()
    assert not window.guide.new_case_button.isVisible()
    qtbot.mouseClick(window.guide.clear_button, Qt.MouseButton.LeftButton)
    assert window.list_state is ListState.CASES
    assert window.filter_bar.status_box.currentData() is None
    assert window.model is not None and window.model.rowCount() == 1


def test_the_guide_waits_with_the_list_while_work_runs_and_goes_when_locked(
    window: MainWindow,
) -> None:
    window._set_busy(True, "sync")
    assert not window.guide.isEnabled()
    window._set_busy(False, "sync")
    assert window.guide.isEnabled()
    window.lock()
    assert window.cases_stack.currentWidget() is window.table  # nothing of the workspace


def test_reading_more_cases_leaves_the_hidden_guide_alone(
    ws: Workspace, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page read while scrolling announces its rows; the guide, hidden behind the
    rows, is not told (and laid out) again for each, and the count stays right."""
    with ws.transaction():
        for number in range(PAGE_SIZE + 5):
            add_case(ws, f"Case {number}")
    window._refresh_cases()
    told: list[ListState] = []
    monkeypatch.setattr(window.guide, "show_state", told.append)
    model = window.model
    assert model is not None and model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == PAGE_SIZE + 5
    assert told == []
    assert window.list_state is ListState.CASES
    assert window.cases_stack.currentWidget() is window.table
    assert window.count_label.text() == f"{PAGE_SIZE + 5} cases"
    window.filter_bar.status_box.setCurrentIndex(window.filter_bar.status_box.findData("closed"))
    assert told == [ListState.NO_MATCH]  # shown: told what to say
