"""The liaison's review of incoming changes: what other offices changed, in which case, in
words, newest received first; real workspaces exchanging real bundles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from storage import cases, evidence, history, queries
from storage.changesets import Changeset, Op
from storage.records import Case, Evidence, Note, Person
from storage.workspace import Workspace
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network

# The sync tests' fixtures: real installations that are each other's peers.
installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

KABORA, DRESSA = "Kabora field office", "Dressa field office"
GRANTED = "granted Tribunal liaison access as liaison"  # sharing a case is a signed grant


def _shared_case(net: Network, office: str, title: str) -> str:
    case_id = cases.add_case(net.ws[office], title)
    net.share(office, case_id, "liaison")
    return case_id


def _incoming(net: Network, **filters: object) -> list[history.IncomingEntry]:
    liaison = net.ws["liaison"]
    return history.incoming(liaison.conn, liaison.origin, **filters)  # type: ignore[arg-type]


def test_changes_of_other_offices_are_listed_newest_received_first(network: Network) -> None:
    """Received order, not the authors' clocks: Dressa's case was made first but arrives
    last, so it is listed first. The liaison's own changes are not incoming."""
    dressa_case = _shared_case(network, "dressa", "Looting of the Dressa depot")
    kabora_case = _shared_case(network, "kabora", "Shelling of the Varosa market")
    kabora = network.ws["kabora"]
    cases.update_case(kabora, kabora_case, title="Shelling of Varosa", status="closed")
    cases.add_case(network.ws["liaison"], "The liaison's own case")

    assert network.send("kabora", "liaison").status == "imported"
    assert network.send("dressa", "liaison").status == "imported"

    entries = _incoming(network)
    assert [(e.office, e.case_id) for e in entries] == [
        (DRESSA, dressa_case),
        (DRESSA, dressa_case),
        (KABORA, kabora_case),
        (KABORA, kabora_case),
        (KABORA, kabora_case),
    ]
    assert [e.changes for e in entries] == [
        (GRANTED,),
        ("opened case",),
        ("updated case title, status",),
        (GRANTED,),
        ("opened case",),
    ]
    assert entries[0].case_title == "Looting of the Dressa depot"
    assert entries[2].case_title == "Shelling of Varosa"  # the case as it stands now
    assert entries[2].case_reference == queries.get(kabora.conn, Case, kabora_case).reference
    assert all(e.signature_ok for e in entries)
    assert entries[1].received_at > entries[2].received_at
    assert entries[2].author == kabora.author


def test_changes_are_told_in_words_without_protected_values(network: Network) -> None:
    kabora = network.ws["kabora"]
    case_id = _shared_case(network, "kabora", "Shelling of the Varosa market")
    person = cases.add_person(
        kabora, case_id, "witness", name="Warda Haddad", protected=True, pseudonym="W-0043"
    )
    cases.update_record(kabora, Person, person, role="victim", legal_name="Warda H. Haddad")
    note = cases.add_note(kabora, case_id, "Met the witness at the clinic")
    cases.withdraw(kabora, Note, note)
    cases.add_incident(kabora, case_id, "Shelling of the market on 3 March")
    network.send("kabora", "liaison")

    changes = [change for entry in _incoming(network) for change in entry.changes]

    assert changes == [
        "added incident “Shelling of the market on 3 March”",
        "withdrew note",
        "added note",
        "updated person W-0043: role, legal name",
        "added person W-0043",
        GRANTED,
        "opened case",
    ]
    text = " ".join(changes)
    assert "Haddad" not in text and "clinic" not in text


def test_a_changeset_of_many_ops_is_told_by_kind(ws: Workspace) -> None:
    """A case shared with its whole file arrives as changesets of thousands of ops: they
    are counted by kind, not listed one by one."""
    ops = (
        Op("case", "c1", "create", {"reference": "KAB-1", "title": "A case"}, {}),
        *(Op("person", f"p{n}", "create", {"pseudonym": f"W-{n}"}, {}) for n in range(12)),
        Op("note", "n1", "withdraw", {}, {"withdrawn": "x:0"}),
    )
    big = Changeset("0" * 64, 0, 1, "", "001796170622765.000000", "someone", "c1", ops)
    labels = history.RecordNames(ws.conn)
    assert history.describe_changes(big, labels) == (
        "opened case",
        "added 12 persons",
        "withdrew note",
    )


def test_offices_are_listed_with_counts_and_filters_narrow_the_list(network: Network) -> None:
    kabora_case = _shared_case(network, "kabora", "Kabora case")
    cases.add_note(network.ws["kabora"], kabora_case, "A second change")
    _shared_case(network, "dressa", "Dressa case")
    network.send("kabora", "liaison")
    network.send("dressa", "liaison")
    liaison = network.ws["liaison"]
    kabora_origin = network.ws["kabora"].origin

    offices = history.incoming_offices(liaison.conn, liaison.origin)
    # Each case comes with the grant that shares it.
    assert [(o.office, o.changesets) for o in offices] == [(DRESSA, 2), (KABORA, 3)]
    only_kabora = _incoming(network, origin=kabora_origin)
    assert {e.office for e in only_kabora} == {KABORA} and len(only_kabora) == 3
    totals = history.incoming_totals(liaison.conn, liaison.origin)
    assert totals == history.IncomingTotals(changesets=5, offices=2, cases=2)
    assert history.incoming_totals(
        liaison.conn, liaison.origin, origin=kabora_origin
    ) == history.IncomingTotals(3, 1, 1)
    assert _incoming(network, origin=liaison.origin) == []  # our own never count

    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert _incoming(network, since=later) == []
    assert [
        o.changesets for o in history.incoming_offices(liaison.conn, liaison.origin, since=later)
    ] == [0, 0]
    assert len(_incoming(network, since=later - dt.timedelta(days=7))) == 5


