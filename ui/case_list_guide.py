"""What the case list shows when it has no row to show.

A new workspace opened on an empty table tells a newcomer nothing, so in its place the
window shows the three ways to begin: a new case, the bundles on a stick, a peer. When the
workspace has cases but the filters leave none, it says so and offers to clear them, so an
empty list is never mistaken for lost cases.
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

# A guide line reads as a paragraph, never as a column of a few words nor a full-width
# line across a large screen (and fits beside a docked view on a small one).
GUIDE_WIDTH_CHARS = 56


class ListState(Enum):
    """Why the case list has no row (or that it has some)."""

    CASES = "cases"  # rows to show: the table, not the guide
    NEW_WORKSPACE = "new workspace"  # no case at all and no filter
    NO_MATCH = "no match"  # cases exist, the filters leave none


def list_state(total: int, filtered: bool) -> ListState:
    """The state of a list holding `total` rows under a filter (`filtered`) or none."""
    if total > 0:
        return ListState.CASES
    return ListState.NO_MATCH if filtered else ListState.NEW_WORKSPACE


class CaseListGuide(QWidget):
    """Shown instead of the empty case list: first steps, or why no case is listed.

    The buttons only ask (`newCaseRequested`, `importRequested`, `addPeerRequested`,
    `clearFiltersRequested`); the main window does what they ask, as its menus do.
    """

    newCaseRequested = Signal()
    importRequested = Signal()
    addPeerRequested = Signal()
    clearFiltersRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Getting started")
        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setAccessibleName("Why the list is empty")
        larger = self.heading.font()
        if larger.pointSizeF() > 0:
            larger.setPointSizeF(larger.pointSizeF() * 1.4)
        larger.setBold(True)
        self.heading.setFont(larger)
        self.text = QLabel(self)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setAccessibleName("What to do")
        # A fixed width, so the label knows its height before it is laid out (a wrapped
        # label that may take any width is given the height of one line, and is cut).
        self.text.setFixedWidth(GUIDE_WIDTH_CHARS * self.fontMetrics().averageCharWidth())

        self.new_case_button = self._button(
            "&New case… (Ctrl+N)", "Open a new case and type its title", self.newCaseRequested
        )
        self.import_button = self._button(
            "&Import from a stick…",
            "Open the sync centre to bring in the bundles on a stick",
            self.importRequested,
        )
        self.add_peer_button = self._button(
            "Add a &peer…",
            "Open the peers to add the contact card of an office or liaison",
            self.addPeerRequested,
        )
        self.clear_button = self._button(
            "&Clear the filters", "Show every case again", self.clearFiltersRequested
        )

        column = QVBoxLayout()
        column.setSpacing(10)
        column.addWidget(self.heading)
        column.addWidget(self.text)
        column.addSpacing(6)
        for button in (
            self.new_case_button,
            self.import_button,
            self.add_peer_button,
            self.clear_button,
        ):
            column.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(column)
        layout.addStretch(2)
        layout.setAlignment(column, Qt.AlignmentFlag.AlignHCenter)
        self.show_state(ListState.NEW_WORKSPACE)

    def _button(self, text: str, tip: str, signal: SignalInstance) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text.replace("&", "").split(" (")[0])
        button.setToolTip(tip)
        button.clicked.connect(signal)
        return button

    def show_state(self, state: ListState) -> None:
        """Say what fits `state` (CASES leaves the widget as it is: it is not shown)."""
        if state is ListState.NEW_WORKSPACE:
            self.heading.setText("No cases yet")
            self.text.setText(
                "Start with a new case, bring in what another office sent you on a stick,"
                " or add the offices you will exchange cases with: a peer is added from"
                " the contact card it gives you."
            )
        elif state is ListState.NO_MATCH:
            self.heading.setText("No case matches these filters")
            self.text.setText(
                "Cases are here, but none has this status, category and lead office together."
                " Clear the filters to see every case, or choose others above."
            )
        # A wrapped label laid out in a centred column is given one line unless told.
        self.text.setFixedHeight(self.text.heightForWidth(self.text.width()))
        first_steps = state is ListState.NEW_WORKSPACE
        for button in (self.new_case_button, self.import_button, self.add_peer_button):
            button.setVisible(first_steps)
        self.clear_button.setVisible(state is ListState.NO_MATCH)
        # Focus given to the guide goes to its first button, so Enter or Space acts.
        self.setFocusProxy(self.new_case_button if first_steps else self.clear_button)
