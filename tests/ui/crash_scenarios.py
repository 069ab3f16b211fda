"""Scenarios that used to kill the process, run in a child process by the tests.

A crash in Qt's destructors takes the whole interpreter with it, so a test that provoked
one in-process would end the suite instead of failing. `tests/ui/test_crash_under_load.py`
runs `python -m tests.ui.crash_scenarios NAME` and expects "survived" and exit status 0.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from storage import cases
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace

SURVIVED = "survived"


def _workspace(folder: Path) -> tuple[Workspace, str]:
    ws = create_workspace(
        folder / "ws",
        "Kabora field office",
        "correct horse battery staple",
        office_code="KAB",
        situation="VAR",
        kdf=FAST_INSECURE_KDF,
    )
    return ws, cases.add_case(ws, "Shelling of the Varosa market")


def window_dropped_then_views_deleted(folder: Path) -> None:
    """The main window's last Python reference goes (as at the end of a test) while its
    docked case view and audit view are still to be deleted by a lock: the views' signal
    connections must not be what keeps the window alive, or deleting a view deletes the
    window, which deletes the view a second time."""
    from ui.main_window import MainWindow
    from ui.prompts import ScriptedPrompts

    ws, case_id = _workspace(folder)

    def open_window() -> MainWindow:
        window = MainWindow(ws, prompts=ScriptedPrompts())
        window.show()
        window.open_case(case_id)
        window.show_audit()
        window.lock()  # the docks are closed and deleted later
        return window

    open_window()  # nothing in Python holds the window now
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def search_dropped_after_its_search_ended(folder: Path) -> None:
    """A search box (owning its runner and so the runner's tasks) whose last Python
    reference goes while a finished search task is still to be deleted: the task's slots
    must not be what keeps the box alive, or deleting the task deletes the box, whose
    runner deletes the task a second time."""
    from PySide6.QtCore import QEventLoop

    from ui.case_filters import CaseSearch

    ws, _case_id = _workspace(folder)

    def search_once() -> None:
        search = CaseSearch()
        search.set_reader(ws.open_reader)
        search.box.setText("Varosa")
        search.run()
        task = search._task
        assert task is not None
        loop = QEventLoop()
        task.done.connect(loop.quit)
        loop.exec()

    search_once()  # nothing in Python holds the box now; its task awaits deleteLater
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def tab_dropped_while_shown_then_painted(folder: Path) -> None:
    """A case tab shown as a window of its own loses its last Python reference while a
    repaint is pending, and Python's cycle collector runs at every allocation, so it runs
    inside the tab's own `paintEvent`: the tab must already be gone by then (freed when
    its last reference went), not kept by reference cycles for the collector to delete
    mid-paint, which leaves Qt painting freed widgets."""
    import gc

    from storage.records import CaseId
    from ui.case_tabs.incidents import IncidentsTab
    from ui.prompts import ScriptedPrompts
    from ui.tasks import TaskRunner

    ws, case_id = _workspace(folder)
    cases.add_incident(ws, case_id, "Market shelled", date_from="2027-03-15")
    runner = TaskRunner()

    def show_tab() -> None:
        tab = IncidentsTab(ws, CaseId(case_id), prompts=ScriptedPrompts(), runner=runner)
        tab.resize(900, 500)
        tab.show()
        QCoreApplication.processEvents()
        tab.timeline.update()  # a repaint pending as the tab's last reference goes

    show_tab()
    thresholds = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    try:
        QCoreApplication.processEvents()
    finally:
        gc.set_threshold(*thresholds)
    gc.collect()
    QCoreApplication.processEvents()
    ws.close()


SCENARIOS: dict[str, Callable[[Path], None]] = {
    "tab_dropped_while_shown_then_painted": tab_dropped_while_shown_then_painted,
    "window_dropped_then_views_deleted": window_dropped_then_views_deleted,
    "search_dropped_after_its_search_ended": search_dropped_after_its_search_ended,
}


def main(name: str) -> int:
    """Run one scenario in a fresh application; print SURVIVED if the process did."""
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        SCENARIOS[name](Path(folder))
    app.processEvents()
    print(SURVIVED, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
