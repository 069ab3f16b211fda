"""Above the case list: filters by status, act category and lead office, and a search box.

The filters narrow the list in the database (`storage.queries.CaseFilter`), so a filtered
list of 100,000 cases still loads one page. The search box asks the full-text index for
hits across every case after a short pause in typing; a search there takes a few
milliseconds at 100,000 cases (bench figures), so it runs on the GUI thread and keeps
the connection single-threaded.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from storage.connection import Connection
from storage.entities import ACT_TYPES, CASE_STATUSES
from storage.queries import CaseFilter
from storage.search import SearchResults, search_results
from ui.models.case_table import CaseIdRole

SEARCH_PAUSE_MS = 250
SEARCH_LIMIT = 100

ANY = "Any"


class CaseFilterBar(QWidget):
    """Status, category and office choices; `changed(CaseFilter)` when one changes."""

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_box = self._combo("Status", list(CASE_STATUSES))
        self.category_box = self._combo("Category", list(ACT_TYPES))
        self.office_box = self._combo("Lead office", [])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for label, box in (
            ("&Status:", self.status_box),
            ("Ca&tegory:", self.category_box),
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
        box.addItem(ANY, None)
        for value in choices:
            box.addItem(value[:1].upper() + value[1:], value)
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
        self.office_box.blockSignals(False)

    def current(self) -> CaseFilter:
        """The filter the choices describe."""
        return CaseFilter(
            status=self.status_box.currentData() or None,
            category=self.category_box.currentData() or None,
            lead_office=self.office_box.currentData() or None,
        )

    @Slot()
    def _emit(self) -> None:
        self.changed.emit(self.current())


class CaseSearch(QWidget):
    """A search box and its hits across all cases; `case_chosen(case_id)` on activation."""

    case_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._conn: Connection | None = None
        self.box = QLineEdit(self)
        self.box.setPlaceholderText("Search every case… (Ctrl+F)")
        self.box.setAccessibleName("Search every case")
        self.box.setClearButtonEnabled(True)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAccessibleName("Search summary")
        self.summary.setVisible(False)
        self.hits = QListWidget(self)
        self.hits.setAccessibleName("Search hits")
        self.hits.setVisible(False)
        self.hits.setMaximumHeight(220)
        self.hits.itemActivated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box)
        layout.addWidget(self.summary)
        layout.addWidget(self.hits)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_PAUSE_MS)
        self._timer.timeout.connect(self.run)
        self.box.textChanged.connect(self._timer.start)
        self.box.returnPressed.connect(self.run)
        shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(self.box.setFocus)

    def set_connection(self, conn: Connection | None) -> None:
        """Search this workspace (None while locked: the box and hits are emptied)."""
        self._conn = conn
        self._timer.stop()
        self.box.clear()
        self._show(None)
        self.setEnabled(conn is not None)

    @Slot()
    def run(self) -> None:
        """Search for the box's text now."""
        self._timer.stop()
        text = self.box.text().strip()
        if self._conn is None or not text:
            self._show(None)
            return
        self._show(search_results(self._conn, text, SEARCH_LIMIT))

    def _show(self, results: SearchResults | None) -> None:
        self.hits.clear()
        if results is None:
            self.summary.setText("")
            self.summary.setVisible(False)
            self.hits.setVisible(False)
            return
        for hit in results.hits:
            snippet = " ".join(hit.snippet.split())
            label = f"{hit.case_reference or 'no case'} · {hit.entity} · {hit.title}"
            item = QListWidgetItem(f"{label}\n{snippet}" if snippet else label)
            item.setData(CaseIdRole, hit.case_id)
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
