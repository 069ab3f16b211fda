"""Two and more real workspaces exchanging bundles: what arrives, in any order, and once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from storage import cases, evidence, queries
from storage.apply import ApplyError, apply_changeset
from storage.digest import state_digest
from storage.records import Case, Evidence, Note, Person
from sync import importer, peers
from sync.bundle_format import BUNDLE_FOLDER, HEAD_SUFFIX, PART_SUFFIX
from sync.cards import parse_card
from sync.holdings import held_here
from tests.sync.conftest import Network, add_verified


def _evidence_file(tmp_path: Path, size: int, seed: int = 1) -> Path:
    path = tmp_path / f"evidence-{seed}.bin"
    block = bytes((i * seed) % 251 for i in range(4096))
    path.write_bytes((block * (size // len(block) + 1))[:size])
    return path


def test_a_shared_case_arrives_whole_with_its_evidence(network: Network, tmp_path: Path) -> None:
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market", "Three witnesses")
    cases.add_person(kabora, case_id, "witness", name="W. Haddad", protected=True, pseudonym="W-1")
    source = _evidence_file(tmp_path, 300_000)
    evidence_id = evidence.add_evidence(kabora, case_id, source)
    network.share("kabora", case_id, "liaison")

    report = network.send("kabora", "liaison")

    assert report.status == "imported", report.message
    # The case, the person, the evidence item and the grant that shares the case.
    assert report.changesets == 4 and report.evidence == 1 and report.cases == {case_id}
    assert queries.get(liaison.conn, Case, case_id).title == "Shelling of the Varosa market"
    received = b"".join(evidence.read_evidence(liaison, evidence_id))
    assert received == source.read_bytes()
    events = [e.event for e in queries.custody_of(liaison.conn, evidence_id)]
    assert events == ["collected", "received in bundle"]
    assert all(result.ok for result in evidence.verify_all(liaison))
    assert liaison.verify_audit().ok


def test_unshared_cases_stay_home(network: Network) -> None:
    kabora = network.ws["kabora"]
    shared = cases.add_case(kabora, "Shared case")
    private = cases.add_case(kabora, "Private case")
    network.share("kabora", shared, "liaison")
    network.send("kabora", "liaison")
    ids = {c.id for c in queries.list_cases(network.ws["liaison"].conn, limit=10)}
    assert ids == {shared}
    assert private not in ids


def test_a_replayed_bundle_changes_nothing(network: Network) -> None:
    case_id = cases.add_case(network.ws["kabora"], "Case")
    network.share("kabora", case_id, "liaison")
    result = network.export("kabora", "liaison")
    first = network.receive("liaison", result.head)[0]
    digest = state_digest(network.ws["liaison"].conn)
    again = network.receive("liaison", result.head)[0]
    assert first.status == "imported" and again.status == "already imported"
    assert state_digest(network.ws["liaison"].conn) == digest


def test_after_an_exchange_ten_edits_travel_in_kilobytes(network: Network) -> None:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case", "x" * 50_000)
    for n in range(200):
        cases.add_note(kabora, case_id, f"note {n} " + "words " * 100)
    network.share("kabora", case_id, "liaison")
    assert network.send("kabora", "liaison").changesets == 202  # with the grant
    network.send("liaison", "kabora")  # carries what the liaison holds: the acknowledgement
    for n in range(10):
        cases.update_case(kabora, case_id, summary=f"edit {n}")
    result = network.export("kabora", "liaison")
    assert result.changesets == 10
    assert result.bytes_written < 20_000, result.bytes_written


def test_bundles_arriving_out_of_order_wait_for_their_predecessors(network: Network) -> None:
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id = cases.add_case(kabora, "Case", "first")
    network.share("kabora", case_id, "dressa")
    first = network.export("kabora", "dressa")
    # As if Dressa had acknowledged the first bundle: the next one carries only the edit.
    kabora.conn.execute(
        "UPDATE peers SET holdings = ? WHERE origin = ?",
        (json.dumps(held_here(kabora.conn)), dressa.origin),
    )
    cases.update_case(kabora, case_id, summary="second")
    second = network.export("kabora", "dressa")
    assert second.changesets == 1

    early = network.receive("dressa", second.head)[0]
    assert early.status == "imported" and early.changesets == 0 and early.parked == 1
    assert not queries.list_cases(dressa.conn, limit=5)
    late = network.receive("dressa", first.head)[0]
    # The case and the grant that shares it, then the edit that waited for them.
    assert late.changesets == 2 and late.unparked == 1 and late.parked == 0
    assert queries.get(dressa.conn, Case, case_id).summary == "second"


def test_a_bundle_from_an_unknown_sender_waits_for_its_card(
    network: Network, tmp_path: Path
) -> None:
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    # Dressa forgets Kabora, then receives a bundle from it.
    dressa.conn.execute("DELETE FROM peers WHERE origin = ?", (kabora.origin,))
    case_id = cases.add_case(kabora, "Case for Dressa")
    network.share("kabora", case_id, "dressa")
    result = network.export("kabora", "dressa")
    before = state_digest(dressa.conn)
    report = network.receive("dressa", result.head)[0]
    assert report.status == "parked" and "contact card" in report.message
    assert state_digest(dressa.conn) == before
    shutil.rmtree(result.head.parent.parent)  # the stick leaves with the courier
    add_verified(dressa, parse_card(peers.card_bytes(kabora)), "office")
    reports = network.receive("dressa", network.new_stick())
    assert [r.status for r in reports] == ["imported"]
    assert queries.get(dressa.conn, Case, case_id).title == "Case for Dressa"


def test_bundles_for_other_offices_are_left_on_the_stick(network: Network) -> None:
    case_id = cases.add_case(network.ws["kabora"], "Case")
    network.share("kabora", case_id, "liaison")
    stick = network.new_stick()
    result = network.export("kabora", "liaison", stick=stick)
    reports = network.receive("dressa", stick)
    assert [r.status for r in reports] == ["not for us"]
    assert result.head.exists() and all(p.exists() for p in result.parts)


def test_a_large_bundle_is_split_into_parts_and_reassembled(
    network: Network, tmp_path: Path
) -> None:
    from sync.export import export_bundle

    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case")
    source = _evidence_file(tmp_path, 1_500_000, seed=3)
    evidence_id = evidence.add_evidence(kabora, case_id, source)
    network.share("kabora", case_id, "liaison")
    stick = network.new_stick()
    result = export_bundle(kabora, [network.peer("kabora", "liaison")], stick, part_size=256 * 1024)
    assert len(result.parts) >= 6
    assert all(p.stat().st_size <= 256 * 1024 for p in result.parts)
    folder = stick / BUNDLE_FOLDER
    assert sorted(folder.glob(f"*{PART_SUFFIX}")) == sorted(result.parts)
    assert list(folder.glob(f"*{HEAD_SUFFIX}")) == [result.head]
    report = network.receive("liaison", stick)[0]
    assert report.status == "imported"
    liaison = network.ws["liaison"]
    assert b"".join(evidence.read_evidence(liaison, evidence_id)) == source.read_bytes()
    assert queries.get(liaison.conn, Evidence, evidence_id).sha256


def test_a_bundle_beyond_the_memory_budget_waits_on_disk_and_arrives_whole(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first changesets wait in memory, the rest in the encrypted scratch database
    (sync.spool): the import is the same, and the scratch database is gone after it."""
    from sync import spool

    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case_id = cases.add_case(kabora, "Case")
    person = cases.add_person(kabora, case_id, "witness", name="W. Haddad", protected=True)
    notes = [cases.add_note(kabora, case_id, f"note {n}") for n in range(12)]
    network.share("kabora", case_id, "liaison")
    opened: list[Path] = []

    def scratch(path: Path) -> Any:
        opened.append(path)
        return open_scratch_database(path)

    open_scratch_database = spool.open_scratch_database
    monkeypatch.setattr(spool, "open_scratch_database", scratch)
    monkeypatch.setattr(spool, "HELD_BYTES", 20_000)  # the first few changesets

    report = network.send("kabora", "liaison")

    assert report.status == "imported", report.message
    assert report.changesets == 2 + len(notes) + 1  # case, person, notes, grant
    assert len(opened) == 1 and not opened[0].exists()
    assert [queries.get(liaison.conn, Note, n).text for n in notes] == [
        f"note {n}" for n in range(12)
    ]
    assert queries.get(liaison.conn, Person, person).legal_name == "W. Haddad"


