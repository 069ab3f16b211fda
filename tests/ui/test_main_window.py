"""The main window: title and status, New case through the prompt seam, Lock and Quit."""

from __future__ import annotations

import gc

import pytest
import sqlcipher3.dbapi2 as sqlcipher
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget

from storage import queries
from storage.cases import add_case
from storage.records import Incident
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from ui.main_window import ListView, MainWindow
from ui.models.case_table import CaseTableModel
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner


@pytest.fixture
def prompts() -> ScriptedPrompts:
    return ScriptedPrompts()


@pytest.fixture
def window(qtbot, ws: Workspace, prompts: ScriptedPrompts, runner: TaskRunner) -> MainWindow:
    main = MainWindow(ws, prompts=prompts, runner=runner)
    qtbot.addWidget(main)
    main.show()
    return main


def test_title_and_status_bar_name_the_office_and_fingerprint(window: MainWindow, ws):
    assert window.windowTitle() == "Kabora field office — Valise"
    assert window.office_label.text() == "Kabora field office"
    assert window.fingerprint_label.text() == f"Fingerprint: {ws.fingerprint}"
    assert window.count_label.text() == "0 cases"
    assert window.table.model() is window.model


def test_actions_have_the_documented_shortcuts(window: MainWindow):
    assert window.new_case_action.shortcut() == QKeySequence("Ctrl+N")
    assert window.lock_action.shortcut() == QKeySequence("Ctrl+L")
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.restore_case_action.shortcut() == QKeySequence("Ctrl+Shift+R")
    file_menu = window.menuBar().actions()[0]
    assert file_menu.text() == "&File"
    assert [a.text() for a in file_menu.menu().actions() if a.text()] == [
        "&New case…",
        "&Restore withdrawn case",
        "&Lock",
        "&Quit",
    ]


def test_new_case_asks_the_title_through_the_prompt_seam_and_adds_a_row(
    window: MainWindow, prompts: ScriptedPrompts
):
    prompts.answers.append("Attack on the Kabora market")
    window.new_case_action.trigger()
    assert [(a.kind, a.title) for a in prompts.asked] == [("text", "New case")]
    assert window.model.rowCount() == 1
    assert window.model.index(0, CaseTableModel.TITLE).data() == "Attack on the Kabora market"
    assert window.selected_case_id() == window.model.case_id(0)
    assert window.count_label.text() == "1 case"


def test_new_case_cancelled_or_blank_adds_nothing(window: MainWindow, prompts: ScriptedPrompts):
    prompts.answers.extend([None, "   "])
    window.new_case_action.trigger()
    window.new_case_action.trigger()
    assert window.model.rowCount() == 0
    assert [a.kind for a in prompts.asked] == ["text", "text"]


def test_a_new_case_refused_by_storage_is_explained(window, prompts: ScriptedPrompts):
    prompts.answers.append("x" * 5000)  # longer than a title may be
    window.new_case_action.trigger()
    assert prompts.asked[-1].kind == "warn"
    assert window.model.rowCount() == 0


def test_existing_cases_are_listed(qtbot, ws: Workspace, prompts, runner):
    add_case(ws, "Detention at the river camp")
    main = MainWindow(ws, prompts=prompts, runner=runner)
    qtbot.addWidget(main)
    assert main.model.rowCount() == 1
    assert main.count_label.text() == "1 case"


def test_lock_closes_the_workspace_and_asks_for_the_passphrase_again(
    qtbot, window: MainWindow, ws: Workspace, workspace_dir
):
    with qtbot.waitSignal(window.locked, timeout=1000):
        window.lock_action.trigger()
    assert window.workspace is None
    assert window.model is None and window.table.model() is None
    with pytest.raises(sqlcipher.ProgrammingError):
        ws.conn.execute("SELECT 1")
    # The folder lock is released: another process (here, this one) can open it at once.
    open_workspace(workspace_dir, PASSPHRASE).close()
    assert not window.new_case_action.isEnabled()
    assert window.count_label.text() == "Locked"
    assert window.fingerprint_label.text() == ""

    dialog = window.unlock_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.passphrase_edit, PASSPHRASE)
    with qtbot.waitSignal(window.unlocked, timeout=10_000):
        qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    assert isinstance(window.workspace, Workspace)
    assert window.workspace is not ws
    assert window.model is not None and window.table.model() is window.model
    assert window.new_case_action.isEnabled()
    window.close()
    open_workspace(workspace_dir, PASSPHRASE).close()  # closing the window locked it


