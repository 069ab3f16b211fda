"""The importer's bulk path (storage.apply.BulkCreates) leaves the very state the
one-by-one path leaves.

Runs of changesets that only create new records are written many rows at a time; every
other changeset goes through `apply_changeset` as before. The same changesets, imported
once with the bulk path and once without (`_Applier.BULK`) into two copies of the same
workspace, must give the same rows in every table (changesets, records, field state and
history, the search index with its rowids, conflicts, quarantine, parked...), the same
search results and the same import report, whatever the order they arrive in: creates
mixed with updates of records created earlier in the same import, grants in the middle,
changesets the authority holds back, forks, duplicates already held, changesets of a case
that is not here, sealed values with and without reveals, withdrawals.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import canonical, cases, evidence
from storage.changesets import changeset_id, decode
from storage.connection import Connection
from storage.digest import state_digest
from storage.identity import sign_changeset
from storage.records import Note, Person
from storage.sealing import Reveal
from storage.search import search_results
from storage.workspace import Draft, Workspace, new_id, open_workspace
from sync import importer, peers
from sync.importer import ImportReport, import_paths
from sync.spool import StagedChangeset
from tests.conftest import PASSPHRASE
from tests.sync.conftest import Network

RECEIVER = "liaison"
WORDS = ("market", "note", "corrected", "dressa", "partner", "Amara", "shelling", "strategy")


@dataclass
class History:
    """Real signed changesets of three offices about two cases, the receiver's
    workspace as it was before any of them arrived, and where things are in `items`."""

    items: list[StagedChangeset]
    template: Path
    sticks: dict[str, Path]


def _write_history(network: Network, tmp_path: Path, *, with_evidence: bool) -> tuple[str, str]:
    """Kabora's case with every kind of record, shared with the liaison, Dressa and the
    ngo; their own changes in it; Dressa's own case. Returns both case ids. (An evidence
    item whose file arrives makes the receiver record its receipt with the time of day:
    two imports cannot give the same state then.)"""
    kabora, dressa, ngo = network.ws["kabora"], network.ws["dressa"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Bulk case")
    network.share("kabora", case_id, RECEIVER, "dressa")
    amara = cases.add_person(kabora, case_id, "witness", name="Amara Osei")
    cases.add_person(kabora, case_id, "victim", name="Jon Doe", protected=True, pseudonym="W-1")
    incident = cases.add_incident(kabora, case_id, "Market shelling")
    cases.add_element(kabora, case_id, "murder", "intent")
    if with_evidence:
        first = _evidence(kabora, case_id, tmp_path / "photo.bin", 1)
        cases.add_link(kabora, first, incident)
        cases.update_record(kabora, Person, amara, languages="Swahili")  # one by one
        # Written in bulk after it: custody of the first item, then a second item with its
        # custody event (its row must follow the item's) and a link to it.
        evidence.add_custody(kabora, first, "examined")
        second = _evidence(kabora, case_id, tmp_path / "video.bin", 2)
        cases.add_link(kabora, second, incident)
    notes = [cases.add_note(kabora, case_id, f"market note {n}") for n in range(6)]
    kabora.commit(  # three records in one changeset
        case_id,
        [
            Draft("note", new_id(), "create", {"case_id": case_id, "text": "three at once"}),
            Draft("incident", new_id(), "create", {"case_id": case_id, "title": "Shelling 2"}),
            Draft("person", new_id(), "create", {"case_id": case_id, "role": "expert"}),
        ],
    )
    cases.add_note(kabora, case_id, "privileged strategy", klass="privileged")
    cases.add_note(kabora, case_id, "protected source", klass="protected")
    cases.update_record(kabora, Note, notes[0], text="market note zero, corrected")
    cases.update_record(kabora, Note, notes[1], text="market note one, corrected")
    cases.update_record(kabora, Note, notes[1], text="market note one, corrected again")
    cases.update_record(kabora, Person, amara, languages="Lingala", contact="market stall 4")
    cases.withdraw(kabora, Note, notes[2])
    network.share("kabora", case_id, "ngo")
    for n in range(4):
        cases.add_note(kabora, case_id, f"later market note {n}")
    _sent(network, "kabora", "ngo")
    _sent(network, "kabora", "dressa")
    partner_note = cases.add_note(ngo, case_id, "partner note")
    cases.update_record(ngo, Note, partner_note, text="partner note, corrected")
    cases.add_element(ngo, case_id, "murder", "act")  # a partner adds no elements: held back
    cases.add_note(ngo, case_id, "partner note after")
    _sent(network, "ngo", "kabora")  # Kabora forwards the partner's notes, not its element
    cases.add_note(dressa, case_id, "dressa note in the shared case")
    # Concurrent edits of one note: a conflict wherever both arrive.
    cases.update_record(dressa, Note, notes[3], text="market note three, as Dressa has it")
    cases.update_record(kabora, Note, notes[3], text="market note three, as Kabora has it")
    _sent(network, "dressa", "kabora")
    peers.unshare_case(kabora, case_id, network.peer("kabora", "dressa"))
    cases.add_note(dressa, case_id, "dressa note after its access was removed")  # held back
    own_case = cases.add_case(dressa, "Dressa own case")
    for n in range(3):
        cases.add_note(dressa, own_case, f"dressa note {n}")
    return case_id, own_case


def _sent(network: Network, sender: str, receiver: str) -> None:
    """Export from `sender` and import at `receiver` (both paths of which are under test)."""
    report = network.send(sender, receiver)
    assert report.status == "imported", report.message


def _evidence(ws: Workspace, case_id: str, file: Path, seed: int) -> str:
    file.write_bytes(bytes((i * seed) % 256 for i in range(2048)))
    return evidence.add_evidence(ws, case_id, file)


def _items_of(ws: Workspace) -> list[StagedChangeset]:
    """The changesets `ws` signed, as the importer holds them once verified, with the
    values of their sealed fields revealed."""
    reveals: dict[str, dict[tuple[int, str], Reveal]] = {}
    for cs_id, index, name, salt, value in ws.conn.execute(
        "SELECT changeset_id, op_index, field, salt, value FROM sealed_values"
    ):
        revealed = Reveal(bytes(salt), canonical.decode(str(value).encode()))
        reveals.setdefault(str(cs_id), {})[(int(index), str(name))] = revealed
    rows = ws.conn.execute(
        "SELECT id, body, sig FROM changesets WHERE origin = ? ORDER BY epoch, seq", (ws.origin,)
    )
    return [
        StagedChangeset(str(i), decode(bytes(b)), bytes(b), bytes(s), "", reveals.get(str(i), {}))
        for i, b, s in rows
    ]


def _forked(ws: Workspace, item: StagedChangeset) -> StagedChangeset:
    """Another changeset in the slot of `item`, signed with the same key."""
    doc = json.loads(item.body)
    doc["author"] = "Somebody else"
    body = canonical.encode(doc)
    return StagedChangeset(
        changeset_id(body), decode(body), body, sign_changeset(ws.keys, body), "", {}
    )


def _without_reveals(item: StagedChangeset) -> StagedChangeset:
    return dataclasses.replace(item, reveals={})


def _history(network: Network, tmp_path: Path, *, with_evidence: bool) -> History:
    """The receiver closed before anything arrived (the template for its copies), the
    bundles the offices export to it, and the changesets they hold."""
    case_id, _ = _write_history(network, tmp_path, with_evidence=with_evidence)
    sticks = {name: network.export(name, RECEIVER).head for name in ("dressa", "kabora")}
    kabora, dressa, ngo = network.ws["kabora"], network.ws["dressa"], network.ws["ngo"]
    # A second bundle from Kabora carries what the first did again, and a little more.
    latest = cases.add_note(kabora, case_id, "market note after the first bundle")
    cases.update_record(kabora, Note, latest, text="market note after the first, corrected")
    sticks["kabora again"] = network.export("kabora", RECEIVER).head
    items = _items_of(kabora) + _items_of(ngo) + _items_of(dressa)
    with_reveals = [item for item in items if item.reveals]
    assert with_reveals, "the history has sealed values"
    items += [_without_reveals(item) for item in with_reveals]
    items += [_forked(kabora, items[12]), _forked(dressa, _items_of(dressa)[-1])]
    receiver = network.ws[RECEIVER]
    for ws in (kabora, dressa, ngo):
        receiver.conn.execute(
            "INSERT OR IGNORE INTO origins(origin, signing_public, office_name) VALUES (?,?,?)",
            (ws.origin, ws.keys.signing_public, ws.office_name),
        )
    receiver.close()
    return History(items, network.base / RECEIVER, sticks)


@pytest.fixture
def history(network: Network, tmp_path: Path) -> History:
    """Changesets of every kind, an evidence item among them."""
    return _history(network, tmp_path, with_evidence=True)


@pytest.fixture
def bundles(network: Network, tmp_path: Path) -> History:
    """The same without the evidence item, for imports of whole bundles."""
    return _history(network, tmp_path, with_evidence=False)


@pytest.fixture
def twins(bundles: History, tmp_path: Path) -> Iterator[tuple[Workspace, Workspace]]:
    """Two copies of the receiver as it was before anything arrived."""
    pair = []
    for name in ("bulk", "one-by-one"):
        shutil.copytree(bundles.template, tmp_path / name)
        pair.append(open_workspace(tmp_path / name, PASSPHRASE))
    yield pair[0], pair[1]
    for ws in pair:
        ws.close()


# Local bookkeeping that two imports cannot share: the time of day, and the random name
# and key each evidence file is stored under.
_TIMES = {
    "changesets": {"applied_at"},
    "quarantine": {"at"},
    "parked_changesets": {"parked_at"},
    "blobs": {"store_name", "blob_key", "stored_at"},
    "case_shares": {"shared_at"},
}
_LEFT_OUT = {"audit", "bundles_in", "receipts_due"}  # times, hash chains, paths of sticks


def contents(conn: Connection) -> dict[str, list[str]]:
    """Every row of every table (the search index with its rowids; FTS5's own shadow
    tables left out: how it splits the index into segments is its business)."""
    tables = [
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE 'search_index_%' ORDER BY name"
        )
    ]
    found = {}
    for table in tables:
        if table in _LEFT_OUT:
            continue
        columns = [
            str(row[1])
            for row in conn.execute(f"PRAGMA table_info({table})")
            if str(row[1]) not in _TIMES.get(table, set())
        ]
        if table == "search_index":
            columns = ["rowid", *columns]
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}")
        if table == "meta":  # the head of the audit chain, which holds times
            rows = [row for row in rows if row[0] != "audit_head"]
        found[table] = sorted(repr(tuple(row)) for row in rows)
    return found


def searches(conn: Connection) -> list[tuple[Any, ...]]:
    """What searching for a few words finds, in order."""
    return [
        (word, hit.entity, hit.entity_id, hit.title, hit.snippet, round(hit.rank, 9))
        for word in WORDS
        for hit in search_results(conn, word, 100).hits
    ]


def assert_same_state(bulk: Workspace, one_by_one: Workspace) -> None:
    """The two workspaces hold the same rows and find the same things."""
    left, right = contents(bulk.conn), contents(one_by_one.conn)
    assert left.keys() == right.keys()
    for table in left:
        assert left[table] == right[table], table
    assert state_digest(bulk.conn) == state_digest(one_by_one.conn)
    assert searches(bulk.conn) == searches(one_by_one.conn)


class _Paths:
    """Switches the bulk path on or off, and the batch size, for one import."""

    def __init__(self, *, bulk: bool, batch: int | None = None) -> None:
        self._set = {"BULK": bulk, "BATCH": batch or importer._Applier.BATCH}
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> None:
        for name, value in self._set.items():
            self._saved[name] = getattr(importer._Applier, name)
            setattr(importer._Applier, name, value)

    def __exit__(self, *exc: object) -> None:
        for name, value in self._saved.items():
            setattr(importer._Applier, name, value)


def _report(report: ImportReport) -> dict[str, Any]:
    shown = report.to_json()
    shown.pop("head", None)
    return shown


def test_mixed_bundles_import_the_same_with_and_without_the_bulk_path(
    bundles: History, twins: tuple[Workspace, Workspace]
) -> None:
    """Real bundles: Dressa's, with a note written after Kabora removed its access (applied,
    then taken back and held when Kabora's bundle brings the ungrant), Kabora's with every
    kind of record, updates of records created in the same bundle, grants in the middle,
    a withdrawal, sealed values and the partner's notes it forwards, then a second bundle
    of Kabora's carrying the first one's again (duplicates). Changesets that must wait or
    are refused in one import are offered again by the next. (Changesets of a case not
    here, forks and the partner's held-back element are covered below, changeset by
    changeset.)"""
    order = ["dressa", "kabora", "kabora again"]
    reports: dict[bool, list[dict[str, Any]]] = {}
    for ws, bulk in zip(twins, (True, False), strict=True):
        with _Paths(bulk=bulk, batch=7):
            reports[bulk] = [
                _report(report)
                for name in order
                for report in import_paths(ws, [bundles.sticks[name]])
            ]
    assert reports[True] == reports[False]
    assert [report["status"] for report in reports[True]] == ["imported"] * 3
    assert sum(r["changesets"] for r in reports[True]) > 30 and reports[True][2]["duplicates"] > 20
    assert sum(r["conflicts"] for r in reports[True]) == 1
    bulk, one_by_one = twins
    held = bulk.conn.execute("SELECT reason FROM quarantine WHERE held_for != ''").fetchall()
    assert any("its access was removed" in str(row[0]) for row in held), held
    assert_same_state(bulk, one_by_one)


def test_the_bulk_path_writes_created_records_in_few_statements(
    bundles: History, twins: tuple[Workspace, Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk path is taken: Kabora's plain creates are not applied one by one."""
    one_at_a_time: list[str] = []
    real = importer.apply_changeset

    def counted(conn: Connection, cs: Any, cs_id: str, *args: Any, **kwargs: Any) -> Any:
        one_at_a_time.append(cs_id)
        return real(conn, cs, cs_id, *args, **kwargs)

    monkeypatch.setattr(importer, "apply_changeset", counted)
    bulk, _ = twins
    [report] = import_paths(bulk, [bundles.sticks["kabora"]])
    assert report.status == "imported"
    # The case, grants, updates, a withdrawal, changesets with reveals, the partner's and
    # Dressa's go one by one; Kabora's plain creates (a dozen) in bulk.
    assert len(one_at_a_time) > 0 and report.changesets - len(one_at_a_time) >= 12


