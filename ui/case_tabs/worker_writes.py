"""Running a case tab's writes on the worker, one at a time, with one outcome policy.

The Incidents and Legal elements tabs record through `storage.cases` on the task runner,
so the window never waits on a signed commit. Each had its own copy of the same steps:
say "busy" while the worker holds the workspace's one connection (the main window keeps
its hands off the database meanwhile), reread and reselect after a success and tell the
case view, show a storage refusal as its plain sentence, and report anything else as a
bug. `WorkerWrites` is that one copy; a tab owns one and gives it its signals and reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from storage.errors import StorageError
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import TaskRunner, Work


class WorkerWrites:
    """Runs one write at a time on `runner` for the tab `owner`.

    `on_busy(bool)` is called when a write starts and when it ends (the tab updates its
    buttons and emits its `busy` signal); after a success `reread()` rereads the tab's
    model, then the write's own `then(result)` reselects, then `on_changed()` tells the case
    view. A `StorageError` (a refusal such as `InvalidInput`, or a record withdrawn
    meanwhile) is shown through `prompts.warn` as its sentence, and `refresh()` rereads
    what is there now; anything else goes to `prompts.report_bug`.
    """

    def __init__(
        self,
        owner: QWidget,
        *,
        runner: TaskRunner,
        prompts: Prompts,
        on_busy: Callable[[bool], None],
        reread: Callable[[], None],
        refresh: Callable[[], None],
        on_changed: Callable[[], None],
    ) -> None:
        self._owner = owner
        self._runner = runner
        self._prompts = prompts
        self._on_busy = on_busy
        self._reread = reread
        self._refresh = refresh
        self._on_changed = on_changed
        self._busy = False

    @property
    def busy(self) -> bool:
        """True while a write is on the worker (the tab then starts no other)."""
        return self._busy

    def run(self, title: str, work: Work, then: Callable[[Any], None]) -> None:
        """Record with `work(token, progress)` on the worker; `title` names the action in
        any message. Ignored while another write is running."""
        if self._busy:
            return
        self._set_busy(True)
        task = self._runner.start(work)
        task.finished.connect(lambda result: self._finished(title, then, result))
        task.failed.connect(lambda error: self._failed(title, error))
        task.cancelled.connect(lambda: self._set_busy(False))  # none asks yet; never stuck

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._on_busy(busy)  # the worker holds the workspace's connection meanwhile

    def _finished(self, title: str, then: Callable[[Any], None], result: object) -> None:
        self._set_busy(False)
        try:
            self._reread()
            then(result)
        except Exception as exc:  # a bug in showing the outcome, not in the write
            self._prompts.report_bug(self._owner, title, exc)
        self._on_changed()

    def _failed(self, title: str, error: object) -> None:
        self._set_busy(False)
        if isinstance(error, StorageError):  # InvalidInput, NotFound: said for a person
            self._prompts.warn(self._owner, title, f"{sentence(str(error))} Nothing was recorded.")
            try:
                self._refresh()
            except Exception as exc:
                self._prompts.report_bug(self._owner, title, exc)
        elif isinstance(error, BaseException):
            self._prompts.report_bug(self._owner, title, error)
