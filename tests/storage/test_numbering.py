"""New numbers (case references, pseudonyms, evidence numbers) continue after the highest
one known in the workspace, wherever it came from: a workspace restored from a backup gets
its later records back from peers and must never give their numbers a second time."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import cases, evidence, queries
from storage.errors import AmbiguousReference, InvalidInput
from storage.records import Case, Evidence, Person
from storage.workspace import Draft, Workspace, new_id


def _case_as_if_received(ws: Workspace, reference: str, title: str) -> str:
    """A case written straight through the write path, as a peer's changeset lands: no
    counter is advanced and no reference is checked."""
    case_id = new_id()
    values = {"reference": reference, "title": title, "lead_office": "Kabora field office"}
    ws.commit(case_id, [Draft("case", case_id, "create", values)])
    return case_id


def _prefix(ws: Workspace, case_id: str) -> str:
    return queries.get(ws.conn, Case, case_id).reference.rsplit("-", 1)[0]


def test_a_new_reference_follows_the_highest_one_known_not_the_counter(ws: Workspace) -> None:
    first = cases.add_case(ws, "Opened here")
    prefix = _prefix(ws, first)
    _case_as_if_received(ws, f"{prefix}-0007", "Opened on the lost laptop")
    _case_as_if_received(ws, f"{prefix}-0012x", "A reference typed by hand")
    later = cases.add_case(ws, "Opened after it came back")
    assert queries.get(ws.conn, Case, later).reference == f"{prefix}-0008"


def test_a_withdrawn_case_keeps_its_number_taken(ws: Workspace) -> None:
    first = cases.add_case(ws, "Opened here")
    prefix = _prefix(ws, first)
    gone = _case_as_if_received(ws, f"{prefix}-0004", "Withdrawn later")
    cases.withdraw(ws, Case, gone)
    later = cases.add_case(ws, "Next")
    assert queries.get(ws.conn, Case, later).reference == f"{prefix}-0005"


def test_a_new_pseudonym_follows_the_highest_w_number_in_any_case(ws: Workspace) -> None:
    one, two = cases.add_case(ws, "One"), cases.add_case(ws, "Two")
    early = cases.add_person(ws, one, "witness", protected=True)
    assert queries.get(ws.conn, Person, early).pseudonym == "W-0001"
    person_id = new_id()
    values = {"case_id": two, "role": "witness", "protection": "full", "pseudonym": "W-0041"}
    ws.commit(two, [Draft("person", person_id, "create", values)])
    made = cases.add_person(ws, one, "witness", name="B. T.", protected=True)
    assert queries.get(ws.conn, Person, made).pseudonym == "W-0042"


def test_a_new_evidence_number_follows_the_highest_known(ws: Workspace, tmp_path: Path) -> None:
    case_id = cases.add_case(ws, "With evidence")
    sample = tmp_path / "a.txt"
    sample.write_bytes(b"first")
    first = queries.get(ws.conn, Evidence, evidence.add_evidence(ws, case_id, sample))
    head = first.ern.rsplit("-", 2)[0]
    ws.conn.execute("BEGIN")
    ws.conn.execute("UPDATE evidence SET ern = ? WHERE id = ?", (f"{head}-0002-0003", first.id))
    ws.conn.execute("COMMIT")
    sample.write_bytes(b"second")
    second = queries.get(ws.conn, Evidence, evidence.add_evidence(ws, case_id, sample))
    assert second.ern == f"{head}-0002-0004"


def test_case_add_refuses_a_reference_in_use(ws: Workspace) -> None:
    first = cases.add_case(ws, "Opened here")
    taken = queries.get(ws.conn, Case, first).reference
    count = queries.count_cases(ws.conn)
    with pytest.raises(InvalidInput, match=f"{taken} is already the reference of case {first}"):
        cases.add_case(ws, "Another", reference=f" {taken} ")
    assert queries.count_cases(ws.conn) == count


def test_case_update_refuses_another_cases_reference(ws: Workspace) -> None:
    first, second = cases.add_case(ws, "First"), cases.add_case(ws, "Second")
    taken = queries.get(ws.conn, Case, first).reference
    with pytest.raises(InvalidInput, match="already the reference"):
        cases.update_case(ws, second, reference=taken)
    cases.update_case(ws, second, reference="VAR-KAB-2026-0100")
    assert queries.get(ws.conn, Case, second).reference == "VAR-KAB-2026-0100"


def test_a_reference_two_cases_share_names_both_and_asks_for_the_id(ws: Workspace) -> None:
    mine = cases.add_case(ws, "Opened after the restore")
    reference = queries.get(ws.conn, Case, mine).reference
    theirs = _case_as_if_received(ws, reference, "Opened on the lost laptop")
    with pytest.raises(AmbiguousReference) as raised:
        queries.resolve(ws.conn, Case, reference)
    listed = sorted([(mine, "Opened after the restore"), (theirs, "Opened on the lost laptop")])
    expected = ", ".join(f"{i} {t}" for i, t in listed)
    assert str(raised.value) == f"{reference} names 2 cases: {expected}; give the id."
    assert queries.resolve(ws.conn, Case, theirs) == theirs


def test_a_huge_number_from_a_peer_does_not_make_every_later_number_huge(ws: Workspace) -> None:
    """A mistyped or hostile reference (…-99999999) is not followed; numbers up to
    999,999 are."""
    first = cases.add_case(ws, "Opened here")
    prefix = _prefix(ws, first)
    _case_as_if_received(ws, f"{prefix}-99999999", "Mistyped at another office")
    _case_as_if_received(ws, f"{prefix}-0041", "Opened on the lost laptop")
    later = cases.add_case(ws, "Next")
    assert queries.get(ws.conn, Case, later).reference == f"{prefix}-0042"


def test_a_malformed_evidence_number_above_the_real_ones_is_passed_over(
    ws: Workspace, tmp_path: Path
) -> None:
    case_id = cases.add_case(ws, "With evidence")
    sample = tmp_path / "a.txt"
    sample.write_bytes(b"first")
    first = queries.get(ws.conn, Evidence, evidence.add_evidence(ws, case_id, sample))
    head = first.ern.rsplit("-", 2)[0]
    ws.conn.execute("BEGIN")
    ws.conn.execute("UPDATE evidence SET ern = ? WHERE id = ?", (f"{head}-9x-0007", first.id))
    ws.conn.execute("COMMIT")
    sample.write_bytes(b"second")
    second = queries.get(ws.conn, Evidence, evidence.add_evidence(ws, case_id, sample))
    assert second.ern == f"{head}-0001-0002"  # the counter's next; 9x is no batch
