"""A partner (ngo, defence) receives a projection of a case, never our raw history.

Each attack is tried with real workspaces and real bundles: the bundle written for the
NGO is decrypted with the NGO's own key, as the NGO could, and every byte of it (file
names, ciphertext, head, manifest, every frame of the payload) is searched for what it
must not hold (tests.sync.test_redaction.leaks: UTF-8, UTF-16, either case, hex, base64).
Each negative search has a positive control showing the same search finds what the
partner may see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from storage import backup, cases, queries
from storage.changesets import Changeset, decode
from storage.connection import Connection
from storage.digest import state_digest
from storage.evidence import add_custody, add_evidence
from storage.records import Case, Evidence, Incident, Note, Person
from storage.workspace import Draft, Workspace, new_id, open_workspace
from sync import export as export_module
from sync import peers, releases
from sync.bundle_format import PayloadParser
from sync.export import export_bundle, has_news_for
from sync.holdings import Holdings
from sync.importer import import_paths
from sync.peers import PEER_ID_LENGTH
from sync.projection import projected_for, projection_author
from tests.conftest import PASSPHRASE, acting_as_officer
from tests.sync.conftest import Network
from tests.sync.test_redaction import OpenedBundle, database_text, leaks, open_bundle

EARLY_NAME = "Amarantha Quorvello-Tesk"
EARLY_WORDS = ["Amarantha", "Quorvello"]


def release(
    ws: Workspace,
    case_id: str,
    evidence_id: str,
    peer_origin: str,
    *,
    with_file_name: bool,
    role: str = "ngo",
) -> None:
    """Release an evidence item to one peer, as `evidence release EV --to PEER` does
    (sync.releases.release_to where it exists; before it, the row that storage.releases
    writes in `evidence_releases`, which sync.releases reads)."""
    release_to = getattr(releases, "release_to", None)
    if release_to is not None:
        release_to(ws, evidence_id, peer_origin[:PEER_ID_LENGTH], with_file_name=with_file_name)
        return
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with ws.transaction() as conn:
        conn.execute(
            "INSERT INTO evidence_releases(id, case_id, evidence_id, grantee_origin,"
            " grantee_role, with_file_name, at, created_hlc, updated_hlc)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (new_id(), case_id, evidence_id, peer_origin, role, int(with_file_name), now, "", ""),
        )


def unrelease(ws: Workspace, evidence_id: str, peer_origin: str) -> None:
    """Withdraw the item's release to the peer."""
    unrelease_to = getattr(releases, "unrelease_to", None)
    if unrelease_to is not None:
        unrelease_to(ws, evidence_id, peer_origin[:PEER_ID_LENGTH])
        return
    with ws.transaction() as conn:
        conn.execute(
            "UPDATE evidence_releases SET withdrawn = 1 WHERE evidence_id = ?"
            " AND grantee_origin = ?",
            (evidence_id, peer_origin),
        )


def evidence_file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def blob_digests(bundle: OpenedBundle) -> list[str]:
    """The SHA-256 of every evidence file the bundle carries."""
    found: list[str] = []

    class Sink:
        def __init__(self, sha: str) -> None:
            self.sha = sha

        def write(self, data: bytes | memoryview) -> None:
            pass

        def finish(self) -> str:
            found.append(self.sha)
            return self.sha

    parser = PayloadParser(lambda frame: None, lambda size, sha: Sink(sha))
    parser.write(bundle.payload)
    parser.finish()
    return found


def frames_of(bundle: OpenedBundle) -> list[Changeset]:
    return [decode(frame.body) for frame in bundle.frames]


def kinds_in(bundle: OpenedBundle) -> set[str]:
    return {op.entity for cs in frames_of(bundle) for op in cs.ops}


def assert_projection_only(bundle: OpenedBundle, sender: Workspace, reader: Workspace) -> None:
    """Every changeset in the bundle is the sender's projection for the reader."""
    for cs in frames_of(bundle):
        assert cs.origin == sender.origin
        assert cs.author == projection_author(reader.origin)
        assert projected_for(cs.author) == reader.origin


def import_ok(network: Network, receiver: str, head: Path) -> None:
    report = network.receive(receiver, head)[0]
    assert report.status == "imported", report.message
    assert (report.quarantined, report.parked, report.conflicts) == (0, 0, 0), report


