"""One piece of long work at a time, with a progress bar, its label and a Cancel button.

The Evidence tab (hashing and encrypting files) and the sync centre (reading, importing
and writing bundles) run their work the same way: one task at a time on the database
runner, `busy` raised while it holds the workspace's connection, progress shown only
once the work reports some, Cancel setting both the task's token and a `threading.Event`
the storage and sync functions poll, and the outcome shown as a sentence (a refusal or a
file problem) or as a bug. `CancellableWork` is that one mechanism; each view gives it
its widgets and says what to do when the work ends.

The view may be deleted while its job runs (a test closing it, a window going away). Its
job is then cancelled, and the outcome, which arrives later on the GUI thread, is dropped
instead of being shown in widgets that no longer exist.

The view owns its `CancellableWork`, so this holds the view, and the view's methods it is
given, only weakly: holding them would put the view in a reference cycle, and a view shown
without a parent would then be deleted by Python's cycle collector whenever it next ran,
even in the middle of its own `paintEvent` (see `ui.slots`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget

from storage.errors import StorageError
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.slots import weak_callback, weakly
from ui.tasks import CancelToken, ProgressSink, Task, TaskRunner

PROGRESS_STEPS = 1000  # the bar counts in thousandths: byte totals overflow a Qt int
CancellableJob = Callable[[CancelToken, ProgressSink, threading.Event], Any]


class CancellableWork:
    """Runs one job at a time for the view `owner`.

    `on_busy(bool)` is called as a job starts and ends (the view emits its `busy`), and
    `on_idle()` once it has ended, before its outcome is handled (the view re-enables its
    controls and catches up on what waited). `file_advice` ends the sentence shown when a
    file or folder could not be used. With `cancel_shown_while_running`, a job that cannot
    be cancelled still shows a disabled Cancel saying so.
    """

    def __init__(
        self,
        owner: QWidget,
        runner: TaskRunner,
        prompts: Prompts,
        *,
        title: str,
        progress_bar: QProgressBar,
        progress_label: QLabel,
        cancel_button: QPushButton,
        on_busy: Callable[[bool], None],
        on_idle: Callable[[], None],
        file_advice: str,
        cancel_shown_while_running: bool = False,
    ) -> None:
        self._owner = weakref.ref(owner)
        self._runner = runner
        self._prompts = prompts
        self._title = title
        self.progress_bar = progress_bar
        self.progress_label = progress_label
        self.cancel_button = cancel_button
        self._on_busy = weak_callback(on_busy)
        self._on_idle = weak_callback(on_idle)
        self._file_advice = file_advice
        self._cancel_always_shown = cancel_shown_while_running
        self._task: Task | None = None
        self._cancel_event = threading.Event()
        self._late: object = None  # a result delivered although Cancel was pressed
        owner.destroyed.connect(weakly(self._owner_gone))

    @property
    def running(self) -> bool:
        """True from `start` until the job's outcome was handed over."""
        return self._task is not None

    def start(
        self,
        job: CancellableJob,
        on_finished: Callable[[Any], None],
        on_cancelled: Callable[[Any], None] = lambda _late: None,
        *,
        title: str,
        cancellable: bool = True,
    ) -> bool:
        """Run `job(token, progress, cancel_event)` on the runner; False while another job
        runs. `on_cancelled` gets what a cancelled job produced anyway (or None)."""
        if self._task is not None:
            return False
        cancel = self._cancel_event = threading.Event()
        self._late = None
        task = self._runner.start(
            lambda token, sink: job(token, sink, cancel), discard=self._keep_late
        )
        self._task = task
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText("")
        self.cancel_button.setEnabled(cancellable)
        self.show_progress(False)
        task.progressed.connect(self._on_progress)
        task.finished.connect(lambda result: self._finish(on_finished, result))
        task.cancelled.connect(lambda: self._finish(on_cancelled, self._late))
        task.failed.connect(lambda error: self._fail(title, error))
        self._on_busy(True)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop; silent, and nothing half-done is kept."""
        if self._task is None or not self.cancel_button.isEnabled():
            return
        self._cancel_event.set()
        self._task.cancel()
        self.cancel_button.setEnabled(False)
        self.progress_label.setText("Cancelling…")

    def show_progress(self, shown: bool) -> None:
        """Show or hide the progress; Cancel is there while a job may still be stopped."""
        self.progress_bar.setVisible(shown)
        self.progress_label.setVisible(shown)
        running = self._task is not None
        self.cancel_button.setVisible(
            running and (shown or self._cancel_always_shown or self.cancel_button.isEnabled())
        )

    def _owner_gone(self) -> None:
        """The view is being deleted: stop its job (nothing half-done is kept); no widget
        is touched, they are going too."""
        self._cancel_event.set()
        if self._task is not None:
            self._task.cancel()

    def _owner_alive(self) -> bool:
        """False once the view was deleted; its job's outcome then has nowhere to go."""
        owner = self._owner()
        if owner is not None and shiboken6.isValid(owner):
            return True
        self._task = None
        return False

    def _keep_late(self, result: object) -> None:
        self._late = result

    def _on_progress(self, done: int, total: int, text: str) -> None:
        if not self._owner_alive():
            return
        if total > 0:
            self.progress_bar.setRange(0, PROGRESS_STEPS)
            self.progress_bar.setValue(min(PROGRESS_STEPS, done * PROGRESS_STEPS // total))
        else:
            self.progress_bar.setRange(0, 0)  # busy indicator: the total is not known
        self.progress_label.setText(text)
        self.show_progress(True)

    def _end(self) -> None:
        self._task = None
        self.show_progress(False)
        self.cancel_button.setEnabled(False)
        self._on_idle()
        self._on_busy(False)

    def _finish(self, handler: Callable[[Any], None], result: object) -> None:
        if not self._owner_alive():
            return
        self._end()
        try:
            handler(result)
        except Exception as exc:  # a bug in showing the outcome, not in the work
            self._prompts.report_bug(self._owner(), self._title, exc)

    def _fail(self, title: str, error: object) -> None:
        if not self._owner_alive():
            return
        self._end()
        if isinstance(error, StorageError):  # refusals, SyncError: a sentence for a person
            self._prompts.warn(self._owner(), title, sentence(str(error)))
        elif isinstance(error, OSError):
            where = f" {error.filename}" if error.filename else ""
            self._prompts.warn(
                self._owner(),
                title,
                f"Cannot use{where}: {error.strerror or error}. {self._file_advice}",
            )
        elif isinstance(error, BaseException):
            self._prompts.report_bug(self._owner(), title, error)
