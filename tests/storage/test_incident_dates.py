"""An incident cannot end before it starts, judged on what uncertain dates may mean.

"2027-03" to "before 2027-03-15" may well be (any day of March up to the 14th); "2027-04"
to "2027-03" cannot, whichever days are meant. A change of one end is judged against the
other as recorded.
"""

from __future__ import annotations

import pytest

from storage import cases, queries
from storage.dates import end_before_start
from storage.errors import InvalidInput
from storage.records import Incident
from storage.workspace import Workspace

IMPOSSIBLE = [
    ("2027-04", "2027-03"),
    ("2027", "2026-12-31"),
    ("2027-03-15", "before 2027-03-15"),
    ("after 2027-03", "2027-03-31"),
    ("after 2027-03", "before 2027-04"),
    ("about 2027-06-15", "2027-03-01"),
]
POSSIBLE = [
    ("2027-03", "before 2027-03-15"),
    ("2027-03-15", "2027-03-15"),
    ("2027-03", "2027-03-01"),  # the month may be its first day
    ("2027-03-20", "2027-03"),
    ("about 2027-03-15", "2027-03-01"),
    ("after 2027-03", "2027-04"),
    ("before 2027-03-15", "2027-01"),
    ("", "2027-03"),
    ("2027-03", ""),
]


@pytest.mark.parametrize(("start", "end"), IMPOSSIBLE)
def test_an_end_before_the_start_is_refused_with_a_sentence(
    ws: Workspace, start: str, end: str
) -> None:
    case_id = cases.add_case(ws, "Shelling of the Oru market")
    before = ws.conn.execute("SELECT count(*) FROM changesets").fetchone()[0]
    with pytest.raises(InvalidInput) as refused:
        cases.add_incident(ws, case_id, "Second strike", date_from=start, date_to=end)
    assert str(refused.value) == (
        f"The incident would end ({end}) before it starts ({start}). Check the dates."
    )
    assert ws.conn.execute("SELECT count(*) FROM changesets").fetchone()[0] == before


@pytest.mark.parametrize(("start", "end"), POSSIBLE)
def test_uncertain_dates_that_may_overlap_are_accepted(ws: Workspace, start: str, end: str) -> None:
    assert end_before_start(start, end) == ""
    case_id = cases.add_case(ws, "Shelling of the Oru market")
    incident_id = cases.add_incident(ws, case_id, "Second strike", date_from=start, date_to=end)
    incident = queries.get(ws.conn, Incident, incident_id)
    assert (incident.date_from, incident.date_to) == (start, end)


def test_changing_one_end_is_judged_against_the_other_as_recorded(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling of the Oru market")
    incident_id = cases.add_incident(
        ws, case_id, "Second strike", date_from="2027-03", date_to="2027-03-20"
    )
    with pytest.raises(InvalidInput, match=r"end \(2027-02\) before it starts \(2027-03\)"):
        cases.update_record(ws, Incident, incident_id, date_to="2027-02")
    with pytest.raises(InvalidInput, match=r"end \(2027-03-20\) before it starts \(2027-04\)"):
        cases.update_record(ws, Incident, incident_id, date_from="2027-04")
    incident = queries.get(ws.conn, Incident, incident_id)
    assert (incident.date_from, incident.date_to) == ("2027-03", "2027-03-20")
    cases.update_record(ws, Incident, incident_id, date_from="2027-04", date_to="2027-05")
    incident = queries.get(ws.conn, Incident, incident_id)
    assert (incident.date_from, incident.date_to) == ("2027-04", "2027-05")
    cases.update_record(ws, Incident, incident_id, date_to="")  # an open end is fine
