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
from ui.models.held_back_model import HeldBackModel
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
        self._say_how_many()

    @Slot()
    def refresh(self) -> None:
        """Reread what is held back and say how much."""
        self.model.refresh()
        self._say_how_many()

    def _say_how_many(self) -> None:
        total = self.model.total
        if not total:
            self.summary_label.setText(NOTHING_HELD)
            return
        counted = f"{total:,} change is" if total == 1 else f"{total:,} changes are"
        self.summary_label.setText(f"{counted} held back. {ADVICE}")

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        held = self.model.held(index.row())
        if held is not None and held.case_id and held.case:  # the case is here
            self.caseChosen.emit(held.case_id)
