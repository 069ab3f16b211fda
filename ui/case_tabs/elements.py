"""The Elements tab of a case: the legal elements matrix, its gaps, and linking evidence.

Prosecutors prove a charge element by element; this tab shows every element of the case
against every evidence item, the strength and status of each link in the cells, and which
elements still lack evidence (tinted and marked "No evidence"). Elements and links are
recorded through `storage.cases` on the task runner (see `ui.case_tabs.worker_writes`), so
the window never waits on a write.

"Add element…" and "Edit element…" open the element form (`ui.dialogs.element_form`),
reached through `ElementsTab.ask_element` so tests can play it without a modal loop; an
edit records only the changed fields with `update_record`. Activating a link cell links or
edits the link; activating an element's Support cell or its row header edits the element.
"Edit link…" changes a link's strength and status in place (`update_record`), so the change
syncs as an edit of that link and two offices rating it differently meet as a conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import cases
from storage.entities import LINK_STATUSES, STRENGTHS
from storage.records import CaseId, Element, Link
from storage.workspace import Workspace
from ui.case_tabs.worker_writes import WorkerWrites
from ui.dialogs.element_form import ElementDraft, ElementForm
from ui.models.elements_matrix_model import (
    MODERATE,
    NONE,
    STRONG,
    SUPPORT_COLOURS,
    UNRATED,
    WEAK,
    ElementsMatrixModel,
    element_label,
)
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, TaskRunner

TITLE = "Legal elements"
# The elements' names beside the matrix: at most this wide, and no wider than two fifths of
# the tab, so a narrow dock still shows the evidence columns.
HEADER_NARROWEST, HEADER_WIDEST = 200, 420

ElementAsker = Callable[[QWidget, ElementDraft | None, Mapping[str, str]], dict[str, str] | None]
"""The element form's question: None to add or an element's values to edit, and the case's
charges with their articles; the fields to record (the changed ones when editing), or None
on cancel."""

LEGEND = (
    (NONE, "No evidence (gap)"),
    (WEAK, "Weak only (gap)"),
    (UNRATED, "Linked, not rated"),
    (MODERATE, "Moderate"),
    (STRONG, "Strong"),
)
LEGEND_PER_ROW = 3


def _spoken(options: tuple[str, ...]) -> str:
    """('', 'a', 'b', 'c') -> 'a, b or c', for prompts that list the allowed values."""
    named = [option for option in options if option]
    return ", ".join(named[:-1]) + f" or {named[-1]}" if len(named) > 1 else "".join(named)


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def summary_text(elements: int, without: int, weak: int) -> str:
    """The line above the matrix: how many elements, how many still without evidence."""
    if elements == 0:
        return "No legal elements yet. Add the elements of each charge with Add element…"
    text = f"{_count(elements, 'element')}, {without} without evidence"
    if weak:
        text += f", {weak} with only weak evidence"
    return text + "."


class _Swatch(QLabel):
    """A small square in a support colour, for the legend."""

    def __init__(self, level: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        side = max(12, self.fontMetrics().height() - 2)
        self.setFixedSize(side, side)
        self.setStyleSheet(
            f"background-color: {SUPPORT_COLOURS[level].name()}; border: 1px solid #808080;"
        )


class ElementsTab(QWidget):
    """The legal elements matrix of one case, with the means to add and edit elements and
    links.

    `changed` is emitted after this tab recorded something (an element, a link), so the
    case view can refresh other tabs; call `refresh()` when records changed elsewhere (an
    import, another tab). `busy(True)` and `busy(False)` bracket a write on the worker.
    `ask_element` is the element form (the real dialog by default; tests put their own
    player here).
    """

    changed = Signal()
    busy = Signal(bool)

    def __init__(
        self,
        workspace: Workspace,
        case_id: CaseId,
        *,
        prompts: Prompts,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._case_id = case_id
        self._prompts = prompts
        self.ask_element: ElementAsker = ElementForm.ask
        self.setAccessibleName(TITLE)

        self.model = ElementsMatrixModel(workspace, case_id, self)
        self._writes = WorkerWrites.for_tab(
            self, runner=runner, prompts=prompts, show=self._update_buttons
        )
        self.summary_label = QLabel(self)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setAccessibleName("Evidence summary")

        self.table = QTableView(self)
        self.table.setAccessibleName("Legal elements matrix")
        self.table.setAccessibleDescription(
            "One row per legal element, one column per evidence item; a cell gives the"
            " strength and status of the link. The last column sums up each element."
        )
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the matrix for the buttons
        self.table.setWordWrap(False)
        self.table.setCornerButtonEnabled(False)
        across = self.table.horizontalHeader()
        across.setHighlightSections(True)
        across.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        across.setDefaultSectionSize(150)
        down = self.table.verticalHeader()
        down.setHighlightSections(True)
        down.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        down.setMaximumWidth(HEADER_WIDEST)  # long elements are elided; the tooltip has all
        down.setTextElideMode(Qt.TextElideMode.ElideRight)

        # The legend in rows of LEGEND_PER_ROW: on one line it held the window wider than
        # a small screen when the case was docked beside the list.
        legend = QWidget(self)
        legend.setAccessibleName("Legend")
        legend_layout = QGridLayout(legend)
        legend_layout.setContentsMargins(0, 0, 0, 0)
        legend_layout.setHorizontalSpacing(6)
        title = QLabel("Colours:", legend)
        title.setTextFormat(Qt.TextFormat.PlainText)
        legend_layout.addWidget(title, 0, 0)
        for number, (level, text) in enumerate(LEGEND):
            row, column = divmod(number, LEGEND_PER_ROW)
            legend_layout.addWidget(_Swatch(level, legend), row, 1 + 2 * column)
            label = QLabel(text, legend)
            label.setTextFormat(Qt.TextFormat.PlainText)
            legend_layout.addWidget(label, row, 2 + 2 * column)
        legend_layout.setColumnStretch(1 + 2 * LEGEND_PER_ROW, 1)
        self.legend = legend
        self.legend_note = QLabel(
            "A gap is an element with no evidence or only weak evidence; its row is tinted"
            " and marked \u201cNo evidence\u201d or \u201cWeak evidence only\u201d.",
            self,
        )
        self.legend_note.setTextFormat(Qt.TextFormat.PlainText)
        self.legend_note.setWordWrap(True)

        self.add_element_button = QPushButton("Add &element…", self)
        self.add_element_button.setAccessibleName("Add element")
        self.add_element_button.setToolTip(
            "Add a legal element of a charge (charge, element, article)"
        )
        self.add_element_button.clicked.connect(self.add_element)
        self.edit_element_button = QPushButton("E&dit element…", self)
        self.edit_element_button.setAccessibleName("Edit element")
        self.edit_element_button.setToolTip(
            "Change the charge, article, text or mode of liability of the selected element"
            " (or double-click its row header or Support cell)"
        )
        self.edit_element_button.clicked.connect(self.edit_selected_element)
        self.link_button = QPushButton("&Link…", self)
        self.link_button.clicked.connect(self.link_selected)
        self.remove_link_button = QPushButton("&Remove link…", self)
        self.remove_link_button.setAccessibleName("Remove link")
        self.remove_link_button.setToolTip(
            "Withdraw the selected link; it stays in the case history"
        )
        self.remove_link_button.clicked.connect(self.remove_selected_link)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_element_button)
        buttons.addWidget(self.edit_element_button)
        buttons.addStretch(1)
        buttons.addWidget(self.link_button)
        buttons.addWidget(self.remove_link_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(legend)
        layout.addWidget(self.legend_note)
        layout.addLayout(buttons)

        self.table.activated.connect(self._on_activated)
        down.sectionDoubleClicked.connect(self._on_header_double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.selectionModel().currentChanged.connect(self._update_buttons)
        self.model.modelReset.connect(self._update_summary)
        self.model.modelReset.connect(self._update_buttons)
        self._update_summary()
        self._update_buttons()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the evidence in sight: the elements' names take at most two fifths of the
        width (between `HEADER_NARROWEST` and `HEADER_WIDEST`), the cells the rest."""
        super().resizeEvent(event)
        widest = max(HEADER_NARROWEST, min(HEADER_WIDEST, self.width() * 2 // 5))
        self.table.verticalHeader().setMaximumWidth(widest)

    # -- state -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reread the matrix (records may have changed elsewhere), keeping the current cell."""
        element, item = self._current_ids()
        self.model.refresh()
        self._select(element, item)
        self._update_buttons()

    def summary(self) -> str:
        """The summary line as shown ("3 elements, 1 without evidence.")."""
        return self.summary_label.text()

    def select_cell(self, row: int, column: int) -> None:
        """Make a cell current and selected (for the keyboard, the case view and tests)."""
        index = self.model.index(row, column)
        if not index.isValid():
            return
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)

    def _current_ids(self) -> tuple[str | None, str | None]:
        index = self.table.currentIndex()
        if not index.isValid():
            return None, None
        element = self.model.element(index.row())
        item = self.model.evidence(index.column())
        return (element.id if element else None), (item.id if item else None)

    def _select(self, element_id: str | None, evidence_id: str | None) -> None:
        if element_id is None:
            return
        row = self.model.row_of(element_id)
        column = self.model.column_of(evidence_id) if evidence_id else self.model.support_column
        if row >= 0:
            self.select_cell(row, column if column >= 0 else 0)

    @Slot()
    def _update_summary(self) -> None:
        self.summary_label.setText(summary_text(*self.model.counts()))

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_buttons()

    @Slot()
    def _update_buttons(self) -> None:
        index = self.table.currentIndex()
        busy = self._writes.busy
        on_item = index.isValid() and self.model.evidence(index.column()) is not None
        existing = self.model.link(index.row(), index.column()) if on_item else None
        self.add_element_button.setEnabled(not busy)
        self.edit_element_button.setEnabled(self.selected_element() is not None and not busy)
        self.link_button.setEnabled(on_item and not busy)
        self.remove_link_button.setEnabled(existing is not None and not busy)
        if existing is None:
            self.link_button.setText("&Link…")
            self.link_button.setAccessibleName("Link evidence to element")
            self.link_button.setToolTip(
                "Link the selected evidence item to the selected element"
                if on_item
                else "Select a cell: an element's row and an evidence item's column"
            )
        else:
            self.link_button.setText("Edit &link…")
            self.link_button.setAccessibleName("Edit link")
            self.link_button.setToolTip("Set another strength or status for this link")

    # -- actions ---------------------------------------------------------------------------

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        """Enter or a double click: on a link cell link or edit the link; on the Support
        cell edit the element."""
        if not index.isValid():
            return
        self.select_cell(index.row(), index.column())  # act on the cell activated
        if self.model.evidence(index.column()) is not None:
            self.link_selected()
        elif index.column() == self.model.support_column:
            self.edit_selected_element()

    @Slot(int)
    def _on_header_double_clicked(self, row: int) -> None:
        """A double click on an element's row header edits that element."""
        if self.model.element(row) is None:
            return
        self.select_cell(row, self.model.support_column)
        self.edit_selected_element()

    def selected_element(self) -> Element | None:
        """The element of the current cell's row (as read at the last refresh), if any."""
        index = self.table.currentIndex()
        return self.model.element(index.row()) if index.isValid() else None

    def charges(self) -> dict[str, str]:
        """The case's charges in the matrix's order, each with the article its elements use
        (the first one given), for the element form's charge field."""
        found: dict[str, str] = {}
        for row in range(self.model.rowCount()):
            element = self.model.element(row)
            if element is not None and not found.get(element.charge):
                found[element.charge] = element.article
        return found

    @Slot()
    def add_element(self) -> None:
        """Ask for a charge, its article, the element and the mode of liability with the
        element form, then record the element."""
        if self._writes.busy:
            return
        values = self.ask_element(self, None, self.charges())
        if values is None:
            return  # a cancel is silent
        ws, case_id = self._ws, self._case_id
        fields = dict(values)
        charge, element = fields.pop("charge", ""), fields.pop("element", "")

        def work(_token: CancelToken, _sink: ProgressSink) -> str:
            return cases.add_element(ws, case_id, charge, element, **fields)

        self._writes.run("Add element", work, lambda new_id: self._select(str(new_id), None))

    @Slot()
    def edit_selected_element(self) -> None:
        """Edit the selected element with the form; only the changed fields are recorded,
        so the change syncs as an edit of those fields."""
        current = self.selected_element()
        if self._writes.busy or current is None:
            return
        _, evidence_id = self._current_ids()
        changed = self.ask_element(self, ElementDraft.of(current), self.charges())
        if not changed:
            return  # cancelled, or nothing changed: nothing to record
        element_id = current.id
        self._writes.update(
            "Edit element",
            self._ws,
            Element,
            element_id,
            changed,
            lambda _id: self._select(element_id, evidence_id),
        )

    @Slot()
    def link_selected(self) -> None:
        """Link the selected evidence item to the selected element, or give an existing link
        another strength and status."""
        if self._writes.busy:
            return
        index = self.table.currentIndex()
        if not index.isValid():
            return
        element = self.model.element(index.row())
        item = self.model.evidence(index.column())
        if element is None or item is None:
            return
        existing = self.model.link(index.row(), index.column())
        title = "Edit link" if existing else "Link evidence"
        what = f"{item.ern} for \u201c{element_label(element)}\u201d"
        lead = ""
        strength = self._prompts.ask_text(
            self,
            title,
            f"{lead}Strength of {what}: {_spoken(STRENGTHS)} (leave empty if not assessed):",
            existing.strength if existing else "",
        )
        if strength is None:
            return
        strength = strength.strip().lower()
        if strength not in STRENGTHS:
            self._prompts.warn(
                self,
                title,
                f"\u201c{strength}\u201d is not a strength Valise knows. Type"
                f" {_spoken(STRENGTHS)}, or leave it empty. Nothing was changed.",
            )
            return
        status = self._prompts.ask_text(
            self,
            title,
            f"Status of {what}: {_spoken(LINK_STATUSES)} (may be left empty):",
            existing.status if existing else "",
        )
        if status is None:
            return
        status = status.strip().lower()
        if status not in LINK_STATUSES:
            self._prompts.warn(
                self,
                title,
                f"\u201c{status}\u201d is not a link status Valise knows. Type"
                f" {_spoken(LINK_STATUSES)}, or leave it empty. Nothing was changed.",
            )
            return
        if existing and (existing.strength, existing.status) == (strength, status):
            return  # nothing to change
        ws, evidence_id, element_id = self._ws, item.id, element.id
        old = existing.id if existing else None

        def work(_token: CancelToken, _sink: ProgressSink) -> str:
            if old is not None:  # a change of the link: it syncs (and conflicts) as one
                return cases.update_record(ws, Link, old, strength=strength, status=status)
            return cases.add_link(ws, evidence_id, element_id, strength=strength, status=status)

        self._writes.run(title, work, lambda _link: self._select(element_id, evidence_id))

    @Slot()
    def remove_selected_link(self) -> None:
        """Withdraw the selected link after a confirmation; it stays in the case history."""
        if self._writes.busy:
            return
        index = self.table.currentIndex()
        existing = self.model.link(index.row(), index.column()) if index.isValid() else None
        element = self.model.element(index.row())
        item = self.model.evidence(index.column())
        if existing is None or element is None or item is None:
            return
        if not self._prompts.confirm(
            self,
            "Remove link",
            f"Remove the link between {item.ern} and \u201c{element_label(element)}\u201d?"
            " It leaves the matrix but stays in the case history.",
        ):
            return
        ws, link_id = self._ws, existing.id
        element_id, evidence_id = element.id, item.id

        def work(_token: CancelToken, _sink: ProgressSink) -> str:
            return cases.withdraw(ws, Link, link_id)

        self._writes.run("Remove link", work, lambda _id: self._select(element_id, evidence_id))
