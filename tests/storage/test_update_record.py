"""`update_record` refuses to change what was withdrawn and what can never change."""

from __future__ import annotations

import pytest

from storage import cases
from storage.errors import InvalidInput
from storage.records import CustodyEvent, Incident, Note
from storage.workspace import Workspace


def test_a_withdrawn_record_cannot_be_edited_and_nothing_is_signed(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling of the market")
    incident_id = cases.add_incident(ws, case_id, "Shelling")
    note_id = cases.add_note(ws, case_id, "Seen at the gate")
    cases.withdraw(ws, Incident, incident_id)
    cases.withdraw(ws, Note, note_id)
    before = ws.conn.execute("SELECT count(*) FROM changesets").fetchone()[0]
    with pytest.raises(InvalidInput, match="was withdrawn"):
        cases.update_record(ws, Incident, incident_id, title="Shelling at dawn")
    with pytest.raises(InvalidInput, match="was withdrawn"):
        cases.update_record(ws, Note, note_id, text="Seen at the west gate")
    assert ws.conn.execute("SELECT count(*) FROM changesets").fetchone()[0] == before


def test_an_append_only_record_is_refused_with_a_sentence(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match="cannot be changed once recorded"):
        cases.update_record(ws, CustodyEvent, "0" * 32, note="rewritten")