def test_quitting_from_the_unlock_dialog_closes_the_window(qtbot, window: MainWindow):
    window.lock_action.trigger()
    dialog = window.unlock_dialog
    qtbot.mouseClick(dialog.quit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=1000)


def test_quit_closes_the_window_and_the_workspace(qtbot, window: MainWindow, ws, workspace_dir):
    window.quit_action.trigger()
    assert not window.isVisible()
    assert window.workspace is None
    open_workspace(workspace_dir, PASSPHRASE).close()


def test_clicking_a_header_sorts_through_the_model(qtbot, window: MainWindow, prompts):
    prompts.answers.extend(["beta", "Alpha", "gamma"])
    for _ in range(3):
        window.new_case_action.trigger()
    window.table.sortByColumn(CaseTableModel.TITLE, Qt.SortOrder.AscendingOrder)
    titles = [window.model.index(r, CaseTableModel.TITLE).data() for r in range(3)]
    assert titles == ["Alpha", "beta", "gamma"]
    window.table.horizontalHeader().setSortIndicator(
        CaseTableModel.LEAD_OFFICE, Qt.SortOrder.DescendingOrder
    )
    header = window.table.horizontalHeader()
    assert header.sortIndicatorSection() == CaseTableModel.LEAD_OFFICE
    assert window.model.sort_column == CaseTableModel.LEAD_OFFICE
    titles = [window.model.index(r, CaseTableModel.TITLE).data() for r in range(3)]
    assert sorted(titles) == ["Alpha", "beta", "gamma"]


def test_the_sync_menu_docks_peers_and_conflicts_and_locking_closes_them(qtbot, window: MainWindow):
    sync_menu = window.menuBar().actions()[1]
    assert sync_menu.text() == "&Sync"
    assert [a.text() for a in sync_menu.menu().actions()] == [
        "Sync &centre…",
        "&Incoming changes…",
        "Pa&rked…",
        "&Held back…",
        "&Conflicts…",
        "&Peers…",
        "&Trust and revocations…",
    ]
    assert window.incoming_action.shortcut() == QKeySequence("Ctrl+Shift+I")
    assert window.peers_action.shortcut() == QKeySequence("Ctrl+Shift+P")
    assert window.conflicts_action.shortcut() == QKeySequence("Ctrl+Shift+K")
    window.peers_action.trigger()
    window.conflicts_action.trigger()
    window.conflicts_action.trigger()  # a second time replaces, does not stack
    qtbot.waitUntil(lambda: len(window.findChildren(QDockWidget)) == 2)
    docks = window.findChildren(QDockWidget)
    assert sorted(d.windowTitle() for d in docks) == ["Conflicts", "Peers"]
    assert all(d.isVisible() for d in docks)
    next(d for d in docks if d.windowTitle() == "Peers").close()  # closed by hand: deleted
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    window.lock()
    assert not any(d.isVisible() for d in window.findChildren(QDockWidget))
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # as the loop would
    assert not window.findChildren(QDockWidget)
    assert not window.peers_action.isEnabled() and not window.conflicts_action.isEnabled()


def test_while_the_sync_centre_works_the_window_keeps_off_the_database_and_locks_after(
    qtbot, window: MainWindow
):
    """A bundle task owns the workspace's connection on a worker thread: the case list and
    the other views wait, and a lock asked for meanwhile cancels the task and follows it."""
    window.sync_action.trigger()
    qtbot.waitUntil(lambda: len(window.findChildren(QDockWidget)) == 1)
    [dock] = window.findChildren(QDockWidget)
    center = dock.widget()
    assert dock.windowTitle() == "Sync centre"
    assert window.sync_action.shortcut() == QKeySequence("Ctrl+Shift+S")
    center.busy.emit(True)
    assert not window.table.isEnabled()
    assert not window.new_case_action.isEnabled() and not window.peers_action.isEnabled()
    assert not window.idle_watcher.running
    window.lock()
    assert window.workspace is not None  # not yet: the task still holds the connection
    assert "then locking" in window.statusBar().currentMessage()
    assert not (dock.features() & QDockWidget.DockWidgetFeature.DockWidgetClosable)
    center.busy.emit(False)  # the lock follows once the centre has handled the outcome
    qtbot.waitUntil(lambda: window.workspace is None and window.unlock_dialog is not None)