def test_pages_follow_each_other_without_gaps_or_repeats(network: Network) -> None:
    kabora = network.ws["kabora"]
    case_id = _shared_case(network, "kabora", "Case with a long history")
    for n in range(6):
        cases.add_note(kabora, case_id, f"note {n}")
    network.send("kabora", "liaison")
    whole = [e.id for e in _incoming(network, limit=100)]
    paged = [e.id for offset in range(0, 9, 3) for e in _incoming(network, limit=3, offset=offset)]
    assert paged == whole and len(whole) == 8  # the case, its grant and six notes


def test_the_last_import_is_what_the_latest_bundles_brought(network: Network) -> None:
    """Bundles imported one after another are one import; a bundle imported after a
    pause is an import of its own (the pause is made zero here rather than waited out)."""
    liaison = network.ws["liaison"]
    assert history.last_import(liaison.conn, liaison.origin) is None
    kabora_case = _shared_case(network, "kabora", "Kabora case")
    _shared_case(network, "dressa", "Dressa case")
    network.send("kabora", "liaison")
    network.send("dressa", "liaison")

    together = history.last_import(liaison.conn, liaison.origin)
    assert together is not None and together.bundles == 2 and together.since is None

    cases.update_case(network.ws["kabora"], kabora_case, status="closed")
    network.send("kabora", "liaison")
    alone = history.last_import(liaison.conn, liaison.origin, gap=dt.timedelta(0))
    assert alone is not None and alone.bundles == 1 and alone.since is not None
    brought = _incoming(network, since=alone.since)
    assert [e.changes for e in brought] == [("updated case status",)]


def test_an_import_that_brought_no_changes_is_not_the_last_import(network: Network) -> None:
    liaison = network.ws["liaison"]
    _shared_case(network, "kabora", "Kabora case")
    network.send("kabora", "liaison")
    first = history.last_import(liaison.conn, liaison.origin, gap=dt.timedelta(0))
    network.send("liaison", "kabora")  # our receipt goes back
    report = network.send("kabora", "liaison")  # nothing new: their receipt only
    assert report.status == "imported" and report.changesets == 0
    assert history.last_import(liaison.conn, liaison.origin, gap=dt.timedelta(0)) == first


def test_a_changed_byte_shows_as_a_signature_that_does_not_verify(network: Network) -> None:
    _shared_case(network, "kabora", "Case")
    network.send("kabora", "liaison")
    liaison = network.ws["liaison"]
    cs_id, sig = liaison.conn.execute(
        "SELECT id, sig FROM changesets WHERE origin = ? ORDER BY seq LIMIT 1",
        (network.ws["kabora"].origin,),
    ).fetchone()
    forged = bytes([sig[0] ^ 1]) + bytes(sig[1:])  # someone with the key, tampering
    liaison.conn.execute("UPDATE changesets SET sig = ? WHERE id = ?", (forged, cs_id))
    # The grant that shared the case, then the case itself, whose signature was changed.
    assert [e.signature_ok for e in _incoming(network)] == [True, False]


def test_listing_by_received_time_needs_no_sort(network: Network) -> None:
    """Migration 0004's indexes: a page of 100,000 changesets is read from an index,
    never sorted in memory (which took 0.47 s a page)."""
    liaison = network.ws["liaison"]
    sql = (
        "EXPLAIN QUERY PLAN SELECT cs.id FROM changesets cs WHERE cs.origin != ?{}"
        " ORDER BY cs.applied_at DESC, cs.rowid DESC LIMIT 100"
    )
    for extra, params in (("", [liaison.origin]), (" AND cs.origin = ?", [liaison.origin, "x"])):
        plan = " ".join(row[3] for row in liaison.conn.execute(sql.format(extra), params))
        assert "TEMP B-TREE" not in plan, plan


def test_evidence_its_custody_and_links_are_named_by_ern_and_pseudonym(
    network: Network, tmp_path: Path
) -> None:
    kabora = network.ws["kabora"]
    case_id = _shared_case(network, "kabora", "Shelling of the Varosa market")
    person = cases.add_person(kabora, case_id, "witness", name="Warda Haddad", pseudonym="W-7")
    source = tmp_path / "statement.txt"
    source.write_bytes(b"A signed statement")
    item = evidence.add_evidence(kabora, case_id, source)
    ern = queries.get(kabora.conn, Evidence, item).ern
    cases.add_link(kabora, item, person, strength="strong")
    network.send("kabora", "liaison")

    changes = [change for entry in _incoming(network) for change in entry.changes]

    assert changes[0] == f"added link between evidence {ern} and person W-7"
    assert f"added evidence {ern}" in changes
    assert f"recorded custody event “collected” for evidence {ern}" in changes
    assert not any("Haddad" in change for change in changes)
