"""One case: a header with its reference and title, and a tab for each aspect of it.

The tabs come from a list of (title, factory); each factory is called as
`factory(workspace, case_id, prompts=..., runner=..., parent=...)` and gives a widget with
a `refresh()` method and, when it can change the case, a `changed` signal. The overview,
persons and notes tabs are built in; evidence, the elements matrix and the incidents
timeline are passed by the caller as `extra_tabs`, so this module need not know them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Qt, Signal, SignalInstance, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from storage import queries
from storage.records import Case, CaseId
from storage.workspace import Workspace
from ui.case_tabs.notes import NotesTab
from ui.case_tabs.overview import OverviewTab
from ui.case_tabs.persons import PersonsTab
from ui.prompts import Prompts
from ui.tasks import TaskRunner


class TabFactory(Protocol):
    """What makes a case tab: a widget class such as `EvidenceTab` fits as it is."""

    def __call__(
        self,
        workspace: Workspace,
        case_id: CaseId,
        *,
        prompts: Prompts,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> QWidget: ...


DEFAULT_TABS: tuple[tuple[str, TabFactory], ...] = (
    ("Overview", OverviewTab),
    ("Persons", PersonsTab),
    ("Notes", NotesTab),
)


class CaseView(QWidget):
    """A case with its tabs. `changed(case_id)` is emitted when something in the case
    changed here (so the main window rereads its case list); `refresh()` rereads the
    header and every tab (after an import, say)."""

    changed = Signal(str)

    def __init__(
        self,
        workspace: Workspace,
        case_id: CaseId,
        *,
        prompts: Prompts,
        runner: TaskRunner,
        parent: QWidget | None = None,
        extra_tabs: Sequence[tuple[str, TabFactory]] = (),
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self.case_id = case_id
        self.case: Case = queries.get(workspace.conn, Case, case_id)

        self.reference_label = QLabel(self)
        self.reference_label.setTextFormat(Qt.TextFormat.PlainText)
        self.reference_label.setAccessibleName("Case reference")
        self.reference_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bold = self.reference_label.font()
        bold.setBold(True)
        self.reference_label.setFont(bold)
        self.title_label = QLabel(self)
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        self.title_label.setAccessibleName("Case title")
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        larger = self.title_label.font()
        size = larger.pointSizeF()
        if size > 0:
            larger.setPointSizeF(size * 1.3)
        self.title_label.setFont(larger)
        header = QHBoxLayout()
        header.addWidget(self.reference_label)
        header.addWidget(self.title_label, 1)

        self.tabs = QTabWidget(self)
        # Focus given to the view (as it opens) goes to its tabs: Ctrl+Tab then moves
        # between them and Tab reaches the fields, without a mouse.
        self.setFocusProxy(self.tabs)
        self.tabs.setAccessibleName("Aspects of the case")
        self.tabs.setDocumentMode(True)
        self._tab_widgets: list[QWidget] = []
        for title, factory in (*DEFAULT_TABS, *extra_tabs):
            tab = factory(workspace, case_id, prompts=prompts, runner=runner, parent=self.tabs)
            if not tab.accessibleName():
                tab.setAccessibleName(title)
            self.tabs.addTab(tab, title)
            self._tab_widgets.append(tab)
            signal = getattr(tab, "changed", None)
            if isinstance(signal, SignalInstance):
                signal.connect(self._on_tab_changed)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        self._show_header()

    def tab(self, title: str) -> QWidget | None:
        """The tab with this title, if there is one."""
        for index in range(self.tabs.count()):
            if self.tabs.tabText(index) == title:
                return self.tabs.widget(index)
        return None

    def _show_header(self) -> None:
        case = self.case
        self.reference_label.setText(case.reference)
        self.title_label.setText(case.title + (" (withdrawn)" if case.withdrawn else ""))
        self.setAccessibleName(f"Case {case.reference}")
        self.setWindowTitle(f"{case.reference} — {case.title}")

    def refresh(self) -> None:
        """Reread the case and every tab."""
        self.case = queries.get(self._ws.conn, Case, self.case_id)
        self._show_header()
        for tab in self._tab_widgets:
            refresh = getattr(tab, "refresh", None)
            if callable(refresh):
                refresh()

    @Slot()
    def _on_tab_changed(self) -> None:
        """A tab changed the case: the header and the other tabs (counts, say) follow."""
        self.refresh()
        self.changed.emit(self.case_id)