# -- the attacks -----------------------------------------------------------------------------


def test_early_name_never_reaches_a_partner(network: Network) -> None:
    """A witness first recorded without protection (her pseudonym is her name) and
    protected later: the raw create op carries the name, so the NGO, shared the case
    afterwards, must receive only what it may see now."""
    kabora, ngo, liaison = network.ws["kabora"], network.ws["ngo"], network.ws["liaison"]
    case_id = cases.add_case(kabora, "Burning of the Teskal granary")
    person_id = cases.add_person(kabora, case_id, "witness", name=EARLY_NAME)
    assert queries.get(kabora.conn, Person, person_id).pseudonym == EARLY_NAME
    with acting_as_officer(kabora):  # only a protection officer changes protection
        cases.update_record(kabora, Person, person_id, protection="full", pseudonym="W-0500")

    network.share("kabora", case_id, "ngo", "liaison")
    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert leaks(bundle.everything, [EARLY_NAME, *EARLY_WORDS]) == []
    assert b"W-0500" in bundle.payload  # positive control
    assert_projection_only(bundle, kabora, ngo)
    import_ok(network, "ngo", result.head)
    held = queries.get(ngo.conn, Person, person_id)
    assert (held.pseudonym, held.protection, held.legal_name) == ("W-0500", "full", "")
    assert leaks(database_text(ngo), [EARLY_NAME, *EARLY_WORDS]) == []

    # Positive control: the liaison (full trust) gets the raw history, early name and all.
    for_liaison = open_bundle(network.export("kabora", "liaison"), liaison)
    assert leaks(for_liaison.payload, [EARLY_NAME]) != []


def test_partner_gets_no_elements_links_or_privileged_notes(
    network: Network, tmp_path: Path
) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Siege of Varn")
    incident_id = cases.add_incident(kabora, case_id, "Shelling of the Varn hospital")
    element_id = cases.add_element(
        kabora, case_id, "Gorrimond attack charge", "Directed the Pellwick battery"
    )
    item = add_evidence(kabora, case_id, evidence_file(tmp_path, "a.pdf", b"order of battle"))
    link_to_element = cases.add_link(kabora, item, element_id, strength="strong")
    link_to_incident = cases.add_link(kabora, item, incident_id)
    privileged = cases.add_note(kabora, case_id, "Strategy memo Xylocarp", klass="privileged")
    protected = cases.add_note(
        kabora, case_id, "Moved to the Quillfeather house", klass="protected"
    )
    about_element = cases.add_note(kabora, case_id, "Weak on Gorrimond", subject=element_id)
    open_note = cases.add_note(kabora, case_id, "Ask for the Marrowlight footage")
    release(kabora, case_id, item, ngo.origin, with_file_name=False)

    network.share("kabora", case_id, "ngo")
    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    # (and the grant naming the NGO, where grants are recorded; the release to it)
    expected = {"case", "incident", "evidence", "release", "custody", "note"}
    assert kinds_in(bundle) - {"grant"} == expected
    grants = [op for cs in frames_of(bundle) for op in cs.ops if op.entity == "grant"]
    assert all(op.fields.get("grantee") == ngo.origin for op in grants)
    hidden = [element_id, link_to_element, link_to_incident, privileged, protected, about_element]
    hidden += ["Gorrimond", "Pellwick", "Xylocarp", "Quillfeather", "strong"]
    assert leaks(bundle.everything, hidden) == []
    assert not any(op.sealed for cs in frames_of(bundle) for op in cs.ops)  # not even a trace
    assert leaks(bundle.payload, [incident_id, item, open_note, "Marrowlight"]) != []

    import_ok(network, "ngo", result.head)
    for table in ("elements", "links"):
        assert ngo.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert {str(r[0]) for r in ngo.conn.execute("SELECT id FROM notes")} == {open_note}
    assert leaks(database_text(ngo), hidden) == []


