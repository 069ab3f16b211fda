"""`WorkerWrites`: a write whose tab is deleted before it ends is let finish, quietly."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.conftest import delete_and_wait
from ui.case_tabs.worker_writes import WorkerWrites
from ui.prompts import ScriptedPrompts
from ui.tasks import CancelToken, ProgressSink, TaskRunner

WAIT_MS = 60_000


class Tab(QWidget):
    """Shows what a case tab shows of a write: its state, in a widget of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.state = QLabel(self)

    def show_busy(self, busy: bool) -> None:
        self.state.setText("writing" if busy else "idle")

    def say(self, text: str) -> None:
        self.state.setText(text)


def test_a_write_that_ends_after_its_tab_was_deleted_is_dropped_quietly(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    """Before, the outcome went to the deleted tab's widgets: "Internal C++ object already
    deleted" from the event loop, a bug report for a person."""
    tab = Tab()
    prompts = ScriptedPrompts()
    writes = WorkerWrites(
        tab,
        runner=runner,
        prompts=prompts,
        on_busy=tab.show_busy,
        reread=lambda: tab.say("reread"),
        refresh=lambda: tab.say("refreshed"),
        on_changed=lambda: tab.say("changed"),
    )
    started, go_on = threading.Event(), threading.Event()
    written: list[str] = []

    def work(_token: CancelToken, _sink: ProgressSink) -> str:
        started.set()
        go_on.wait(WAIT_MS / 1000)
        written.append("person")
        return "person"

    writes.run("Add a person", work, lambda new_id: tab.say(f"selected {new_id}"))
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    assert writes.busy and tab.state.text() == "writing"
    delete_and_wait(qtbot, tab)
    go_on.set()
    qtbot.waitUntil(lambda: runner.active == 0, timeout=WAIT_MS)
    assert written == ["person"]  # a short write is let finish
    assert not writes.busy
    assert prompts.asked == []
