"""Above the case list: filters by status, act category and lead office, and a search box.

The filters narrow the list in the database (`storage.queries.CaseFilter`), so a filtered
list of 100,000 cases still loads one page. The search box asks the full-text index for
hits across every case after a short pause in typing. The search runs on a thread of its
own, through a read-only connection of its own, so a slow one never holds up the window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage.connection import Connection, DatabaseError
from storage.entities import ACT_TYPES, CASE_STATUSES
from storage.errors import StorageError
from storage.queries import CaseFilter
from storage.search import SearchResults, search_results
from ui.models.case_table import CaseIdRole
from ui.prompts import Prompts
from ui.search_hits import HitPartsRole, SearchHitDelegate, hit_heading, hit_plain_text
from ui.tasks import Cancelled, CancelToken, Task, TaskRunner

SEARCH_PAUSE_MS = 250
SEARCH_LIMIT = 100
SEARCHING_SHOWN_AFTER_MS = 150
PROGRESS_STEPS = 10_000  # SQLite steps between checks for a cancel (well under 1 ms)

ReaderOpener = Callable[[], Connection]

ANY = "Any"
# The status choice that shows withdrawn cases instead of the others (to restore one).
WITHDRAWN = "withdrawn"
FILTER_MIN_CHARS = 4  # the narrowest a filter's choice box gets, in characters


def _fit_choices(box: QComboBox) -> None:
    """Let `box` ask for the width of its longest choice (its minimum width stays)."""
    longest = max((len(box.itemText(i)) for i in range(box.count())), default=0)
    box.setMinimumContentsLength(max(FILTER_MIN_CHARS, longest))


class CaseFilterBar(QWidget):
    """Status, category and office choices; `changed(CaseFilter)` when one changes."""

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_box = self._combo("Status", [*CASE_STATUSES, WITHDRAWN])
        self.category_box = self._combo("Category", list(ACT_TYPES))
        self.office_box = self._combo("Lead office", [])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label, box in (
            ("Stat&us:", self.status_box),
            ("Cate&gory:", self.category_box),
            ("&Office:", self.office_box),
        ):
            caption = QLabel(label, self)
            caption.setBuddy(box)
            layout.addWidget(caption)
            layout.addWidget(box)
        layout.addStretch(1)

    def _combo(self, name: str, choices: list[str]) -> QComboBox:
        box = QComboBox(self)
        box.setAccessibleName(f"Filter by {name.lower()}")
        # As wide as its longest choice when there is room, narrower (elided) when a view
        # is docked beside a small window: the bar must not hold the window wider. Qt's
        # size hint for this policy is the minimum length, so the box was always narrow
        # and cut "Withdrawn" to "Withdraw" (e2e walk): the minimum width is fixed at
        # FILTER_MIN_CHARS, and the hint follows the longest choice (`_fit_choices`).
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(FILTER_MIN_CHARS)
        box.setMinimumWidth(box.minimumSizeHint().width())
        box.addItem(ANY, None)
        for value in choices:
            box.addItem(value[:1].upper() + value[1:], value)
        _fit_choices(box)
        box.currentIndexChanged.connect(self._emit)
        return box

    def set_offices(self, offices: list[str]) -> None:
        """Offer the lead offices the workspace's cases name, keeping the choice."""
        chosen = self.office_box.currentData()
        self.office_box.blockSignals(True)
        self.office_box.clear()
        self.office_box.addItem(ANY, None)
        for office in offices:
            self.office_box.addItem(office, office)
        index = self.office_box.findData(chosen) if chosen else 0
        self.office_box.setCurrentIndex(max(index, 0))
        _fit_choices(self.office_box)
        self.office_box.blockSignals(False)

    @Slot()
    def clear(self) -> None:
        """Back to every case: each choice to Any, then `changed` once."""
        for box in (self.status_box, self.category_box, self.office_box):
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        self._emit()

    def choices(self) -> tuple[str, str]:
        """The status and category chosen ("" for Any): fixed vocabularies, nothing of the
        workspace, so they may cross a lock's restart (`MainWindow.list_view`)."""
        return (self.status_box.currentData() or "", self.category_box.currentData() or "")

    def choose(self, status: str, category: str) -> None:
        """Choose this status and category again (a value not offered is left at Any),
        then `changed` once."""
        for box, value in ((self.status_box, status), (self.category_box, category)):
            index = box.findData(value) if value else 0
            box.blockSignals(True)
            box.setCurrentIndex(max(index, 0))
            box.blockSignals(False)
        self._emit()

    def current(self) -> CaseFilter:
        """The filter the choices describe ("Withdrawn" lists withdrawn cases only)."""
        status = self.status_box.currentData() or None
        return CaseFilter(
            status=None if status == WITHDRAWN else status,
            withdrawn=status == WITHDRAWN,
            category=self.category_box.currentData() or None,
            lead_office=self.office_box.currentData() or None,
        )

    @Slot()
    def _emit(self) -> None:
        self.changed.emit(self.current())


