"""`update_record` refuses to change what was withdrawn and what can never change."""

from __future__ import annotations

import pytest

from storage import cases, queries
from storage.errors import InvalidInput
from storage.records import CustodyEvent, Incident, Note, Person
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


def test_protected_persons_of_one_case_never_share_a_pseudonym(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling of the market")
    other_case = cases.add_case(ws, "Detentions at the camp")
    first = cases.add_person(ws, case_id, "witness", name="A", protected=True, pseudonym="W-0001")
    with pytest.raises(InvalidInput, match="already the pseudonym"):
        cases.add_person(ws, case_id, "witness", name="B", protected=True, pseudonym="W-0001")
    # The next number skips one typed by hand; another case may use it; an unprotected
    # person's "pseudonym" is just the name, which two people may share.
    numbered = cases.add_person(ws, case_id, "witness", name="C", protected=True)
    assert queries.get(ws.conn, Person, numbered).pseudonym == "W-0002"
    cases.add_person(ws, other_case, "witness", name="D", protected=True, pseudonym="W-0001")
    cases.add_person(ws, case_id, "victim", name="Unknown")
    cases.add_person(ws, case_id, "victim", name="Unknown")
    with pytest.raises(InvalidInput, match="already the pseudonym"):
        cases.update_record(ws, Person, numbered, pseudonym="W-0001")
    cases.update_record(ws, Person, first, pseudonym="W-0001", languages="Varosan")  # itself
    cases.withdraw(ws, Person, first)
    cases.update_record(ws, Person, numbered, pseudonym="W-0001")  # free again


def test_protecting_a_person_checks_the_pseudonym_it_will_be_known_by(
    officer_ws: Workspace,
) -> None:
    ws = officer_ws  # only a protection officer changes protection
    case_id = cases.add_case(ws, "Shelling of the market")
    cases.add_person(ws, case_id, "witness", name="A", protected=True, pseudonym="W-0001")
    plain = cases.add_person(ws, case_id, "witness", name="B", pseudonym="w-0001 ")
    with pytest.raises(InvalidInput, match="already the pseudonym"):
        cases.update_record(ws, Person, plain, protection="full")  # would be a second W-0001
    named = cases.add_person(ws, case_id, "victim", name="Ben Okafor")
    with pytest.raises(InvalidInput, match="must not be their name"):
        cases.update_record(ws, Person, named, protection="full")  # known by the name itself
    cases.update_record(ws, Person, named, protection="full", pseudonym="V-0001")
    with pytest.raises(InvalidInput, match="must not be their name"):
        cases.add_person(ws, case_id, "witness", name="Cara", protected=True, pseudonym=" cara")
    with pytest.raises(InvalidInput, match="already the pseudonym"):
        cases.add_person(ws, case_id, "witness", name="D", protected=True, pseudonym="W-0001 ")