def _outcome(outcome: importer._Outcome) -> dict[str, Any]:
    """What applying did, comparable between two workspaces."""
    return {
        "applied": outcome.applied,
        "duplicates": outcome.duplicates,
        "conflicts": outcome.conflicts,
        "cases": sorted(outcome.cases),
        "evidence": sorted(outcome.evidence_created),
        "unparked": outcome.unparked,
        "released": outcome.released,
        "waiting": sorted(
            (key, value[1], tuple(value[2])) for key, value in outcome.waiting.items()
        ),
        "held": sorted((key, value[1]) for key, value in outcome.held.items()),
        "quarantined": [(item.cs_id, reason) for item, reason in outcome.quarantined],
        "own_epoch_shared": outcome.own_epoch_shared,
    }


def _apply(ws: Workspace, items: list[StagedChangeset], *, bulk: bool, batch: int) -> Any:
    with _Paths(bulk=bulk, batch=batch), ws.transaction():
        return _outcome(importer._apply_all(ws, items))


def _applied_both_ways(
    history: History, base: Path, items: list[StagedChangeset], batch: int
) -> Any:
    """Apply `items` to two copies of the history's template, through the bulk path and
    one by one, `batch` at a time; assert that the outcomes, the states and the clocks
    are the same. Returns the outcome."""
    opened = []
    try:
        for name in ("bulk", "one-by-one"):
            shutil.copytree(history.template, base / name)
            opened.append(open_workspace(base / name, PASSPHRASE))
        bulk, one_by_one = opened
        outcome = _apply(bulk, items, bulk=True, batch=batch)
        assert outcome == _apply(one_by_one, items, bulk=False, batch=batch)
        assert_same_state(bulk, one_by_one)
        assert bulk.clock.last == one_by_one.clock.last
    finally:
        for ws in opened:
            ws.close()
    return outcome


