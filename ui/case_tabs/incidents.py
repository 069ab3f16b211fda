"""The Incidents tab of a case: what happened when, as a list and as a timeline strip.

Incidents are listed in chronological order of their uncertain dates (see
`ui.models.incident_model` for the order), with the dates exactly as written. Above the
list a strip draws one mark per dated incident over the span of the case; choosing a mark
selects the row and the other way round.

"Add incident…" and "Edit incident…" (or Enter or a double click on a row) open the
incident form (`ui.dialogs.incident_form`), which refuses a date Valise cannot read before
anything is recorded. The tab records on the task runner's worker through
`storage.cases.add_incident` and, for an edit, `storage.cases.update_record` with only the
changed fields (see `ui.case_tabs.worker_writes`). The form is reached through
`IncidentsTab.ask_incident`, so tests can play it without a modal loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtCore import QItemSelection, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import cases
from storage.records import CaseId, Incident
from storage.workspace import Workspace
from ui.case_tabs import row_selection
from ui.case_tabs.row_selection import RowActivation, setup_row_table
from ui.case_tabs.worker_writes import WorkerWrites
from ui.dialogs.incident_form import IncidentDraft, IncidentForm
from ui.models.incident_model import IncidentModel
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, TaskRunner

TITLE = "Incidents"
MAX_LANES = 4

IncidentAsker = Callable[[QWidget, IncidentDraft | None], dict[str, str] | None]
"""The incident form's question: None to add, an incident's values to edit; the fields to
record (the changed ones when editing), or None on cancel."""


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


class TimelineStrip(QWidget):
    """One mark per dated incident over the span of the case's dates.

    Marks are bars from the first to the last day an incident may cover, stacked in a few
    lanes so overlapping ones stay apart. A click or the arrow keys choose a mark;
    `rowChosen(row)` tells the tab, and `set_selected_row` follows the list.
    """

    rowChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spans: list[tuple[date, date] | None] = []
        self._titles: list[str] = []
        self._lanes: list[int] = []
        self._selected = -1
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Timeline")
        self.setMinimumHeight(72)
        self.setToolTip("One mark per dated incident; click one or use the arrow keys")

    def sizeHint(self) -> QSize:
        """Wide and low: a strip above the list."""
        return QSize(600, 84)

    def set_marks(self, spans: list[tuple[date, date] | None], titles: list[str]) -> None:
        """The rows' spans (None for undated rows) and titles, in the list's order."""
        self._spans, self._titles = list(spans), list(titles)
        self._lanes = self._assign_lanes()
        self._selected = -1
        self._describe()
        self.update()

    def set_selected_row(self, row: int) -> None:
        """Highlight the mark of a row (nothing for an undated row or -1)."""
        self._selected = row
        self._describe()
        self.update()

    def selected_row(self) -> int:
        """The row whose mark is highlighted, or -1."""
        return self._selected

    def dated_rows(self) -> list[int]:
        """Rows that have a mark, in order."""
        return [row for row, span in enumerate(self._spans) if span is not None]

    def _assign_lanes(self) -> list[int]:
        """Greedy lanes: a mark goes to the first lane whose last mark ended before it."""
        ends: list[date] = []
        lanes = []
        for span in self._spans:
            if span is None:
                lanes.append(-1)
                continue
            for lane, end in enumerate(ends):
                if end < span[0]:
                    ends[lane] = span[1]
                    lanes.append(lane)
                    break
            else:
                if len(ends) < MAX_LANES:
                    ends.append(span[1])
                    lanes.append(len(ends) - 1)
                else:  # crowded: overlap in the least recently used lane
                    lane = min(range(len(ends)), key=lambda n: ends[n])
                    ends[lane] = max(ends[lane], span[1])
                    lanes.append(lane)
        return lanes

    def _range(self) -> tuple[int, int] | None:
        dated = [span for span in self._spans if span is not None]
        if not dated:
            return None
        first = min(span[0] for span in dated).toordinal()
        last = max(span[1] for span in dated).toordinal()
        return first, max(last, first + 1)

    def _rect_of(self, row: int) -> QRectF | None:
        span, days = self._spans[row], self._range()
        if span is None or days is None:
            return None
        margin = 12.0
        width = max(1.0, self.width() - 2 * margin)
        first, last = days
        scale = width / (last + 1 - first)
        left = margin + (span[0].toordinal() - first) * scale
        right = margin + (span[1].toordinal() + 1 - first) * scale
        lanes = max(1, max(self._lanes, default=0) + 1)
        top_area, bottom_area = 6.0, self.height() - self.fontMetrics().height() - 8.0
        lane_height = max(4.0, (bottom_area - top_area) / lanes)
        top = top_area + self._lanes[row] * lane_height
        return QRectF(left, top + 1, max(4.0, right - left), max(3.0, lane_height - 3))

    def paintEvent(self, _event: QPaintEvent) -> None:
        """The axis with its first and last dates, and the marks."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        text_colour = palette.color(QPalette.ColorRole.Text)
        days = self._range()
        baseline = self.height() - self.fontMetrics().height() - 6
        painter.setPen(QPen(text_colour, 1))
        painter.drawLine(12, baseline, self.width() - 12, baseline)
        if days is None:
            painter.drawText(
                self.rect().adjusted(12, 0, -12, 0),
                int(Qt.AlignmentFlag.AlignCenter),
                "No dated incidents",
            )
        else:
            bottom = self.rect().adjusted(12, baseline + 2, -12, 0)
            painter.drawText(
                bottom, int(Qt.AlignmentFlag.AlignLeft), date.fromordinal(days[0]).isoformat()
            )
            painter.drawText(
                bottom, int(Qt.AlignmentFlag.AlignRight), date.fromordinal(days[1]).isoformat()
            )
        mark = palette.color(QPalette.ColorRole.Mid)
        chosen = palette.color(QPalette.ColorRole.Highlight)
        for row in self.dated_rows():
            rect = self._rect_of(row)
            if rect is None:
                continue
            selected = row == self._selected
            painter.setPen(QPen(chosen if selected else text_colour, 2 if selected else 1))
            painter.setBrush(chosen if selected else mark)
            painter.drawRoundedRect(rect, 2, 2)
        if self.hasFocus():
            painter.setPen(QPen(QColor(chosen), 1, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()

    def row_at(self, x: float, y: float) -> int:
        """The row of the mark under a point, else the nearest mark in its lane band; -1."""
        best, best_distance = -1, 8.0
        for row in self.dated_rows():
            rect = self._rect_of(row)
            if rect is None:
                continue
            if rect.contains(x, y):
                return row
            if rect.top() <= y <= rect.bottom():
                distance = min(abs(x - rect.left()), abs(x - rect.right()))
                if distance < best_distance:
                    best, best_distance = row, distance
        return best

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Choose the mark under the pointer."""
        row = self.row_at(event.position().x(), event.position().y())
        if row >= 0:
            self._choose(row)
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Left and Right move to the previous or next dated incident, Home and End to the
        first and last."""
        rows = self.dated_rows()
        if not rows:
            super().keyPressEvent(event)
            return
        key = event.key()
        position = rows.index(self._selected) if self._selected in rows else -1
        if key == Qt.Key.Key_Right:
            target = rows[min(position + 1, len(rows) - 1)]
        elif key == Qt.Key.Key_Left:
            target = rows[max(position - 1, 0)] if position >= 0 else rows[0]
        elif key == Qt.Key.Key_Home:
            target = rows[0]
        elif key == Qt.Key.Key_End:
            target = rows[-1]
        else:
            super().keyPressEvent(event)
            return
        self._choose(target)

    def _choose(self, row: int) -> None:
        self.set_selected_row(row)
        self.rowChosen.emit(row)

    def _describe(self) -> None:
        if 0 <= self._selected < len(self._titles) and self._spans[self._selected] is not None:
            span = self._spans[self._selected]
            assert span is not None
            self.setAccessibleDescription(
                f"{self._titles[self._selected]}: {span[0].isoformat()} to {span[1].isoformat()}"
            )
        else:
            self.setAccessibleDescription(f"{_count(len(self.dated_rows()), 'dated incident')}")


class IncidentsTab(QWidget):
    """The incidents of one case, in chronological order, with a timeline, Add and Edit.

    `changed` is emitted after this tab recorded an incident, so the case view can refresh
    other tabs; call `refresh()` when incidents changed elsewhere (an import). `busy(True)`
    and `busy(False)` bracket a write on the worker. `ask_incident` is the incident form
    (the real dialog by default; tests put their own player here).
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
        self.ask_incident: IncidentAsker = IncidentForm.ask
        self.setAccessibleName(TITLE)

        self.model = IncidentModel(workspace, case_id, self)
        self._writes = WorkerWrites.for_tab(
            self, runner=runner, prompts=prompts, show=self._update_buttons
        )
        self.summary_label = QLabel(self)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setAccessibleName("Incident summary")
        self.timeline = TimelineStrip(self)

        self.table = QTableView(self)
        self.table.setAccessibleName("Incidents in chronological order")
        self.table.setModel(self.model)
        setup_row_table(self.table)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in {
            IncidentModel.WHEN: 190,
            IncidentModel.TITLE: 260,
            IncidentModel.PLACE: 160,
            IncidentModel.ACTS: 220,
        }.items():
            header.resizeSection(column, width)

        self.add_button = QPushButton("Add &incident…", self)
        self.add_button.setAccessibleName("Add incident")
        self.add_button.setToolTip("Record an incident: title, dates, place and acts")
        self.add_button.clicked.connect(self.add_incident)
        self.edit_button = QPushButton("&Edit incident…", self)
        self.edit_button.setAccessibleName("Edit incident")
        self.edit_button.setToolTip(
            "Change the selected incident (or press Enter or double-click its row)"
        )
        self.edit_button.clicked.connect(self.edit_selected)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.add_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.timeline)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.timeline.rowChosen.connect(self._on_row_chosen)
        self._activation = RowActivation(self.table, self.edit_selected)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.model.modelReset.connect(self._on_reset)
        self._on_reset()

    # -- state -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reread the incidents, keeping the same one selected when it is still there."""
        row = self.selected_row()
        current = self.model.incident(row)
        self.model.refresh()
        if current is not None:
            self.select_row(self.model.row_of(current.id))

    def summary(self) -> str:
        """The summary line as shown ("3 incidents, 1 undated.")."""
        return self.summary_label.text()

    def selected_row(self) -> int:
        """The selected row of the list, or -1."""
        return row_selection.selected_row(self.table)

    def select_row(self, row: int) -> None:
        """Select an incident by row in the list (and its mark in the timeline); a row
        that is not there (-1 for an incident gone meanwhile) changes nothing."""
        row_selection.select_row_if_present(self.table, row, IncidentModel.WHEN)

    @Slot()
    def _on_reset(self) -> None:
        count = self.model.rowCount()
        spans = self.model.spans()
        undated = sum(1 for span in spans if span is None)
        if count == 0:
            self.summary_label.setText("No incidents yet. Record one with Add incident…")
        else:
            self.summary_label.setText(f"{_count(count, 'incident')}, {undated} undated.")
        titles = [incident.title for incident in map(self.model.incident, range(count)) if incident]
        self.timeline.set_marks(spans, titles)
        self._update_buttons()

    @Slot(int)
    def _on_row_chosen(self, row: int) -> None:
        self.select_row(row)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.timeline.set_selected_row(self.selected_row())
        self._update_buttons()

    # -- adding and editing ----------------------------------------------------------------

    def selected_incident(self) -> Incident | None:
        """The selected incident (as read at the last refresh), if any."""
        return self.model.incident(self.selected_row())

    @Slot()
    def add_incident(self) -> None:
        """Ask for an incident with the form, then record it on the worker."""
        if self._writes.busy:
            return
        values = self.ask_incident(self, None)
        if values is None:
            return  # a cancel is silent
        ws, case_id = self._ws, self._case_id
        fields = dict(values)
        title = fields.pop("title", "")

        def work(_token: CancelToken, _sink: ProgressSink) -> str:
            return cases.add_incident(ws, case_id, title, **fields)

        self._writes.run(
            "Add incident", work, lambda new_id: self.select_row(self.model.row_of(new_id))
        )

    @Slot()
    def edit_selected(self) -> None:
        """Edit the selected incident with the form; only the changed fields are recorded,
        so the change syncs as an edit of those fields."""
        incident = self.selected_incident()
        if self._writes.busy or incident is None:
            return
        changed = self.ask_incident(self, IncidentDraft.of(incident))
        if not changed:
            return  # cancelled, or nothing changed: nothing to record
        incident_id = incident.id
        self._writes.update(
            "Edit incident",
            self._ws,
            Incident,
            incident_id,
            changed,
            lambda _id: self.select_row(self.model.row_of(incident_id)),
        )

    def _update_buttons(self) -> None:
        busy = self._writes.busy
        self.add_button.setEnabled(not busy)
        self.edit_button.setEnabled(not busy and self.selected_row() >= 0)