def test_a_liaison_forwards_an_office_case_with_its_signatures(network: Network) -> None:
    kabora, liaison, dressa = network.ws["kabora"], network.ws["liaison"], network.ws["dressa"]
    case_id = cases.add_case(kabora, "Case from Kabora")
    network.share("kabora", case_id, "liaison")
    network.send("kabora", "liaison")
    network.share("liaison", case_id, "dressa")
    report = network.send("liaison", "dressa")
    assert report.status == "imported" and report.changesets >= 1
    origins = {
        row[0]
        for row in dressa.conn.execute(
            "SELECT origin FROM changesets WHERE case_id = ?", (case_id,)
        )
    }
    assert kabora.origin in origins
    created_by = dressa.conn.execute(
        "SELECT origin FROM changesets WHERE case_id = ? ORDER BY seq LIMIT 1", (case_id,)
    ).fetchone()[0]
    assert created_by == kabora.origin
    assert liaison.origin != kabora.origin


def test_a_refused_changeset_inside_a_batch_spoils_only_itself(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changesets apply in batches under one savepoint; one refused mid-batch makes the batch
    replay one by one, and nothing is counted twice. The notes after it build on it (each
    changeset names its predecessor in the case), so they wait. (The refusal is made by
    replacing apply_changeset, which only the one-by-one path calls: the bulk path is off.)"""
    monkeypatch.setattr(importer._Applier, "BATCH", 4)
    monkeypatch.setattr(importer._Applier, "BULK", False)
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Batched case")
    notes = [cases.add_note(kabora, case_id, f"note {n}") for n in range(9)]
    network.share("kabora", case_id, "liaison")
    refused_note = notes[5]
    real_apply = apply_changeset

    def refuse_one(conn: Any, cs: Any, *args: Any, **kwargs: Any) -> Any:
        if any(op.entity_id == refused_note for op in cs.ops):
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('half-done', 'x')")
            raise ApplyError("refused for the test")
        return real_apply(conn, cs, *args, **kwargs)

    monkeypatch.setattr(importer, "apply_changeset", refuse_one)
    result = network.export("kabora", "liaison")
    [report] = network.receive("liaison", result.head)
    assert report.status == "imported"
    assert report.quarantined == 1 and report.quarantine_reasons == ["refused for the test"]
    assert result.changesets == 11  # the case, nine notes and the grant that shares it
    # The grant comes after the notes in the case: it waits with them.
    assert (report.changesets, report.parked, report.duplicates) == (6, 4, 0)
    liaison = network.ws["liaison"].conn
    assert {n.id for n in queries.in_case(liaison, Note, case_id)} == set(notes[:5])
    assert liaison.execute("SELECT 1 FROM meta WHERE key = 'half-done'").fetchone() is None
