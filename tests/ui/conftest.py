"""Fixtures for driving real widgets: a private task runner and a clock tests can move."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication, QObject, QThreadPool
from pytestqt.qtbot import QtBot

from ui.tasks import TaskRunner


class FakeClock:
    """A wall clock (Unix time) that moves only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def runner(qapp: object) -> Iterator[TaskRunner]:
    """A runner on its own pool, drained after the test so no work leaks into the next."""
    pool = QThreadPool()
    task_runner = TaskRunner(pool)
    yield task_runner
    pool.waitForDone(30_000)
    QCoreApplication.processEvents()


@pytest.fixture
def clock() -> FakeClock:
    """Injected into dialogs whose countdowns tests must not wait out."""
    return FakeClock()


def delete_and_wait(qtbot: QtBot, thing: QObject, timeout_ms: int = 60_000) -> None:
    """Delete `thing` as Qt does (`deleteLater`) and wait until it is gone, as a view is
    when its window closes it: what it started may still be running."""
    gone: list[bool] = []
    thing.destroyed.connect(lambda: gone.append(True))
    thing.deleteLater()
    qtbot.waitUntil(lambda: gone == [True], timeout=timeout_ms)
