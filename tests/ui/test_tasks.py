"""The task runner: work runs off the GUI thread and its outcome comes back on it."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
from PySide6.QtCore import QThread

from ui.tasks import Cancelled, CancelToken, ProgressSink, TaskRunner


def test_result_arrives_on_the_gui_thread_from_a_worker_thread(qtbot, runner: TaskRunner):
    gui_thread = QThread.currentThread()
    seen: dict[str, object] = {}

    def work(_token: CancelToken, _progress: ProgressSink) -> int:
        seen["worker"] = threading.get_ident()
        return 42

    task = runner.start(work)
    with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
        task.finished.connect(lambda _r: seen.setdefault("slot", QThread.currentThread()))
    assert blocker.args == [42]
    assert seen["worker"] != threading.get_ident()
    assert seen["slot"] is gui_thread
    qtbot.waitUntil(lambda: runner.active == 0)


def test_an_exception_is_delivered_as_failed(qtbot, runner: TaskRunner):
    def work(_token: CancelToken, _progress: ProgressSink) -> None:
        raise ValueError("no good")

    task = runner.start(work)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        pass
    assert isinstance(blocker.args[0], ValueError)


def test_a_cancelled_result_is_discarded_not_delivered(qtbot, runner: TaskRunner):
    release = threading.Event()
    discarded: list[object] = []

    def work(token: CancelToken, _progress: ProgressSink) -> str:
        release.wait(5)
        return "opened"

    task = runner.start(work, discard=discarded.append)
    finished: list[object] = []
    task.finished.connect(finished.append)
    task.cancel()
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        release.set()
    assert discarded == ["opened"]
    assert finished == []


def test_work_that_checks_the_token_stops_with_cancelled(qtbot, runner: TaskRunner):
    started = threading.Event()

    def work(token: CancelToken, _progress: ProgressSink) -> None:
        started.set()
        while True:
            token.raise_if_cancelled()
            threading.Event().wait(0.01)

    task = runner.start(work)
    assert started.wait(5)
    with qtbot.waitSignal(task.cancelled, timeout=5000):
        task.cancel()


def test_progress_is_polled_after_the_delay(qtbot, runner: TaskRunner):
    release = threading.Event()

    def work(_token: CancelToken, progress: ProgressSink) -> None:
        progress.report(3, 10, "copying")
        release.wait(5)

    task = runner.start(work, progress_after_ms=10)
    with qtbot.waitSignal(task.progressed, timeout=5000) as blocker:
        pass
    assert blocker.args == [3, 10, "copying"]
    with qtbot.waitSignal(task.done, timeout=5000):
        release.set()


def test_cancel_token_raises_only_after_cancel():
    token = CancelToken()
    token.raise_if_cancelled()
    token.cancel()
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.raise_if_cancelled()


class Captured:
    """Stands for what a work closure holds: a workspace, file names, field texts."""


def test_a_task_lets_go_of_its_work_and_is_deleted_on_the_gui_thread(qtbot, runner: TaskRunner):
    """Before, every task lived on after its outcome (its own `done` slot held it), with
    its work's closure and the slots connected to it; and the last reference, dropped on
    whichever thread, decided where Qt deleted it."""
    captured = Captured()
    held = weakref.ref(captured)

    def work(_token: CancelToken, _progress: ProgressSink, kept: Captured = captured) -> int:
        return 42

    deleted_on: list[bool] = []
    task = runner.start(work)
    task.destroyed.connect(lambda: deleted_on.append(QThread.currentThread() is gui_thread))
    gui_thread = QThread.currentThread()
    with qtbot.waitSignal(task.done, timeout=5000):
        pass
    del task, work, captured
    qtbot.waitUntil(lambda: deleted_on != [], timeout=5000)  # deleteLater needs the loop
    gc.collect()
    assert deleted_on == [True]
    assert held() is None
    assert runner.active == 0
