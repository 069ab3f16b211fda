"""Running a case tab's writes on the worker, one at a time, with one outcome policy.

The Incidents, Legal elements, Persons and Notes tabs record through `storage.cases` on the
task runner, so the window never waits on a signed commit. Each had its own copy of the
same steps: say "busy" while the worker holds the workspace's one connection (the main
window keeps its hands off the database meanwhile), reread and reselect after a success
and tell the case view, show a storage refusal as its plain sentence, and report anything
else as a bug. `WorkerWrites` is that one copy; a tab owns one, made by
`WorkerWrites.for_tab` from the signals and reads every such tab has (`WritingTab`).

A write is short and is let finish; should the tab be deleted meanwhile, its outcome is
dropped rather than shown in widgets that no longer exist.

The tab owns its `WorkerWrites`, so this holds the tab, and the tab's methods it is given,
only weakly: holding them would put the tab in a reference cycle, and a tab shown without
a parent would then be deleted by Python's cycle collector whenever it next ran, even in
the middle of the tab's own `paintEvent` (see `ui.slots`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import shiboken6
from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QWidget

from storage import cases
from storage.errors import StorageError
from storage.roles import NotPermitted
from storage.workspace import Workspace
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.slots import weak_callback
from ui.tasks import CancelToken, ProgressSink, TaskRunner, Work

# What a refusal message ends with: nothing was written. Tabs that only change records that
# are there (Persons, Notes) say "changed".
NOTHING_RECORDED = "Nothing was recorded."
NOTHING_CHANGED = "Nothing was changed."


class Rereads(Protocol):
    """A tab's model: `refresh()` rereads it from the workspace."""

    def refresh(self) -> None:
        """Reread the rows."""


class WritingTab(Protocol):
    """What a case tab that writes on the worker has, as the case view expects of it:
    `busy(bool)` around each write, `changed()` after one, its `model` and `refresh()`."""

    @property
    def busy(self) -> SignalInstance:
        """Emitted with True when a write starts and False when it ends."""

    @property
    def changed(self) -> SignalInstance:
        """Emitted after a write recorded something."""

    @property
    def model(self) -> Rereads:
        """The rows the tab shows."""

    def refresh(self) -> None:
        """Reread what is there now, keeping the selection where it can."""


class WorkerWrites:
    """Runs one write at a time on `runner` for the tab `owner`.

    `on_busy(bool)` is called when a write starts and when it ends (the tab updates its
    buttons and emits its `busy` signal); after a success `reread()` rereads the tab's
    model, then the write's own `then(result)` reselects, then `on_changed()` tells the case
    view. A `StorageError` (a refusal such as `InvalidInput`, or a record withdrawn
    meanwhile) is shown through `prompts.warn` as its sentence, then `ending`, the tab's
    words for "nothing was written" (`NOTHING_CHANGED` where the tab only edits records
    that are there), and `refresh()` rereads what is there now; anything else goes to
    `prompts.report_bug`.

    `owner`, and any of the callbacks that is a bound method, are held weakly (the owner
    owns this object); once the owner is gone an outcome is dropped.
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
        ending: str = NOTHING_RECORDED,
    ) -> None:
        self._owner = weakref.ref(owner)
        self._runner = runner
        self._prompts = prompts
        self._on_busy = weak_callback(on_busy)
        self._reread = weak_callback(reread)
        self._refresh = weak_callback(refresh)
        self._on_changed = weak_callback(on_changed)
        self._ending = ending
        self._busy = False

    @classmethod
    def for_tab(
        cls,
        tab: WritingTab,
        *,
        runner: TaskRunner,
        prompts: Prompts,
        show: Callable[[], None],
        ending: str = NOTHING_RECORDED,
    ) -> WorkerWrites:
        """The writes of a case tab widget: `show()` updates its buttons and the tab emits
        `busy` as a write starts and ends; a success rereads `tab.model`, a refusal
        `tab.refresh()`, and the tab emits `changed` after a success."""
        if not isinstance(tab, QWidget):  # the tab is the parent of every message
            raise TypeError(f"{type(tab).__name__} is not a widget")
        # The closures below would otherwise hold the tab that owns what they are given to.
        tab_ref = weakref.ref(tab)
        show_buttons = weak_callback(show)

        def on_busy(busy: bool) -> None:
            show_buttons()
            alive = tab_ref()
            if alive is not None:
                alive.busy.emit(busy)  # the worker holds the workspace's connection meanwhile

        def on_changed() -> None:
            alive = tab_ref()
            if alive is not None:
                alive.changed.emit()

        return cls(
            tab,
            runner=runner,
            prompts=prompts,
            on_busy=on_busy,
            reread=tab.model.refresh,
            refresh=tab.refresh,
            on_changed=on_changed,
            ending=ending,
        )

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
        task.cancelled.connect(self._cancelled)  # none asks yet; never stuck

    def update(
        self,
        title: str,
        workspace: Workspace,
        record: type[Any],
        ident: str,
        changes: Mapping[str, str],
        then: Callable[[Any], None],
    ) -> None:
        """Record an edit form's `changes` to one record with `storage.cases.update_record`,
        as `run` does. Only the changed fields are written, so the edit syncs (and could
        conflict) as a change of those fields alone."""
        fields = dict(changes)

        def work(_token: CancelToken, _sink: ProgressSink) -> str:
            return cases.update_record(workspace, record, ident, **fields)

        self.run(title, work, then)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._on_busy(busy)  # the worker holds the workspace's connection meanwhile

    def _ended(self) -> bool:
        """The write is over: say so, if the tab is still there to hear it (True)."""
        owner = self._owner()
        if owner is None or not shiboken6.isValid(owner):
            self._busy = False
            return False
        self._set_busy(False)
        return True

    def _cancelled(self) -> None:
        self._ended()

    def _finished(self, title: str, then: Callable[[Any], None], result: object) -> None:
        if not self._ended():
            return
        try:
            self._reread()
            then(result)
        except Exception as exc:  # a bug in showing the outcome, not in the write
            self._prompts.report_bug(self._owner(), title, exc)
        self._on_changed()

    def _failed(self, title: str, error: object) -> None:
        if not self._ended():
            return
        if isinstance(error, StorageError):  # InvalidInput, NotFound: said for a person
            # A refusal by role already says that nothing changed, and that it was audited.
            ending = "" if isinstance(error, NotPermitted) else f" {self._ending}"
            self._prompts.warn(self._owner(), title, f"{sentence(str(error))}{ending}")
            try:
                self._refresh()
            except Exception as exc:
                self._prompts.report_bug(self._owner(), title, exc)
        elif isinstance(error, BaseException):
            self._prompts.report_bug(self._owner(), title, error)
