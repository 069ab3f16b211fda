"""The incidents of a case as a chronological table model, for the Incidents tab's timeline.

Incident dates are often uncertain ("2027-03", "before 2027-03-15", "about 2027"). They are
shown exactly as written and ordered by the rule below. `storage.dates` checks and
normalises such dates but defines no order, so the order lives here (a candidate to move
into `storage.dates` once the command line needs it too):

* a date is placed where it starts: "2027" on 1 January 2027, "2027-03" on 1 March;
  "before X" on the day before X starts, "after X" on the day after X ends;
* on the same day: "before" first, then plain dates, then "about", then "after"; and a
  less precise date before a more precise one ("2027-03" before "2027-03-01"), since it
  is the wider span that contains it;
* an incident is placed by its "from" date (its "to" date when only that is known), then
  by its "to" date, then by title; incidents without dates come last.

The model reads the list through `storage.queries.in_case` and never runs SQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

from PySide6.QtCore import (
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from storage.dates import date_bounds
from storage.queries import in_case
from storage.records import CaseId, Incident, IncidentId
from storage.workspace import Workspace
from ui.models.headed_table import HeadedTableModel

IncidentIdRole = Qt.ItemDataRole.UserRole + 1
DatedRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex

_QUALIFIER_RANK = {"before": 0, "": 1, "about": 2, "after": 3}
DateKey = tuple[int, int, int]
_UNDATED: DateKey = (0, 0, 0)


def date_span(text: str) -> tuple[date, date] | None:
    """The days a date covers on a timeline: a point for "before" and "after" dates."""
    bounds = date_bounds(text)
    if bounds is None:
        return None
    start, end, qualifier, _ = bounds
    if qualifier == "before":
        point = start - timedelta(days=1)
        return point, point
    if qualifier == "after":
        point = end + timedelta(days=1)
        return point, point
    return start, end


def date_sort_key(text: str) -> DateKey | None:
    """Where an uncertain date sorts (see the module docstring); None when undated."""
    bounds = date_bounds(text)
    span = date_span(text)
    if bounds is None or span is None:
        return None
    _, _, qualifier, precision = bounds
    return span[0].toordinal(), _QUALIFIER_RANK.get(qualifier, 1), precision


def incident_sort_key(incident: Incident) -> tuple[int, DateKey, DateKey, str, str]:
    """Chronological order of incidents: by from date, then to date, then title;
    undated ones last."""
    start = date_sort_key(incident.date_from)
    end = date_sort_key(incident.date_to)
    if start is None and end is None:
        return 1, _UNDATED, _UNDATED, incident.title.casefold(), incident.id
    first = start if start is not None else end
    last = end if end is not None else start
    assert first is not None and last is not None
    return 0, first, last, incident.title.casefold(), incident.id


def incident_span(incident: Incident) -> tuple[date, date] | None:
    """The days an incident covers, from the start of its from date to the end of its to
    date; None when it is undated."""
    start = date_span(incident.date_from)
    end = date_span(incident.date_to)
    start = start or end
    end = end or start
    if start is None or end is None:
        return None
    return start[0], max(start[0], end[1])


def when_text(incident: Incident) -> str:
    """The dates as written: "2027-03", "2027-03-02 – 2027-03-05", "until 2027-04"."""
    start, end = incident.date_from, incident.date_to
    if start and end and start != end:
        return f"{start} – {end}"
    if start:
        return start
    if end:
        return f"until {end}"
    return "undated"


class IncidentModel(HeadedTableModel):
    """Incidents of one case in chronological order: When, Title, Place, Acts, Status.

    `Qt.DisplayRole` gives the text (dates as written), `IncidentIdRole` the incident's id,
    `DatedRole` whether the incident has any date (undated rows come last).
    """

    WHEN, TITLE, PLACE, ACTS, STATUS = range(5)
    HEADERS: ClassVar[tuple[str, ...]] = ("When", "Title", "Place", "Acts", "Status")

    def __init__(
        self, workspace: Workspace, case_id: CaseId, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._case_id = case_id
        self._rows: list[Incident] = self._read()

    def _read(self) -> list[Incident]:
        return sorted(in_case(self._ws.conn, Incident, self._case_id), key=incident_sort_key)

    def refresh(self) -> None:
        """Reread the incidents after one was added or changed."""
        self.beginResetModel()
        self._rows = self._read()
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per incident; children of a row: none."""
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Rows are selectable, not editable in place."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text for DisplayRole and ToolTipRole, the id for IncidentIdRole, whether it is
        dated for DatedRole; None otherwise."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self.HEADERS):
            return None
        incident = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = self._text(incident, index.column())
            if role == Qt.ItemDataRole.ToolTipRole and index.column() == self.TITLE:
                return incident.description or text
            return text
        if role == IncidentIdRole:
            return incident.id
        if role == DatedRole:
            return incident_span(incident) is not None
        return None

    def _text(self, incident: Incident, column: int) -> str:
        if column == self.WHEN:
            return when_text(incident)
        if column == self.TITLE:
            return incident.title
        if column == self.PLACE:
            return incident.location
        if column == self.ACTS:
            return incident.act_types
        return incident.status

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[IncidentIdRole] = QByteArray(b"incidentId")
        names[DatedRole] = QByteArray(b"dated")
        return names

    def incident(self, row: int) -> Incident | None:
        """The incident in a row (as read at the last refresh)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, incident_id: IncidentId | str) -> int:
        """The row of an incident by id, or -1."""
        for row, incident in enumerate(self._rows):
            if incident.id == incident_id:
                return row
        return -1

    def spans(self) -> list[tuple[date, date] | None]:
        """Each row's span of days (None when undated), for the timeline strip."""
        return [incident_span(incident) for incident in self._rows]