def test_partner_gets_no_original_file_names_unless_released(
    network: Network, tmp_path: Path
) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Case with files")
    secret_name = "Statement_Yselda_Brannock_Haverwick.pdf"
    released_name = "drone_overflight_Marrowlight.mp4"
    unnamed = add_evidence(kabora, case_id, evidence_file(tmp_path, secret_name, b"statement"))
    named = add_evidence(kabora, case_id, evidence_file(tmp_path, released_name, b"video"))
    # A plain name such as photo.jpg must not disturb fields of a fixed set (type "photo").
    plain = add_evidence(kabora, case_id, evidence_file(tmp_path, "photo.jpg", b"a photo"))
    release(kabora, case_id, unnamed, ngo.origin, with_file_name=False)
    release(kabora, case_id, named, ngo.origin, with_file_name=True)
    release(kabora, case_id, plain, ngo.origin, with_file_name=False)

    network.share("kabora", case_id, "ngo")
    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert leaks(bundle.everything, [secret_name, "Yselda", "Brannock", "Haverwick"]) == []
    assert leaks(bundle.payload, [released_name]) != []  # positive control
    import_ok(network, "ngo", result.head)
    assert queries.get(ngo.conn, Evidence, unnamed).original_name == ""
    assert queries.get(ngo.conn, Evidence, named).original_name == released_name
    shown = queries.get(ngo.conn, Evidence, plain)
    assert (shown.original_name, shown.type) == ("", "photo")
    assert shown.title == queries.get(kabora.conn, Evidence, plain).ern  # not "photo.jpg"
    assert leaks(database_text(ngo), [secret_name, "Yselda", "Brannock"]) == []


def test_partner_gets_only_released_evidence_bytes(network: Network, tmp_path: Path) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Case with three files")
    contents = [b"released photo Quembry", b"unreleased photo Xanthor", b"later release Oplinde"]
    items = [
        add_evidence(kabora, case_id, evidence_file(tmp_path, f"f{n}.jpg", content))
        for n, content in enumerate(contents)
    ]
    add_custody(kabora, items[1], "examined", note="examined by Dr Xanthor")
    shas = [hashlib.sha256(content).hexdigest() for content in contents]
    release(kabora, case_id, items[0], ngo.origin, with_file_name=False)
    network.share("kabora", case_id, "ngo")

    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert blob_digests(bundle) == [shas[0]]
    assert contents[0] in bundle.payload  # positive control
    assert leaks(bundle.everything, [items[1], items[2], shas[1], shas[2], "Xanthor"]) == []
    import_ok(network, "ngo", result.head)
    assert {str(r[0]) for r in ngo.conn.execute("SELECT id FROM evidence")} == {items[0]}
    assert {str(r[0]) for r in ngo.conn.execute("SELECT sha256 FROM blobs")} == {shas[0]}

    # A later release sends that item and its bytes, and only those.
    network.send("ngo", "kabora")
    release(kabora, case_id, items[2], ngo.origin, with_file_name=False)
    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert blob_digests(bundle) == [shas[2]]
    assert leaks(bundle.everything, [items[1], shas[1], "Xanthor"]) == []
    import_ok(network, "ngo", result.head)
    assert {str(r[0]) for r in ngo.conn.execute("SELECT sha256 FROM blobs")} == {shas[0], shas[2]}

    # A withdrawn release withdraws the item at the partner (what it got, it keeps).
    network.send("ngo", "kabora")
    unrelease(kabora, items[2], ngo.origin)
    result = network.export("kabora", "ngo")
    assert blob_digests(open_bundle(result, ngo)) == []
    import_ok(network, "ngo", result.head)
    assert queries.get(ngo.conn, Evidence, items[2]).withdrawn == 1
    assert queries.get(ngo.conn, Evidence, items[0]).withdrawn == 0


def test_evidence_by_digest_gets_nothing(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The NGO knows the SHA-256 of a file it was never given (it appears in custody logs
    and filings), creates an evidence record naming it, and sends a bundle whose signed
    holdings say it lacks that record, so that the office sends the record back with the
    file. The office sends the record back, never the bytes."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Case with a secret file")
    secret = b"unreleased intercept transcript: Corvane Dellish"
    add_evidence(kabora, case_id, evidence_file(tmp_path, "intercept.txt", secret))
    sha = hashlib.sha256(secret).hexdigest()
    network.share("kabora", case_id, "ngo")
    import_ok(network, "ngo", network.export("kabora", "ngo").head)

    bait = new_id()
    fields = {"case_id": case_id, "ern": "NGO-0001", "title": "bait", "sha256": sha}
    ngo.commit(case_id, [Draft("evidence", bait, "create", {**fields, "size": len(secret)})])
    real_holdings = export_module.held_here

    def without_own(conn: Connection) -> Holdings:
        held = real_holdings(conn)
        held.pop(ngo.origin, None)  # "we lost our own work: send it back"
        return held

    monkeypatch.setattr(export_module, "held_here", without_own)
    import_ok(network, "kabora", network.export("ngo", "kabora").head)
    monkeypatch.undo()
    assert queries.get(kabora.conn, Evidence, bait).sha256 == sha
    before = state_digest(kabora.conn)

    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert blob_digests(bundle) == []
    assert leaks(bundle.everything, [secret.decode(), "Corvane", "Dellish"]) == []
    own = [cs for cs in frames_of(bundle) if cs.origin == ngo.origin]
    assert [op.entity_id for cs in own for op in cs.ops] == [bait]  # its record, no bytes
    assert state_digest(kabora.conn) == before  # no custody event says the file left
    network.receive("ngo", result.head)
    assert ngo.conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha,)).fetchone() is None