def test_changesets_in_the_order_written_give_the_same_state_through_both_paths(
    history: History, tmp_path: Path
) -> None:
    """The order a sender exports in, in batches of 500: long runs of creates in bulk,
    broken by updates, grants and records of another case."""
    outcome = _applied_both_ways(history, tmp_path, history.items, 500)
    assert outcome["applied"] > 40 and outcome["quarantined"], outcome


@st.composite
def arrivals(draw: st.DrawFn, count: int) -> tuple[list[int], int]:
    """An order the changesets arrive in: roughly as written, or shuffled, some left
    out, some twice; and a batch size."""
    spread = draw(st.sampled_from([0, 2, 6, 1000]))
    keyed = []
    for index in range(count):
        copies = draw(st.sampled_from([1, 1, 1, 1, 0, 2]))
        for _ in range(copies):
            keyed.append((index + draw(st.integers(-spread, spread)), len(keyed), index))
    order = [index for _, _, index in sorted(keyed)]
    return order, draw(st.sampled_from([1, 3, 8, 50, 500]))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_order_of_changesets_gives_the_same_state_through_both_paths(
    history: History, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Random arrivals of the same real changesets (a fork, changesets with and without
    their reveals, an element the authority holds back, updates before their creates,
    a case that arrives late or never) give the same state and the same outcome through
    the bulk path and one by one, in batches of any size."""
    order, batch = data.draw(arrivals(len(history.items)))
    items = [history.items[index] for index in order]
    _applied_both_ways(history, tmp_path_factory.mktemp("twins"), items, batch)


def test_an_import_failing_after_the_bulk_rows_were_written_changes_nothing(
    bundles: History, twins: tuple[Workspace, Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk path writes inside the import's one transaction: when the import fails
    after every row was written (here, recording its outcome), nothing of it stays."""
    bulk, _ = twins
    before = state_digest(bulk.conn), contents(bulk.conn)

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(importer, "_record_outcome", disk_full)
    with pytest.raises(OSError, match="No space left"):
        import_paths(bulk, [bundles.sticks["kabora"]])
    assert (state_digest(bulk.conn), contents(bulk.conn)) == before
    assert gc.isenabled()  # paused while the spool held changesets; the failure ends that


def _variant(ws: Workspace, item: StagedChangeset, seq: int, **changes: Any) -> StagedChangeset:
    """A new note like the one `item` creates, in a new slot, signed by `ws`: its `class`
    and the changeset's `hlc` as given."""
    doc = json.loads(item.body)
    doc["seq"] = seq
    doc["hlc"] = changes.get("hlc", doc["hlc"])
    op = doc["ops"][0]
    op["entity_id"] = new_id()
    op["fields"]["class"] = changes.get("klass", "open")
    body = canonical.encode(doc)
    return StagedChangeset(
        changeset_id(body), decode(body), body, sign_changeset(ws.keys, body), "", {}
    )


def test_values_in_clear_and_clocks_ahead_are_decided_alike_through_both_paths(
    history: History, network: Network, tmp_path: Path
) -> None:
    """Values in clear and clocks ahead are decided by the bulk path as one by one: notes
    of the same shape but another class (open, then privileged and protected text in
    clear, then open again), stamps ahead of our clock by more or less than allowed, and a
    stamp written in other digits than ASCII ones are refused, held or applied alike, with
    the same sentences. (A guard for any shortcut the bulk path takes on these checks.)"""
    kabora = network.ws["kabora"]
    plain = next(
        item
        for item in _items_of(kabora)
        if len(item.changeset.ops) == 1
        and item.changeset.ops[0].entity == "note"
        and item.changeset.ops[0].kind == "create"
        and "class" in item.changeset.ops[0].fields
    )
    now = int(time.time() * 1000)
    soon, later = f"{now + 60_000:015d}.000000", f"{now + 3_600_000:015d}.000000"
    other_digits = "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in soon)
    shapes = [
        {},
        {"klass": "privileged"},
        {"klass": "protected"},
        {},
        {"hlc": soon},
        {"hlc": later},
        {"hlc": other_digits},
        {"klass": "privileged", "hlc": soon},
        {},
    ]
    crafted = [_variant(kabora, plain, 10_000 + n, **shape) for n, shape in enumerate(shapes)]
    items = [*history.items, *crafted]
    outcome = _applied_both_ways(history, tmp_path, items, 500)
    refused = {cs_id: reason for cs_id, reason in outcome["quarantined"]}
    held = dict(outcome["held"])
    assert [item.cs_id in refused for item in crafted] == [
        False, True, True, False, False, False, False, True, False
    ]  # fmt: skip
    assert "privileged note field “text” in clear" in refused[crafted[1].cs_id]
    assert "protected note field “text” in clear" in refused[crafted[2].cs_id]
    assert "ahead of this computer's clock" in held[crafted[5].cs_id].sentence
    assert crafted[4].cs_id not in held and crafted[6].cs_id not in held
