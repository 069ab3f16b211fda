"""Parked: what imports kept aside, for what it waits, and since when (sync.parked).

A change from a peer that does not show is usually waiting: for an earlier change it builds
on, for the contact card of the office that sent its bundle, or in quarantine. This view
lists them oldest first with a sentence saying why; a row whose case is here opens it
(Enter or a double click) through `caseChosen`. It reads on the GUI thread: what waits is
a handful of rows, not a history.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal, Slot
from PySide6.QtWidgets import QWidget

from storage.workspace import Workspace
from sync.parked import BUNDLE, QUARANTINED, list_waiting
from ui.models.parked_model import ParkedModel
from ui.summary_table import summary_and_table

NOTHING_WAITS = "Nothing waits: every change received has been applied."
ADVICE = (
    "Each is applied by itself when what it waits for arrives: sync with the office it came"
    " from, or add the missing contact card (Sync › Peers…)."
)
COLUMN_SAMPLES = {
    ParkedModel.WHAT: "change, epoch 0, change 12",
    ParkedModel.FROM: "Mirani field office",
    ParkedModel.CASE: "VAR-MIR-2027-0001 Attack on",
}


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


class ParkedView(QWidget):
    """Parked changes, parked bundles and quarantined changes, oldest first.

    `refresh()` rereads them (the window calls it after an import); `caseChosen(case_id)`
    asks for a case to be opened when a row of a case that is here is activated.
    """

    caseChosen = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ws = workspace
        self.model = ParkedModel(self)
        self.summary_label, self.table = summary_and_table(
            self,
            self.model,
            names=("Summary of what waits", "Parked changes and bundles"),
            description=(
                "What imports kept aside, oldest first: what it is, who it comes from, its"
                " case, what it waits for and since when. Press Enter to open the case of a"
                " row."
            ),
            samples=COLUMN_SAMPLES,
            stretch=ParkedModel.WAITS_FOR,
        )
        self.setFocusProxy(self.table)  # when docked, the arrows and Enter reach the list
        # Read as a sentence: what, from whom, in which case, waits for what; the time last.
        header = self.table.horizontalHeader()
        header.moveSection(header.visualIndex(ParkedModel.SINCE), header.count() - 1)
        self.table.activated.connect(self._activated)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Reread what waits and say how much."""
        items = list_waiting(self._ws)
        self.model.set_items(items)
        if not items:
            self.summary_label.setText(NOTHING_WAITS)
            return
        bundles = sum(1 for item in items if item.kind == BUNDLE)
        held = sum(1 for item in items if item.kind == QUARANTINED)
        parts = []
        if len(items) - bundles - held:
            parts.append(_plural(len(items) - bundles - held, "change waits", "changes wait"))
        if bundles:
            parts.append(_plural(bundles, "bundle waits", "bundles wait"))
        if held:
            parts.append(_plural(held, "change is quarantined", "changes are quarantined"))
        self.summary_label.setText("; ".join(parts) + ". " + ADVICE)

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        item = self.model.item(index.row())
        if item is not None and item.case_id and item.case:  # the case is here
            self.caseChosen.emit(item.case_id)
