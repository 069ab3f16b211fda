"""A view goes when its last reference goes, never later at the cycle collector's whim.

The suite once died deterministically with "Segmentation fault" in the Incidents tab's
`paintEvent` (`QPainter::fillRect` through a dangling paint engine, or, under gdb,
`QWidgetRepaintManager::markNeedsFlush`), during pytest-qt's event processing right after
an Incidents test, but only when a main window test had run before it. The tab, shown
without a parent so Python owned it, was held after the test only by reference cycles
through the helpers it owns (`WorkerWrites`, `RowActivation`) holding its own methods.
Python's cycle collector, set off by an allocation in the timeline's `paintEvent`, then
deleted the tab and its children while Qt was painting them (valgrind: "Invalid read ...
inside a block free'd by QObjectPrivate::deleteChildren ... delete_garbage"). The main
window test only moved the collector's next run into that paint. The helpers now hold
their owner weakly (`ui.slots.weak_callback`).
"""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Callable

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from storage import cases
from storage.records import CaseId
from storage.workspace import Workspace
from tests.ui.crash_scenarios import SURVIVED
from tests.ui.test_crash_under_load import CHILD_TIMEOUT_S, FATAL, ROOT, child_env
from ui.audit_view import AuditView
from ui.case_tabs.elements import ElementsTab
from ui.case_tabs.evidence import EvidenceTab
from ui.case_tabs.history import HistoryTab
from ui.case_tabs.incidents import IncidentsTab
from ui.case_tabs.notes import NotesTab
from ui.case_tabs.overview import OverviewTab
from ui.case_tabs.persons import PersonsTab
from ui.case_view import CaseView
from ui.conflicts_view import ConflictsView
from ui.incoming_view import IncomingView
from ui.main_window import CASE_TABS
from ui.peers_view import PeersView
from ui.prompts import ScriptedPrompts
from ui.sync_center import SyncCenter
from ui.tasks import TaskRunner
from ui.trust_view import TrustView

MakeView = Callable[[Workspace, CaseId, TaskRunner], QWidget]
WAIT_MS = 30_000


def _tab(kind: Callable[..., QWidget]) -> MakeView:
    def make(ws: Workspace, case_id: CaseId, runner: TaskRunner) -> QWidget:
        return kind(ws, case_id, prompts=ScriptedPrompts(), runner=runner)

    return make


VIEWS: dict[str, MakeView] = {
    "incidents tab": _tab(IncidentsTab),
    "legal elements tab": _tab(ElementsTab),
    "persons tab": _tab(PersonsTab),
    "notes tab": _tab(NotesTab),
    "evidence tab": _tab(EvidenceTab),
    "history tab": _tab(HistoryTab),
    "overview tab": _tab(OverviewTab),
    "case view": lambda ws, case_id, runner: CaseView(
        ws, case_id, prompts=ScriptedPrompts(), runner=runner, extra_tabs=CASE_TABS
    ),
    "sync centre": lambda ws, _case_id, runner: SyncCenter(ws, runner, ScriptedPrompts()),
    "audit log": lambda ws, _case_id, runner: AuditView(ws, runner, ScriptedPrompts()),
    "peers": lambda ws, _case_id, _runner: PeersView(ws, prompts=ScriptedPrompts()),
    "conflicts": lambda ws, _case_id, _runner: ConflictsView(ws, prompts=ScriptedPrompts()),
    "incoming changes": lambda ws, _case_id, _runner: IncomingView(ws),
    "trust": lambda ws, _case_id, _runner: TrustView(ws, prompts=ScriptedPrompts()),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_a_shown_view_goes_as_soon_as_its_last_reference_does(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, name: str
) -> None:
    """With the cycle collector off, dropping the only reference to a shown view (no
    parent: Python owns it) must delete it there and then. A view still alive is held by
    a reference cycle, and the collector would delete it at some later allocation, even
    inside its own paint event."""
    case_id = cases.add_case(ws, "Shelling of the Varosa market")
    cases.add_incident(ws, case_id, "Market shelled", date_from="2027-03-15")
    view = VIEWS[name](ws, case_id, runner)
    view.show()
    qtbot.waitExposed(view)
    QCoreApplication.processEvents()  # what the view queued as it was shown
    # A task still running holds its view until its outcome is in: that is no cycle.
    qtbot.waitUntil(lambda: runner.active == 0, timeout=WAIT_MS)
    gone = weakref.ref(view)
    gc.collect()
    gc.disable()
    try:
        del view
        held = gone() is not None
    finally:
        gc.enable()
    assert not held, f"the {name} is kept alive by a reference cycle"


def test_a_case_tab_dropped_with_a_repaint_pending_is_not_deleted_mid_paint() -> None:
    """Crashed every time before the fix: the Incidents tab, shown on its own, loses its
    last reference with a repaint pending, and the cycle collector runs at every
    allocation, so inside the timeline's `paintEvent` ("Internal C++ object
    (TimelineStrip) already deleted", then "Segmentation fault"). Run in a child process
    so a crash fails this test instead of ending the suite."""
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "tests.ui.crash_scenarios",
            "tab_dropped_while_shown_then_painted",
        ],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    assert FATAL not in output, output[-4000:]
    assert "already deleted" not in output, output[-4000:]
    assert done.returncode == 0 and SURVIVED in done.stdout, output[-4000:]
