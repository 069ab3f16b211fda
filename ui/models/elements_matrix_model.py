"""The legal elements matrix as a table model: elements down, evidence across, links inside.

Modelled on the ICC Case Matrix (see DOMAIN.md): each legal element of a charge is a row,
each evidence item of the case a column headed by its ERN, and a cell shows the link between
the two with its strength and status ("strong · undisputed"), empty when there is none. A
last column, Support, sums a row up by its best rated link, so the gaps a prosecutor must
close before a hearing (elements with no evidence, or only weak evidence) stand out.

The model reads whole lists through `storage.queries.in_case` (elements, evidence and links
of one case are hundreds, not millions) and never runs SQL. `refresh()` rereads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from storage.queries import in_case
from storage.records import CaseId, Element, ElementId, Evidence, EvidenceId, Link
from storage.workspace import Workspace

LinkIdRole = Qt.ItemDataRole.UserRole + 1
ElementIdRole = Qt.ItemDataRole.UserRole + 2
EvidenceIdRole = Qt.ItemDataRole.UserRole + 3
SupportRole = Qt.ItemDataRole.UserRole + 4
GapRole = Qt.ItemDataRole.UserRole + 5

Index = QModelIndex | QPersistentModelIndex

# Support levels of a row, weakest first. "unrated": linked, but no strength was given yet.
NONE, WEAK, UNRATED, MODERATE, STRONG = "none", "weak", "unrated", "moderate", "strong"
GAP_LEVELS = (NONE, WEAK)
_RANK = {"": 0, "weak": 1, "moderate": 2, "strong": 3}

SUPPORT_TEXT = {
    NONE: "none (no evidence)",
    WEAK: "weak only (gap)",
    UNRATED: "linked, not rated",
    MODERATE: "moderate",
    STRONG: "strong",
}
SUPPORT_EXPLAINED = {
    NONE: "No evidence is linked to this element: a gap.",
    WEAK: "Only weak evidence is linked to this element: a gap.",
    UNRATED: "Evidence is linked but its strength has not been assessed yet.",
    MODERATE: "The best evidence linked to this element is of moderate strength.",
    STRONG: "Strong evidence is linked to this element.",
}

# Light tints, readable with the dark text the model asks for (ForegroundRole), whatever
# the palette. The legend in the Elements tab shows the same colours.
SUPPORT_COLOURS = {
    NONE: QColor("#f4c7c3"),
    WEAK: QColor("#fbe0b4"),
    UNRATED: QColor("#e3e3e3"),
    MODERATE: QColor("#fff2a8"),
    STRONG: QColor("#c5e8c1"),
}
# The empty cells of a gap row, a lighter tint of the row's own kind of gap, so the row
# reads as one (a weak-only row's cells tinted as "no evidence" said the wrong thing).
GAP_CELL_COLOURS = {NONE: QColor("#fcebea"), WEAK: QColor("#fdf1dc")}
INK = QColor("#1a1a1a")


def link_text(link: Link) -> str:
    """A link as a cell shows it: "strong · undisputed", or "linked" when nothing is rated."""
    parts = [part for part in (link.strength, link.status) if part]
    return " · ".join(parts) if parts else "linked"


def link_strength(link: Link) -> str:
    """The link's strength as a support level ("unrated" when none was given)."""
    return link.strength if link.strength in _RANK and link.strength else UNRATED


def support_of(links: list[Link]) -> str:
    """What the links of one element add up to: the best rated strength among them;
    "unrated" when all are unrated; "none" without links."""
    if not links:
        return NONE
    best = max(_RANK.get(link.strength, 0) for link in links)
    return {0: UNRATED, 1: WEAK, 2: MODERATE, 3: STRONG}[best]


def element_label(element: Element) -> str:
    """The charge, its article and the element, on one line, for headers and prompts."""
    article = f" (art. {element.article})" if element.article else ""
    return f"{element.charge}{article}: {element.element}"


