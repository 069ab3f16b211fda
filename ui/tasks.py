"""A small task runner: slow work on a `QThreadPool` worker, outcomes back on the GUI thread.

Work is a callable taking a `CancelToken` and a `ProgressSink`. It runs on a pool thread so
the window keeps painting (unlocking spends ~0.2 s in Argon2id). The worker only writes the
sink; the GUI polls it with a timer after a short delay, so quick work never flashes a
progress display (calibre `gui2/threaded_jobs.py`, Anki `aqt/progress.py`). The result or
the exception comes back through a queued signal, so every slot runs on the GUI thread.

Lifetimes: a `Task` belongs to the application object (its Qt parent), so no Python
reference, least of all the worker's, decides when it is deleted, and neither does its
runner's end: a view that owns its runner may go, deleted by the very slots its task
drops as it goes. Once its outcome is handed over, the task forgets its work and deletes
itself later on the GUI thread, which also drops the slots connected to it. Before, each
task lived on (its `done` slot held it) with the work's closure: the workspace, file
lists, field texts; and whatever dropped the last reference to such an object, a worker
thread included, would delete it there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)

from ui.slots import weakly

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised by work that stopped because it was asked to; reported as a cancel, silently."""


class CancelToken:
    """Set by the GUI, checked by the work between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once `cancel` was called."""
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """For work loops: stop here when a cancel was asked for."""
        if self._event.is_set():
            raise Cancelled


@dataclass(frozen=True)
class ProgressState:
    """How far the work got: `done` of `total` (0 when unknown), and what it is doing."""

    done: int = 0
    total: int = 0
    text: str = ""


class ProgressSink:
    """The latest progress, written by the worker and read by the GUI; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = ProgressState()

    def report(self, done: int, total: int = 0, text: str = "") -> None:
        """Record progress; cheap enough to call for every item."""
        with self._lock:
            self._state = ProgressState(done, total, text)

    def snapshot(self) -> ProgressState:
        """The latest state."""
        with self._lock:
            return self._state


Work = Callable[[CancelToken, ProgressSink], Any]


class _Courier(QObject):
    """Carries a task's outcome from the worker to the task, and nothing else.

    Emitting a signal is when Qt tidies away the sender's disconnected connections, and
    with them PySide drops the Python slots they held. On the task's own signals those are
    lambdas and closures that hold views; dropped on a worker thread, the last reference
    to a view deletes it there (seen: a search box deleted on its own search thread, which
    waited for itself and aborted). The courier's one connection goes to the task's slot,
    so what the worker emits on holds no Python slot to drop.
    """

    delivered = Signal(object, object)


class Task(QObject):
    """One piece of work and its outcome; lives on the GUI thread.

    Exactly one of `finished(result)`, `failed(exception)` or `cancelled()` is emitted, then
    `done()`; then the task drops its work and deletes itself (`deleteLater`), so connect
    to it at once and keep no reference after `done`. When the task was cancelled but the
    work still produced a result (an opened workspace, say), `discard(result)` is called so
    nothing is left open.
    """

    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()
    progressed = Signal(int, int, str)

    def __init__(
        self,
        work: Work,
        *,
        discard: Callable[[Any], object] | None = None,
        progress_after_ms: int = 400,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.work: Work | None = work
        self.token = CancelToken()
        self.progress = ProgressSink()
        self.running = True
        self._discard = discard
        self._last_progress = ProgressState()
        self._courier = _Courier(self)
        self._courier.delivered.connect(self._on_delivered, Qt.ConnectionType.QueuedConnection)
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._poll_progress)
        QTimer.singleShot(progress_after_ms, self, self._start_polling)

    def cancel(self) -> None:
        """Ask the work to stop; the outcome will be `cancelled` whatever it returns."""
        self.token.cancel()

    def _run_in_worker(self) -> None:
        work = self.work
        if work is None:  # pragma: no cover - a task runs once
            return
        try:
            result, error = work(self.token, self.progress), None
        except Exception as exc:  # handed to the GUI thread, which decides how to show it
            result, error = None, exc
        del work  # the GUI thread lets go of the work's closure, not this one
        self._courier.delivered.emit(result, error)

    def _start_polling(self) -> None:
        if self.running:
            self._poll.start()

    @Slot()
    def _poll_progress(self) -> None:
        state = self.progress.snapshot()
        if state != self._last_progress:
            self._last_progress = state
            self.progressed.emit(state.done, state.total, state.text)

    @Slot(object, object)
    def _on_delivered(self, result: object, error: object) -> None:
        self.running = False
        self._poll.stop()
        if self.token.cancelled or isinstance(error, Cancelled):
            if error is None and result is not None and self._discard is not None:
                try:
                    self._discard(result)
                except Exception:
                    log.exception("discarding the result of a cancelled task failed")
            self.cancelled.emit()
        elif error is not None:
            self.failed.emit(error)
        else:
            self.finished.emit(result)
        self.done.emit()
        # Nothing the work captured outlives its outcome, and the task (with the slots
        # connected to it) is deleted here, on the GUI thread, never on a worker.
        self.work = None
        self._discard = None
        self.deleteLater()


class _Runnable(QRunnable):
    """Runs a task's work on a pool thread. The pool deletes it on that thread, so it lets
    go of the task before then; the task's lifetime is its runner's business."""

    def __init__(self, task: Task) -> None:
        super().__init__()
        self._task: Task | None = task

    def run(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task._run_in_worker()


class TaskRunner(QObject):
    """Starts tasks on a thread pool and counts them until their outcome is delivered (each
    then deletes itself; the module docstring says who owns a task)."""

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._active: set[Task] = set()

    def start(
        self,
        work: Work,
        *,
        discard: Callable[[Any], object] | None = None,
        progress_after_ms: int = 400,
    ) -> Task:
        """Run `work(token, progress)` on the pool; connect to the returned task's signals."""
        task = Task(
            work,
            discard=discard,
            progress_after_ms=progress_after_ms,
            parent=QCoreApplication.instance(),
        )
        self._active.add(task)
        # Weakly: a runner kept alive by its task's slot could be deleted as they go.
        task.done.connect(weakly(self._forget, task))
        self._pool.start(_Runnable(task))
        return task

    def _forget(self, task: Task) -> None:
        self._active.discard(task)

    @property
    def active(self) -> int:
        """Tasks whose outcome has not been delivered yet."""
        return len(self._active)

    def wait_for_done(self, msecs: int = -1) -> bool:
        """Block until the workers are idle (at shutdown); outcomes still need the event loop."""
        return bool(self._pool.waitForDone(msecs))


_shared: TaskRunner | None = None


def shared_runner() -> TaskRunner:
    """The application's runner, made on first use (after the QApplication exists)."""
    global _shared
    if _shared is None:
        _shared = TaskRunner()
    return _shared