def test_partner_gets_no_other_office_raw_changesets(network: Network) -> None:
    """Dressa worked on Kabora's case; Kabora revoked the liaison's old key. The NGO gets
    Dressa's open records under Kabora's signature as of now, and neither Dressa's raw
    changesets, nor its origin, nor key statements that do not concern it."""
    kabora, dressa, ngo = network.ws["kabora"], network.ws["dressa"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Joint case")
    network.share("kabora", case_id, "dressa")
    import_ok(network, "dressa", network.export("kabora", "dressa").head)
    incident_id = cases.add_incident(dressa, case_id, "Dressa's incident at Olvenmark")
    internal = cases.add_note(dressa, case_id, "Dressa internal: Brisketh lead", klass="privileged")
    import_ok(network, "kabora", network.export("dressa", "kabora").head)
    from sync.trust import revoke_peer

    revoke_peer(kabora, network.peer("kabora", "liaison"), 0, "test statement")

    network.share("kabora", case_id, "ngo")
    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert_projection_only(bundle, kabora, ngo)
    assert bundle.manifest["introductions"] == []
    assert set(bundle.manifest["holdings"]) <= {kabora.origin, ngo.origin}
    others = [dressa.origin, network.ws["liaison"].origin, internal, "Brisketh"]
    assert leaks(bundle.everything, others) == []
    assert leaks(bundle.payload, [incident_id, "Olvenmark"]) != []  # under Kabora's signature
    import_ok(network, "ngo", result.head)
    assert queries.get(ngo.conn, Incident, incident_id).title == "Dressa's incident at Olvenmark"
    origins = {str(r[0]) for r in ngo.conn.execute("SELECT DISTINCT origin FROM changesets")}
    assert origins == {kabora.origin}


def test_partner_projection_updates_apply_at_the_partner(network: Network, tmp_path: Path) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Case that moves")
    person_id = cases.add_person(kabora, case_id, "witness", protected=True, name="Hidden Name")
    incident_id = cases.add_incident(kabora, case_id, "First account")
    note_id = cases.add_note(kabora, case_id, "Open remark")
    item = add_evidence(kabora, case_id, evidence_file(tmp_path, "p.jpg", b"photo"))
    release(kabora, case_id, item, ngo.origin, with_file_name=False)
    network.share("kabora", case_id, "ngo")
    import_ok(network, "ngo", network.export("kabora", "ngo").head)
    network.send("ngo", "kabora")

    cases.update_case(kabora, case_id, title="Case that moved", status="under review")
    cases.update_record(kabora, Person, person_id, languages="Varosan", legal_name="New Name")
    cases.update_record(kabora, Incident, incident_id, status="corroborated")
    cases.update_record(kabora, Evidence, item, description="Taken at dawn")
    cases.update_record(kabora, Note, note_id, text="Open remark, revised")
    add_custody(kabora, item, "examined", note="seen again")
    second = cases.add_incident(kabora, case_id, "Second account")
    cases.withdraw(kabora, Incident, second)  # never seen by the NGO: no trace of it
    cases.withdraw(kabora, Note, note_id)
    assert has_news_for(kabora, network.peer("kabora", "ngo"))

    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    assert_projection_only(bundle, kabora, ngo)
    assert leaks(bundle.everything, ["New Name", "Hidden Name", second]) == []
    import_ok(network, "ngo", result.head)
    case = queries.get(ngo.conn, Case, case_id)
    assert (case.title, case.status) == ("Case that moved", "under review")
    person = queries.get(ngo.conn, Person, person_id)
    assert (person.languages, person.legal_name) == ("Varosan", "")
    assert queries.get(ngo.conn, Incident, incident_id).status == "corroborated"
    assert queries.get(ngo.conn, Evidence, item).description == "Taken at dawn"
    # Revised, then withdrawn before the export: the NGO sees it withdrawn, and not the
    # revision (a withdrawn record's later values are not projected).
    note = queries.get(ngo.conn, Note, note_id)
    assert (note.text, note.withdrawn) == ("Open remark", 1)
    events = ngo.conn.execute("SELECT note FROM custody_events WHERE evidence_id = ?", (item,))
    assert "seen again" in {str(r[0]) for r in events}
    assert ngo.conn.execute("SELECT count(*) FROM conflicts").fetchone()[0] == 0
    # Nothing new: no changeset to send once the NGO has acknowledged it.
    network.send("ngo", "kabora")
    network.send("kabora", "ngo")
    network.send("ngo", "kabora")
    assert network.export("kabora", "ngo").changesets == 0


def test_partner_note_applies_at_the_office(network: Network) -> None:
    """The NGO writes about records it was given by projection, by their ids: its raw,
    signed changeset applies at the office, and is not projected back to it."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Case the NGO documents")
    person_id = cases.add_person(kabora, case_id, "victim", protected=True, name="Secret")
    network.share("kabora", case_id, "ngo")
    import_ok(network, "ngo", network.export("kabora", "ngo").head)

    note_id = cases.add_note(ngo, case_id, "Interviewed again on 3 May", subject=person_id)
    incident_id = cases.add_incident(ngo, case_id, "Account gathered by the NGO")
    report = network.send("ngo", "kabora")
    assert report.status == "imported" and report.quarantined == 0, report
    note = queries.get(kabora.conn, Note, note_id)
    assert (note.text, note.subject_id) == ("Interviewed again on 3 May", person_id)
    assert queries.get(kabora.conn, Incident, incident_id).case_id == case_id
    signer = kabora.conn.execute(
        "SELECT origin FROM changesets c WHERE c.id = (SELECT substr(op_ref, 1, 64)"
        " FROM field_state WHERE entity = 'note' AND entity_id = ? AND field = '*')",
        (note_id,),
    ).fetchone()[0]
    assert signer == ngo.origin  # the NGO's own signature, as it sent it

    # The office's next projection does not send the NGO its own records back, but does
    # send what the office wrote about them.
    cases.update_case(kabora, case_id, summary="Updated after the NGO's note")
    reply = cases.add_note(kabora, case_id, "Corroborated by our footage", subject=incident_id)
    result = network.export("kabora", "ngo")
    bundle = open_bundle(result, ngo)
    created = {op.entity_id for cs in frames_of(bundle) for op in cs.ops if op.kind == "create"}
    assert created == {reply}
    assert not {note_id, incident_id} & {op.entity_id for cs in frames_of(bundle) for op in cs.ops}
    import_ok(network, "ngo", result.head)
    assert queries.get(ngo.conn, Note, reply).subject_id == incident_id


# -- the projection stays with its reader ----------------------------------------------------


def test_projection_is_never_applied_or_sent_to_anyone_else(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The office keeps its projection apart: it never applies it, never sends it to a
    full-trust peer. A hostile NGO that sends it back changes nothing at the office, and
    one that passes it on to another office has it left out there, with the reason."""
    kabora, dressa, ngo = network.ws["kabora"], network.ws["dressa"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Case")
    cases.add_person(kabora, case_id, "witness", protected=True, name="Secret")
    network.share("kabora", case_id, "ngo", "dressa")
    before = state_digest(kabora.conn)
    result = network.export("kabora", "ngo")
    projected = [frame.body for frame in open_bundle(result, ngo).frames]
    assert state_digest(kabora.conn) == before
    count = "SELECT count(*) FROM changesets WHERE author LIKE 'projection for %'"
    assert kabora.conn.execute(count).fetchone()[0] == 0
    import_ok(network, "ngo", result.head)
    for_dressa = open_bundle(network.export("kabora", "dressa"), dressa)
    assert all(frame.body not in projected for frame in for_dressa.frames)

    # A hostile NGO sends everything it holds back, and on to Dressa.
    monkeypatch.setattr(export_module, "projected_for", lambda author: None)
    with ngo.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO case_shares(case_id, peer_origin, shared_at) VALUES (?,?,?)",
            (case_id, dressa.origin, "2027-01-01"),
        )
        conn.execute("UPDATE peers SET holdings = ?", (json.dumps({ngo.origin: []}),))
    back = network.export("ngo", "kabora")
    report = network.receive("kabora", back.head)[0]
    assert report.status == "imported" and report.quarantined == 0, report
    # A partner passes on only what it signed (sync.partner_bundles): none of it is taken.
    assert (report.duplicates, report.changesets) == (0, 0)
    assert len(report.not_taken) == 1 and "Not taken: Varosa" in report.not_taken[0]
    assert state_digest(kabora.conn) == before
    assert kabora.conn.execute(count).fetchone()[0] == 0

    dressa_before = state_digest(dressa.conn)
    report = network.send("ngo", "dressa")
    assert (report.quarantined, report.changesets) == (0, 0), report
    assert len(report.not_taken) == 1
    assert f"passed on {len(projected)} changeset" in report.not_taken[0]
    assert "signed by Kabora field office (office, " in report.not_taken[0]
    assert state_digest(dressa.conn) == dressa_before
    assert dressa.conn.execute("SELECT 1 FROM quarantine").fetchone() is None
    assert json.dumps(report.to_json())  # the report stays printable


def test_a_restored_office_projects_in_a_new_epoch(network: Network, tmp_path: Path) -> None:
    """Restored from a backup, the office's record of what it projected is behind what the
    NGO holds: it projects in a new epoch, so no (origin, epoch, seq) is written twice,
    and the NGO's holdings of the old projection do not count as our own work missing."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Case before the backup")
    network.share("kabora", case_id, "ngo")
    import_ok(network, "ngo", network.export("kabora", "ngo").head)
    network.send("ngo", "kabora")
    saved = tmp_path / "kabora.valise-backup"
    backup.write_backup(kabora, saved)
    cases.update_case(kabora, case_id, summary="Written after the backup")
    import_ok(network, "ngo", network.export("kabora", "ngo").head)
    network.send("ngo", "kabora")
    first_epochs = {int(r[0]) for r in kabora.conn.execute("SELECT epoch FROM projection_streams")}

    backup.restore_backup(saved, tmp_path / "restored", PASSPHRASE)
    restored = open_workspace(tmp_path / "restored", PASSPHRASE)
    try:
        cases.update_case(restored, case_id, title="Retitled after the restore")
        peer = peers.peer_by_origin(restored, ngo.origin)
        assert peer is not None
        result = export_bundle(restored, [peer], network.new_stick())
        [cs] = frames_of(open_bundle(result, ngo))
        assert cs.epoch not in first_epochs and cs.seq == 1
        import_ok(network, "ngo", result.head)
        case = queries.get(ngo.conn, Case, case_id)
        assert (case.title, case.summary) == (
            "Retitled after the restore",
            "Written after the backup",
        )

        assert restored.awaiting_own_work
        to_kabora = peers.peer_by_origin(ngo, kabora.origin)
        assert to_kabora is not None
        back = export_bundle(ngo, [to_kabora], network.new_stick())
        report = import_paths(restored, [back.head])[0]
        assert report.status == "imported", report.message
        assert (
            not restored.awaiting_own_work
        )  # the NGO's holdings of our projection are not our work
    finally:
        restored.close()


def test_a_case_withdrawn_before_the_partner_saw_it_sends_nothing_until_restored(
    network: Network,
) -> None:
    """Found by the convergence machine: a case withdrawn before it was ever projected to
    a partner sent the partner its grant alone, which waited there for a case that never
    came and went again in every bundle. Nothing goes until the case is restored."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Withdrawn before sharing")
    cases.withdraw(kabora, Case, case_id)
    network.share("kabora", case_id, "ngo")

    result = network.export("kabora", "ngo")
    assert result.changesets == 0
    import_ok(network, "ngo", result.head)
    assert ngo.conn.execute("SELECT count(*) FROM parked_changesets").fetchone()[0] == 0

    cases.restore_case(kabora, case_id)
    import_ok(network, "ngo", network.export("kabora", "ngo").head)
    assert queries.get(ngo.conn, Case, case_id).title == "Withdrawn before sharing"