def _best(links: list[Link]) -> Link:
    """The link a cell shows when one item is linked to one element more than once."""
    return max(links, key=lambda link: (_RANK.get(link.strength, 0), link.created_hlc))


@dataclass(frozen=True)
class _Row:
    element: Element
    cells: dict[EvidenceId, list[Link]]
    support: str

    @property
    def gap(self) -> bool:
        return self.support in GAP_LEVELS


class ElementsMatrixModel(QAbstractTableModel):
    """Legal elements (rows) against evidence items (columns), plus a Support column.

    Rows are grouped by charge, charges in the order their first element was recorded and
    elements in the order they were added (the order in which a matrix is usually drafted).
    Columns are the evidence items in ERN order; the last column is Support.

    Roles: DisplayRole the text, ToolTipRole and AccessibleTextRole a sentence, LinkIdRole
    the id of the link a cell shows (None for an empty cell), ElementIdRole the row's
    element, EvidenceIdRole the column's item (None in Support), SupportRole the row's level
    (none, weak, unrated, moderate, strong), GapRole whether the row is a gap; and
    BackgroundRole/ForegroundRole colours, which the row headers carry too.
    """

    def __init__(
        self, workspace: Workspace, case_id: CaseId, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._case_id = case_id
        self._rows: list[_Row] = []
        self._items: list[Evidence] = []
        self._load()

    # -- loading -------------------------------------------------------------------------

    def _load(self) -> None:
        conn = self._ws.conn
        elements = in_case(conn, Element, self._case_id)
        items = sorted(in_case(conn, Evidence, self._case_id), key=lambda e: (e.ern, e.id))
        known_items = {item.id for item in items}
        by_element: dict[str, dict[EvidenceId, list[Link]]] = {e.id: {} for e in elements}
        for link in in_case(conn, Link, self._case_id):
            cells = by_element.get(link.target_id)
            if link.target_kind != "element" or cells is None:
                continue
            if link.evidence_id in known_items:
                cells.setdefault(link.evidence_id, []).append(link)
        charge_order: dict[str, int] = {}
        for element in elements:  # oldest first, as in_case returns them
            charge_order.setdefault(element.charge, len(charge_order))
        ordered = sorted(
            enumerate(elements), key=lambda pair: (charge_order[pair[1].charge], pair[0])
        )
        self._items = items
        self._rows = []
        for _, element in ordered:
            cells = by_element[element.id]
            every = [link for links in cells.values() for link in links]
            self._rows.append(_Row(element, cells, support_of(every)))

    def refresh(self) -> None:
        """Reread elements, evidence and links after any of them changed."""
        self.beginResetModel()
        self._load()
        self.endResetModel()

    # -- shape -----------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per legal element; children of a row: none."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One column per evidence item, then Support; children of a row: none."""
        return 0 if parent.isValid() else len(self._items) + 1

    @property
    def support_column(self) -> int:
        """The last column, which sums a row up."""
        return len(self._items)

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Cells are selectable, not editable: links change through deliberate actions."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    # -- data ------------------------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The cell's text, colours, ids and sentence by role (see the class docstring)."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        column = index.column()
        if not 0 <= column <= len(self._items):
            return None
        row = self._rows[index.row()]
        if role == ElementIdRole:
            return row.element.id
        if role == SupportRole:
            return row.support
        if role == GapRole:
            return row.gap
        if column == self.support_column:
            return self._support_data(row, role)
        item = self._items[column]
        links = row.cells.get(item.id, [])
        shown = _best(links) if links else None
        if role == Qt.ItemDataRole.DisplayRole:
            if shown is None:
                return ""
            more = f" (+{len(links) - 1})" if len(links) > 1 else ""
            return link_text(shown) + more
        if role == LinkIdRole:
            return shown.id if shown is not None else None
        if role == EvidenceIdRole:
            return item.id
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._cell_sentence(row, item, links)
        if role == Qt.ItemDataRole.BackgroundRole:
            if shown is not None:
                return SUPPORT_COLOURS[link_strength(shown)]
            return GAP_CELL_COLOURS.get(row.support) if row.gap else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return INK if shown is not None or row.gap else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _support_data(self, row: _Row, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return SUPPORT_TEXT[row.support]
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return SUPPORT_EXPLAINED[row.support]
        if role == Qt.ItemDataRole.BackgroundRole:
            return SUPPORT_COLOURS[row.support]
        if role == Qt.ItemDataRole.ForegroundRole:
            return INK
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None  # no link, no evidence item: LinkIdRole and EvidenceIdRole are None

    def _cell_sentence(self, row: _Row, item: Evidence, links: list[Link]) -> str:
        what = f"{item.ern} ({item.title})" if item.title else item.ern
        if not links:
            return f"{what} is not linked to {element_label(row.element)}."
        rated = "; ".join(link_text(link) for link in links)
        return f"{what} supports {element_label(row.element)}: {rated}."

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """ERNs (and Support) across; charge, article and element down, tinted for gaps."""
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section <= len(self._items):
                return None
            if section == self.support_column:
                if role == Qt.ItemDataRole.DisplayRole:
                    return "Support"
                if role == Qt.ItemDataRole.ToolTipRole:
                    return "The best rated evidence for each element"
                return None
            item = self._items[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return item.ern
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{item.ern}: {item.title}" if item.title else item.ern
            if role == EvidenceIdRole:
                return item.id
            return None
        if not 0 <= section < len(self._rows):
            return None
        row = self._rows[section]
        if role == Qt.ItemDataRole.DisplayRole:
            marker = {NONE: "No evidence · ", WEAK: "Weak evidence only · "}.get(row.support, "")
            return marker + element_label(row.element)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = element_label(row.element)
            if row.element.mode_of_liability:
                text += f"\nMode of liability: {row.element.mode_of_liability}"
            return f"{text}\n{SUPPORT_EXPLAINED[row.support]}"
        if role == Qt.ItemDataRole.BackgroundRole:
            return SUPPORT_COLOURS[row.support] if row.gap else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return INK if row.gap else None
        if role == ElementIdRole:
            return row.element.id
        if role == SupportRole:
            return row.support
        if role == GapRole:
            return row.gap
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[LinkIdRole] = QByteArray(b"linkId")
        names[ElementIdRole] = QByteArray(b"elementId")
        names[EvidenceIdRole] = QByteArray(b"evidenceId")
        names[SupportRole] = QByteArray(b"support")
        names[GapRole] = QByteArray(b"gap")
        return names

    # -- ids and counts --------------------------------------------------------------------

    def element(self, row: int) -> Element | None:
        """The element of a row (as read at the last refresh)."""
        return self._rows[row].element if 0 <= row < len(self._rows) else None

    def evidence(self, column: int) -> Evidence | None:
        """The evidence item of a column; None for Support."""
        return self._items[column] if 0 <= column < len(self._items) else None

    def link(self, row: int, column: int) -> Link | None:
        """The link a cell shows, if any."""
        element, item = self.element(row), self.evidence(column)
        if element is None or item is None:
            return None
        links = self._rows[row].cells.get(item.id, [])
        return _best(links) if links else None

    def row_of(self, element_id: ElementId | str) -> int:
        """The row of an element by id, or -1."""
        for number, row in enumerate(self._rows):
            if row.element.id == element_id:
                return number
        return -1

    def column_of(self, evidence_id: EvidenceId | str) -> int:
        """The column of an evidence item by id, or -1."""
        for number, item in enumerate(self._items):
            if item.id == evidence_id:
                return number
        return -1

    def support(self, row: int) -> str:
        """The support level of a row ("none" for a row that does not exist)."""
        return self._rows[row].support if 0 <= row < len(self._rows) else NONE

    def counts(self) -> tuple[int, int, int]:
        """Elements, those without evidence, and those with only weak evidence."""
        without = sum(1 for row in self._rows if row.support == NONE)
        weak = sum(1 for row in self._rows if row.support == WEAK)
        return len(self._rows), without, weak
