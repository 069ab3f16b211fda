"""Incoming changes: what other offices changed, in which case, newest received first.

A tribunal liaison imports bundles from many offices and then reviews what came in. The
view lists every changeset another office made, with the office, the case, what it did in
words and whether its signature verifies; it filters by office and by when it was received
(the last import, the last seven days, or ever). Choosing a row (Enter or a double click)
asks for its case to be opened through `caseChosen`.

Like the case history it reads on the GUI thread, a page of 100 at a time as the table
scrolls: one page costs about 10 ms at 100,000 received changesets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import history
from storage.workspace import Workspace
from ui.models.case_table import CaseIdRole
from ui.models.incoming_model import IncomingModel

ALL_OFFICES = "All offices"
LAST_IMPORT, LAST_WEEK, EVER = "last import", "last 7 days", "all"
SINCE_CHOICES = ((LAST_IMPORT, "Last import"), (LAST_WEEK, "Last 7 days"), (EVER, "All"))
NOTHING_YET = "No changes have come in from other offices yet."
# How wide each column opens: as wide as this text. The time and the verdict fit whole; an
# office, a case and a change may be longer and are then cut short (the tooltip and a drag
# of the column show the rest).
COLUMN_SAMPLES = {
    IncomingModel.RECEIVED: "2027-04-09 12:00:00",
    IncomingModel.OFFICE: "Mirani field office",
    IncomingModel.CASE: "VAR-MIR-2027-0001 Attack on the",
    IncomingModel.WHAT: "updated incident “Convoy fired on from the ridge”",
    IncomingModel.SIGNATURE: "DOES NOT VERIFY",
}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


class IncomingView(QWidget):
    """Changesets from other offices, filtered by office and by when they were received.

    `caseChosen(case_id)` is emitted when a row is activated. `refresh()` rereads
    everything (call it after an import); the filters chosen stay chosen.
    """

    caseChosen = Signal(str)

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        *,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._now = now
        self._last_import: history.LastImport | None = None
        self._offices: list[history.IncomingOffice] = []
        self.model = IncomingModel(workspace.conn, workspace.origin, self)

        self.office_box = QComboBox(self)
        self.office_box.setAccessibleName("Show changes from office")
        self.office_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.since_box = QComboBox(self)
        self.since_box.setAccessibleName("Show changes received")
        for key, text in SINCE_CHOICES:
            self.since_box.addItem(text, key)
        self.summary_label = QLabel(self)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setAccessibleName("Summary of incoming changes")
        self.summary_label.setWordWrap(True)
        self.table = QTableView(self)
        self.setFocusProxy(self.table)  # when docked, the arrows and Enter reach the list
        self.table.setAccessibleName("Incoming changes")
        self.table.setAccessibleDescription(
            "Changes made by other offices, newest received first. Press Enter to open"
            " the case of the selected change."
        )
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setDefaultSectionSize(self.fontMetrics().height() + 10)  # as in the case list
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, sample in COLUMN_SAMPLES.items():
            header.resizeSection(column, self.fontMetrics().horizontalAdvance(sample) + 16)
        # Read as a sentence: which office changed what in which case, whether its
        # signature holds, and when it came. The time goes last: after one import every
        # row has nearly the same, and beside the case list the dock is narrow.
        header.moveSection(header.visualIndex(IncomingModel.RECEIVED), header.count() - 1)
        self.table.activated.connect(self._activated)  # Enter or a double click

        top = QHBoxLayout()
        office_caption = QLabel("&From:", self)
        office_caption.setBuddy(self.office_box)
        since_caption = QLabel("&Received:", self)
        since_caption.setBuddy(self.since_box)
        top.addWidget(office_caption)
        top.addWidget(self.office_box)
        top.addSpacing(12)
        top.addWidget(since_caption)
        top.addWidget(self.since_box)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.table, 1)

        self.refresh()
        self.office_box.currentIndexChanged.connect(self._filter)
        self.since_box.currentIndexChanged.connect(self._since_changed)

    # -- reading ------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Reread the last import, the offices, the changes and the summary."""
        self._last_import = history.last_import(self._ws.conn, self._ws.origin)
        self._describe_last_import()
        self._since_changed()

    def since(self) -> dt.datetime | None:
        """The start of the chosen window (None: whenever)."""
        key = self.since_box.currentData()
        if key == LAST_IMPORT:
            return self._last_import.since if self._last_import else None
        if key == LAST_WEEK:
            return self._now() - dt.timedelta(days=7)
        return None

    def office(self) -> str | None:
        """The origin of the office chosen (None: every other office)."""
        origin = self.office_box.currentData()
        return str(origin) if origin else None

    def _describe_last_import(self) -> None:
        index = self.since_box.findData(LAST_IMPORT)
        last = self._last_import
        if last is None:
            tip = "No bundle has been imported here yet."
        else:
            finished = last.finished_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
            if last.bundles == 1:
                tip = f"Changes received in the last import: one bundle, finished {finished} UTC."
            else:
                tip = (
                    f"Changes received in the last import: {last.bundles:,} bundles imported"
                    f" one after another, the last finished {finished} UTC."
                )
        self.since_box.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)

    @Slot()
    def _since_changed(self) -> None:
        """The window changed (or everything is reread): office counts follow it."""
        chosen = self.office()
        self._offices = history.incoming_offices(self._ws.conn, self._ws.origin, since=self.since())
        names = [office.office for office in self._offices]
        self.office_box.blockSignals(True)
        try:
            self.office_box.clear()
            self.office_box.addItem(ALL_OFFICES, None)
            for office in self._offices:
                name = office.office
                if names.count(name) > 1:  # one office under two keys (after a rotation)
                    name = f"{name} [{office.origin[:8]}]"
                self.office_box.addItem(f"{name} ({office.changesets:,})", office.origin)
            self.office_box.setCurrentIndex(max(0, self.office_box.findData(chosen)))
        finally:
            self.office_box.blockSignals(False)
        self._filter()

    @Slot()
    def _filter(self) -> None:
        origin, since = self.office(), self.since()
        self.model.set_filter(origin, since)
        self.summary_label.setText(self._summary(origin, since))

    def _summary(self, origin: str | None, since: dt.datetime | None) -> str:
        if not self._offices:
            return NOTHING_YET
        totals = history.incoming_totals(self._ws.conn, self._ws.origin, origin=origin, since=since)
        office_name = next((o.office for o in self._offices if o.origin == origin), None)
        if totals.changesets == 0:
            source = office_name or "other offices"
            window = {
                LAST_IMPORT: " in the last import",
                LAST_WEEK: " in the last 7 days",
            }.get(self.since_box.currentData(), "")
            return f"No changes from {source}{window}."
        offices = office_name or _plural(totals.offices, "office", "offices")
        return (
            f"{_plural(totals.changesets, 'change', 'changes')} from {offices}"
            f" in {_plural(totals.cases, 'case', 'cases')}"
        )

    # -- choosing -----------------------------------------------------------------------

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        case_id = index.data(CaseIdRole)
        if case_id:  # a statement about keys belongs to no case
            self.caseChosen.emit(str(case_id))
