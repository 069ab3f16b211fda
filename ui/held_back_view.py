"""Held back: changes an import refused to apply, from whom, what they tried and why.

A change a peer signed that its signer had no right to make, that carried a protected value
in clear, whose clock ran far ahead, or whose key was revoked is never applied and never
passed on (sync.quarantine). This view lists them oldest first, each with the office whose
key signed it (from its contact card, never the name typed inside the change) and the
sentence that held it back; a row whose case is here opens it (Enter or a double click)
through `caseChosen`. Rows are read a page at a time as the list scrolls.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal, Slot
from PySide6.QtWidgets import QWidget

from storage.workspace import Workspace
from sync.quarantine import HeldBack
from ui.dialogs._common import message_label
from ui.models.held_back_model import HeldBackModel
from ui.models.incoming_model import received
from ui.summary_table import summary_and_table

NOTHING_HELD = "Nothing is held back: no change received was refused."
ADVICE = (
    "A held-back change is never applied and never passed on. One refused only for a"
    " missing grant, or for a clock running ahead, is tried again on every import; for the"
    " others, ask the office that signed it."
)
COLUMN_SAMPLES = {
    HeldBackModel.FROM: "Dressa field office (office, 48213 09124…)",
    HeldBackModel.WHAT: "rename case KAB-2026-0001",
    HeldBackModel.CASE: "KAB-2026-0001 Shelling of",
}


def held_back_detail(held: HeldBack) -> str:
    """One held-back change in full, for the line under the list: why (the sentence that
    says who and what), then what it tried, in which case, and when it arrived."""
    case = held.case or (f"{held.case_id} (not here)" if held.case_id else "none")
    return (
        f"{held.reason.strip()}\nIt tried to {held.what}. Case: {case}."
        f" Received {received(held.held_at)} UTC."
    )


class HeldBackView(QWidget):
    """Quarantined changes, oldest first: from whom, what they tried, why, when, case.

    `refresh()` rereads them (the window calls it after an import); `caseChosen(case_id)`
    asks for a case to be opened when a row of a case that is here is activated.
    """

    caseChosen = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = HeldBackModel(workspace, self)
        self.summary_label, self.table = summary_and_table(
            self,
            self.model,
            names=("Summary of what is held back", "Held-back changes"),
            description=(
                "Changes an import refused, oldest first: the office whose key signed it,"
                " what it tried, its case, why it was held back and when. Press Enter to"
                " open the case."
            ),
            samples=COLUMN_SAMPLES,
            stretch=HeldBackModel.WHY,
        )
        self.setFocusProxy(self.table)  # when docked, the arrows and Enter reach the list
        # Read as a sentence: who tried what, in which case, and why; the time last.
        header = self.table.horizontalHeader()
        header.moveSection(header.visualIndex(HeldBackModel.CASE), HeldBackModel.WHY)
        self.table.activated.connect(self._activated)
        # The chosen change told whole under the list: docked beside the cases, the list
        # showed who and what, and the reason (the column that matters) was off to the right.
        self.detail_label = message_label("The chosen held-back change", self)
        layout = self.layout()
        if layout is not None:
            layout.addWidget(self.detail_label)
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self._say_how_many()
        self._show_current(self.table.currentIndex())

    @Slot()
    def refresh(self) -> None:
        """Reread what is held back and say how much, keeping the chosen row (oldest
        first, so a reread only adds rows after it)."""
        row = self.table.currentIndex().row()
        self.model.refresh()
        if 0 <= row < self.model.rowCount():
            self.table.setCurrentIndex(self.model.index(row, HeldBackModel.FROM))
        self._say_how_many()
        self._show_current(self.table.currentIndex())

    def _say_how_many(self) -> None:
        total = self.model.total
        if not total:
            self.summary_label.setText(NOTHING_HELD)
            return
        counted = f"{total:,} change is" if total == 1 else f"{total:,} changes are"
        self.summary_label.setText(f"{counted} held back. {ADVICE}")

    @Slot(QModelIndex)
    def _show_current(self, index: QModelIndex) -> None:
        held = self.model.held(index.row()) if index.isValid() else None
        self.detail_label.setText(held_back_detail(held) if held is not None else "")
        self.detail_label.setVisible(held is not None)

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        held = self.model.held(index.row())
        if held is not None and held.case_id and held.case:  # the case is here
            self.caseChosen.emit(held.case_id)