def test_a_view_deleted_while_it_works_does_not_leave_the_window_busy(
    qtbot, window: MainWindow, ws, runner: TaskRunner
):
    case_id = add_case(ws, "Case with a long write")
    window.open_case(case_id)
    qtbot.wait(50)  # the tabs start their first reads from the event loop
    qtbot.waitUntil(lambda: runner.active == 0 and not window._busy)
    dock = window._docks["case"]
    dock.widget().tab("Persons").busy.emit(True)
    assert window._busy and not window.idle_watcher.running
    dock.deleteLater()  # as if it went without saying the work ended
    qtbot.waitUntil(lambda: not window._busy)
    assert window.table.isEnabled() and window.idle_watcher.running
    window.lock()
    qtbot.waitUntil(lambda: window.workspace is None)


def test_activating_a_case_opens_its_view_with_every_tab(qtbot, window: MainWindow, ws):
    case_id = add_case(ws, "Attack on the Askadi clinic")
    window.model.refresh()
    row = window.model.row_of(case_id)
    window.table.activated.emit(window.model.index(row, CaseTableModel.TITLE))
    docks = [d for d in window.findChildren(QDockWidget) if d.windowTitle().startswith("Case ")]
    assert len(docks) == 1
    view = docks[0].widget()
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert titles == [
        "Overview",
        "Persons",
        "Notes",
        "Evidence",
        "Legal elements",
        "Incidents",
        "History",
    ]
    assert window.selected_case_id() == case_id
    evidence_tab = view.tab("Evidence")
    evidence_tab.busy.emit(True)  # its worker owns the connection: the rest waits
    assert not window.table.isEnabled() and docks[0].isEnabled()
    evidence_tab.busy.emit(False)
    assert window.table.isEnabled()
    window.lock()
    assert not any(d.isVisible() for d in window.findChildren(QDockWidget))


def test_every_case_tab_that_writes_on_the_worker_tells_the_window(qtbot, window, ws):
    case_id = add_case(ws, "Case with tabs")
    window.open_case(case_id)
    [dock] = [d for d in window.findChildren(QDockWidget) if d.windowTitle().startswith("Case")]
    view = dock.widget()
    for title in ("Evidence", "Legal elements", "Incidents"):
        view.tab(title).busy.emit(True)
        assert not window.table.isEnabled(), title
        view.tab(title).busy.emit(False)
        assert window.table.isEnabled(), title


def test_overlapping_tasks_of_two_views_keep_the_list_off_until_both_end(qtbot, window, ws):
    case_id = add_case(ws, "Case with tabs")
    window.open_case(case_id)
    window.show_sync_center()
    qtbot.waitUntil(lambda: not window._busy)  # the views' opening tasks
    docks = {name: dock for name, dock in window._docks.items()}
    window._set_busy(True, "case")
    window._set_busy(True, "sync")
    assert docks["case"].isEnabled() and docks["sync"].isEnabled()
    window._set_busy(False, "case")  # the sync centre still works: the rest waits
    assert not window.table.isEnabled() and not docks["case"].isEnabled()
    assert docks["sync"].isEnabled()
    window._set_busy(False, "sync")
    assert window.table.isEnabled() and docks["case"].isEnabled()
    window._set_busy(False, "sync")  # an extra end changes nothing
    assert not window._busy and window.table.isEnabled()