class CaseSearch(QWidget):
    """A search box and its hits across all cases; `case_chosen(case_id)` on activation.

    A search runs on a thread of its own with its own read-only connection
    (`Workspace.open_reader`), so a word found in half the records (ranking it takes most
    of a second, PLATFORM.md) never freezes the window, and the workspace's connection
    stays with the list and the writers. A newer search, Escape or Stop interrupts the
    running query (SQLite's interrupt), and a lock waits for it before the reader closes.
    """

    case_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None, prompts: Prompts | None = None) -> None:
        super().__init__(parent)
        self._prompts = prompts or Prompts()
        self._open_reader: ReaderOpener | None = None
        self._reader: Connection | None = None
        self._reader_lock = threading.Lock()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._runner = TaskRunner(self._pool, self)
        self._task: Task | None = None
        self.box = QLineEdit(self)
        self.box.setPlaceholderText("Search every case… (Ctrl+F)")
        self.box.setAccessibleName("Search every case")
        self.box.setClearButtonEnabled(True)
        self.box.installEventFilter(self)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAccessibleName("Search summary")
        self.summary.setVisible(False)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setAccessibleName("Stop searching")
        self.stop_button.setToolTip("Stop this search (Escape)")
        self.stop_button.setVisible(False)
        self.stop_button.clicked.connect(self.cancel)
        self.hits = QListWidget(self)
        self.hits.setAccessibleName("Search hits")
        self.hits.setVisible(False)
        self.hits.setMaximumHeight(220)
        self.hits.setItemDelegate(SearchHitDelegate(self.hits))  # the matched words highlighted
        self.hits.setResizeMode(QListView.ResizeMode.Adjust)  # rewrap the hits on a resize
        self.hits.itemActivated.connect(self._activated)
        status = QHBoxLayout()
        status.setContentsMargins(0, 0, 0, 0)
        status.addWidget(self.summary, 1)
        status.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box)
        layout.addLayout(status)
        layout.addWidget(self.hits)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_PAUSE_MS)
        self._timer.timeout.connect(self.run)
        self._slow = QTimer(self)
        self._slow.setSingleShot(True)
        self._slow.setInterval(SEARCHING_SHOWN_AFTER_MS)
        self._slow.timeout.connect(self._show_searching)
        self.box.textChanged.connect(self._timer.start)
        self.box.returnPressed.connect(self.run)
        shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(self.box.setFocus)

    def set_reader(self, open_reader: ReaderOpener | None) -> None:
        """Search through connections `open_reader` makes (None while locked: the running
        search is stopped, its connection closed, and the box and hits are emptied)."""
        self._stop_worker()
        self._open_reader = open_reader
        self._timer.stop()
        self.box.blockSignals(True)
        self.box.clear()
        self.box.blockSignals(False)
        self._show(None)
        self.setEnabled(open_reader is not None)

    @property
    def searching(self) -> bool:
        """True while a search runs."""
        return self._task is not None

    @Slot()
    def run(self) -> None:
        """Search for the box's text now, stopping a search still running."""
        self._timer.stop()
        self.cancel(quietly=True)
        text = self.box.text().strip()
        if self._open_reader is None or not text:
            self._show(None)
            return
        task = self._runner.start(lambda token, _sink: self._search(token, text))
        self._task = task
        task.finished.connect(lambda results: self._found(task, results))
        task.failed.connect(lambda error: self._failed(task, error))
        task.cancelled.connect(lambda: self._ended(task))
        self._slow.start()

    @Slot()
    def cancel(self, quietly: bool = False) -> None:
        """Stop the running search; its hits are never shown."""
        task, self._task = self._task, None
        self._slow.stop()
        self.stop_button.setVisible(False)
        if task is None:
            return
        task.cancel()
        with self._reader_lock:
            if self._reader is not None:
                self._reader.interrupt()
        if not quietly:
            self.summary.setText("Search stopped.")
            self.summary.setVisible(True)

    def _search(self, token: CancelToken, text: str) -> SearchResults:
        """On the search thread: the hits, or Cancelled when interrupted."""
        token.raise_if_cancelled()
        reader = self._reader_for_search()
        # SQLite asks this every few thousand steps of any statement and stops the one
        # running when it answers 1: a cancel asked between the search's statements, or
        # while the reader was still opening (when interrupt() has nothing to stop), still
        # lands.
        reader.set_progress_handler(lambda: int(token.cancelled), PROGRESS_STEPS)
        try:
            token.raise_if_cancelled()
            return search_results(reader, text, SEARCH_LIMIT)
        except DatabaseError:  # an interrupted query
            if token.cancelled:
                raise Cancelled from None
            raise
        finally:
            reader.set_progress_handler(None, 0)

    def _reader_for_search(self) -> Connection:
        with self._reader_lock:
            if self._reader is None:
                opener = self._open_reader
                if opener is None:
                    raise Cancelled
                self._reader = opener()
            return self._reader

    def _stop_worker(self) -> None:
        """Interrupt the search, wait for its thread, and close the reader."""
        self.cancel(quietly=True)
        self._pool.waitForDone()
        with self._reader_lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def _ended(self, task: Task) -> None:
        if task is self._task:
            self._task = None
            self._slow.stop()
            self.stop_button.setVisible(False)

    def _found(self, task: Task, results: object) -> None:
        if task is not self._task or not isinstance(results, SearchResults):
            return
        self._ended(task)
        self._show(results)

    def _failed(self, task: Task, error: object) -> None:
        if task is not self._task:
            return
        self._ended(task)
        self._show(None)
        if isinstance(error, StorageError):
            self.summary.setText(f"The search could not run: {error}")
            self.summary.setVisible(True)
        elif isinstance(error, BaseException):
            self.summary.setText("The search stopped with an error.")
            self.summary.setVisible(True)
            self._prompts.report_bug(self, "Search failed", error)

    @Slot()
    def _show_searching(self) -> None:
        if self._task is None:
            return
        self.summary.setText("Searching… (Escape stops)")
        self.summary.setVisible(True)
        self.stop_button.setVisible(True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Escape in the box stops a running search."""
        # getattr: Python may have cleared this widget's attributes while Qt, destroying
        # it, still sends events here (see ui.dialogs.busy.BusyKeys).
        if (
            watched is getattr(self, "box", None)
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and self._task is not None
        ):
            self.cancel()
            return True
        return super().eventFilter(watched, event)

    def _show(self, results: SearchResults | None) -> None:
        self.hits.clear()
        if results is None:
            self.summary.setText("")
            self.summary.setVisible(False)
            self.hits.setVisible(False)
            return
        for hit in results.hits:
            item = QListWidgetItem(hit_plain_text(hit))
            item.setData(CaseIdRole, hit.case_id)
            item.setData(HitPartsRole, (hit_heading(hit), hit.parts))
            self.hits.addItem(item)
        count = len(results.hits)
        if count == 0:
            text = "Nothing found. Try fewer or other words."
        elif results.many:
            text = (
                f"Many matches; the {count} most recently changed are shown. Add words to"
                " narrow the search."
            )
        else:
            text = f"{count} hit" if count == 1 else f"{count} hits, best first"
        self.summary.setText(text)
        self.summary.setVisible(True)
        self.hits.setVisible(count > 0)

    @Slot(QListWidgetItem)
    def _activated(self, item: QListWidgetItem) -> None:
        case_id = item.data(CaseIdRole)
        if case_id:
            self.case_chosen.emit(str(case_id))