def test_a_lock_asked_during_a_tab_write_follows_it_without_an_error(
    qtbot, window: MainWindow, ws, prompts: ScriptedPrompts, runner: TaskRunner, monkeypatch
):
    import time

    from storage import cases
    from storage.cases import add_incident

    case_id = add_case(ws, "Case")
    add_incident(ws, case_id, "Shelling")
    window.open_case(case_id)
    qtbot.wait(50)
    qtbot.waitUntil(lambda: runner.active == 0 and not window._busy)
    tab = window._docks["case"].widget().tab("Incidents")
    tab.select_row(0)
    real = cases.update_record

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(cases, "update_record", slow)
    tab.ask_incident = lambda _parent, _draft: {"location": "Oru"}
    tab.edit_selected()
    assert window._busy
    window.lock()  # Ctrl+L while the edit is on the worker
    qtbot.waitUntil(lambda: window.workspace is None, timeout=5000)
    qtbot.wait(200)
    assert prompts.asked == []  # the tab reread before the lock; no bug dialog after it
    reopened = open_workspace(ws.paths.root, PASSPHRASE)
    try:
        assert queries.in_case(reopened.conn, Incident, case_id)[0].location == "Oru"
    finally:
        reopened.close()


def test_what_is_alive_at_unlock_is_left_out_of_later_collections(window: MainWindow) -> None:
    """A full collection of the heap the window built took ~45 ms, a stall while
    scrolling; the window freezes it once unlocked (`settle_heap`)."""
    assert gc.get_freeze_count() > 0


def test_a_lock_in_the_application_closes_everything_then_restarts_locked(
    qtbot, ws: Workspace, prompts: ScriptedPrompts, runner: TaskRunner, workspace_dir
):
    """With a relock step (the application's re-executes the program) Ctrl+L closes the
    workspace as before and hands over the folder and geometry instead of unlocking in
    this process, whose memory still holds the key's traces."""
    restarts: list[tuple[object, str, ListView, str]] = []
    main = MainWindow(
        ws, prompts=prompts, runner=runner, relock=lambda *args: restarts.append(args)
    )
    qtbot.addWidget(main)
    main.show()
    with qtbot.waitSignal(main.locked, timeout=1000):
        main.lock_action.trigger()  # the real Ctrl+L: tests/e2e/test_lock_memory.py
    with pytest.raises(sqlcipher.ProgrammingError):
        ws.conn.execute("SELECT 1")
    open_workspace(workspace_dir, PASSPHRASE).close()  # the folder lock was released
    assert [(folder, reason, user) for folder, reason, _view, user in restarts] == [
        (workspace_dir, "", "Supervisor")  # offered again in the next image's User field
    ]
    assert main.restoreGeometry(restarts[0][2].geometry)  # Qt's own geometry bytes
    assert main.unlock_dialog is None  # the next process image asks for the passphrase
    assert main.windowTitle() == "Valise"  # no office name left on screen meanwhile


def test_the_list_filters_and_order_survive_a_lock_restart(
    qtbot, ws: Workspace, prompts: ScriptedPrompts, runner: TaskRunner, workspace_dir
):
    """What survived a lock in one process survives the restart: the status and category
    filters and the sort order (the next image's window is given them back)."""
    add_case(ws, "Detention at the river camp")
    restarts: list[ListView] = []
    main = MainWindow(
        ws, prompts=prompts, runner=runner, relock=lambda _f, _r, view, _u: restarts.append(view)
    )
    qtbot.addWidget(main)
    main.filter_bar.choose("closed", "killing")
    main.table.horizontalHeader().setSortIndicator(
        CaseTableModel.TITLE, Qt.SortOrder.AscendingOrder
    )
    main.lock()
    [view] = restarts
    assert (view.status, view.category) == ("closed", "killing")
    assert (view.sort_column, view.sort_descending) == (CaseTableModel.TITLE, False)

    with open_workspace(workspace_dir, PASSPHRASE) as again:
        after = MainWindow(again, prompts=prompts, runner=runner)
        qtbot.addWidget(after)
        after.show_list_view(view)
        assert after.filter_bar.choices() == ("closed", "killing")
        assert after.model.case_filter.status == "closed"
        header = after.table.horizontalHeader()
        assert header.sortIndicatorSection() == CaseTableModel.TITLE
        assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
        after.shutdown()
