"""A late ungrant or revocation takes back what it refuses (sync.takeback, storage.takeback).

Each test lets an office apply a member's changesets before the ungrant (or the revocation)
that refuses them reaches it, while another office gets the ungrant first, and checks that
both end up holding the same history, the same state and the same quarantine sentence.
"""

from __future__ import annotations

from storage import cases, evidence, key_trust, releases
from storage.digest import state_digest
from storage.records import Note
from storage.workspace import Workspace
from sync import peers, trust
from tests.sync.conftest import Network
from tests.sync.test_trust_authority import name_liaison_as_authority


def _shared_case(network: Network) -> str:
    """A case of Kabora's that Dressa and the liaison hold, everyone up to date."""
    case_id = cases.add_case(network.ws["kabora"], "Shelling of the Varosa market", "first")
    network.share("kabora", case_id, "dressa", "liaison")
    for sender, receiver in (("kabora", "dressa"), ("kabora", "liaison")):
        network.send(sender, receiver)
    for sender, receiver in (("liaison", "kabora"), ("dressa", "kabora")):
        network.send(sender, receiver)
    return case_id


def _last_changeset(ws: Workspace) -> str:
    row = ws.conn.execute(
        "SELECT id FROM changesets WHERE origin = ? ORDER BY rowid DESC LIMIT 1", (ws.origin,)
    ).fetchone()
    return str(row[0])


def _held(ws: Workspace, cs_id: str) -> list[tuple[str, str]]:
    rows = ws.conn.execute("SELECT held_for, reason FROM quarantine WHERE id = ?", (cs_id,))
    return [(str(r[0]), str(r[1])) for r in rows]


def _applied(ws: Workspace, cs_id: str) -> bool:
    return ws.conn.execute("SELECT 1 FROM changesets WHERE id = ?", (cs_id,)).fetchone() is not None


def _summary(ws: Workspace, case_id: str) -> str:
    return str(ws.conn.execute("SELECT summary FROM cases WHERE id = ?", (case_id,)).fetchone()[0])


def _liaison_writes_then_is_ungranted(network: Network, case_id: str) -> None:
    """Dressa applies what the liaison wrote; Kabora, which never saw it, removes the
    liaison; the ungrant then reaches Dressa."""
    assert network.send("liaison", "dressa").status == "imported"
    peers.unshare_case(network.ws["kabora"], case_id, network.peer("kabora", "liaison"))
    network.send("liaison", "kabora")  # held back at Kabora: the ungrant came first there


def test_edit_applied_before_the_ungrant_arrived_is_taken_back(network: Network) -> None:
    kabora, dressa, liaison = (network.ws[n] for n in ("kabora", "dressa", "liaison"))
    case_id = _shared_case(network)
    cases.update_case(liaison, case_id, summary="edited at the liaison")
    edit = _last_changeset(liaison)
    _liaison_writes_then_is_ungranted(network, case_id)
    assert _summary(dressa, case_id) == "edited at the liaison"

    report = network.send("kabora", "dressa")

    [(held_for, sentence)] = _held(dressa, edit)
    assert held_for == "no grant"
    assert (
        "Tribunal liaison" in sentence and "its access was removed after its changeset" in sentence
    )
    assert _held(dressa, edit) == _held(kabora, edit)
    assert sentence in report.quarantine_reasons
    assert not _applied(dressa, edit)
    assert _summary(dressa, case_id) == "first"
    assert state_digest(dressa.conn) == state_digest(kabora.conn)


def test_revocation_arriving_late_takes_back_the_thiefs_changes(network: Network) -> None:
    """Kabora's laptop is stolen; the liaison (Dressa's authority) revokes its key. The thief
    writes in the case and reaches Dressa before the revocation does: when it does, Dressa
    takes the thief's edit back, with the sentence the liaison wrote for it."""
    kabora, dressa, liaison = (network.ws[n] for n in ("kabora", "dressa", "liaison"))
    case_id = _shared_case(network)
    name_liaison_as_authority(network, "dressa")
    _, last_good = trust.last_seq_of(liaison, kabora.origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")
    cases.update_case(kabora, case_id, summary="written by the thief")
    theft = _last_changeset(kabora)
    assert network.send("kabora", "dressa").changesets == 1
    assert _summary(dressa, case_id) == "written by the thief"
    network.send("dressa", "liaison")  # the liaison gets the thief's edit from Dressa
    [(_, at_liaison)] = _held(liaison, theft)

    network.send("liaison", "dressa")  # the revocation arrives

    assert _held(dressa, theft) == [("", at_liaison)]
    assert (
        f"revoked after its changeset {last_good}" in at_liaison and "laptop stolen" in at_liaison
    )
    assert _summary(dressa, case_id) == "first"
    assert state_digest(dressa.conn) == state_digest(liaison.conn)


def test_a_record_added_past_the_cut_disappears_and_what_builds_on_it_waits(
    network: Network,
) -> None:
    """The liaison adds a note past its cut; Dressa applies it and edits it. When the
    ungrant reaches Dressa the note goes, Dressa's own edit of it waits (parked, as at
    Kabora, which never had the note), and Dressa writes on in a new epoch, so the parked
    edit's sequence number is never used twice."""
    kabora, dressa, liaison = (network.ws[n] for n in ("kabora", "dressa", "liaison"))
    case_id = _shared_case(network)
    note = cases.add_note(liaison, case_id, "A witness saw the convoy at dawn")
    added = _last_changeset(liaison)
    _liaison_writes_then_is_ungranted(network, case_id)
    cases.update_record(dressa, Note, note, text="The convoy came at dawn, two trucks")
    edit = _last_changeset(dressa)
    epoch = dressa.epoch
    network.send("dressa", "kabora")  # Kabora parks Dressa's edit: the note is unknown there

    network.send("kabora", "dressa")

    assert _held(dressa, added) == _held(kabora, added) and _held(dressa, added)[0][0] == "no grant"
    assert dressa.conn.execute("SELECT 1 FROM notes WHERE id = ?", (note,)).fetchone() is None
    for ws in (dressa, kabora):
        assert ws.conn.execute("SELECT 1 FROM parked_changesets WHERE id = ?", (edit,)).fetchone()
    assert dressa.epoch != epoch
    assert state_digest(dressa.conn) == state_digest(kabora.conn)

    cases.update_case(dressa, case_id, title="Written after the note went")
    assert network.send("dressa", "kabora").changesets == 1
    assert state_digest(dressa.conn) == state_digest(kabora.conn)


def test_evidence_taken_back_keeps_its_file_and_comes_back_with_a_new_grant(
    network: Network,
) -> None:
    """Evidence the liaison added past its cut leaves Dressa's case when the ungrant
    arrives, but its file stays in Dressa's encrypted store and the changeset waits held
    back; when Kabora grants the liaison the case again, the item returns with its file."""
    kabora, dressa, liaison = (network.ws[n] for n in ("kabora", "dressa", "liaison"))
    case_id = _shared_case(network)
    photo = network.base / "convoy.jpg"
    photo.write_bytes(b"a photograph of the convoy " * 64)
    item = evidence.add_evidence(liaison, case_id, photo)
    _liaison_writes_then_is_ungranted(network, case_id)
    sha = str(
        dressa.conn.execute("SELECT sha256 FROM evidence WHERE id = ?", (item,)).fetchone()[0]
    )

    network.send("kabora", "dressa")

    assert dressa.conn.execute("SELECT 1 FROM evidence WHERE id = ?", (item,)).fetchone() is None
    assert dressa.conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
    assert state_digest(dressa.conn) == state_digest(kabora.conn)

    network.share("kabora", case_id, "liaison")
    for sender, receiver in (("kabora", "dressa"), ("dressa", "kabora")) * 2:
        network.send(sender, receiver)  # (Kabora's 'sent in bundle' custody goes next time)
    assert dressa.conn.execute("SELECT 1 FROM evidence WHERE id = ?", (item,)).fetchone()
    assert state_digest(dressa.conn) == state_digest(kabora.conn)
    assert b"".join(evidence.read_evidence(dressa, item)) == photo.read_bytes()


def test_a_release_made_past_the_cut_is_taken_back_and_nothing_goes_to_the_partner(
    network: Network,
) -> None:
    """A release is withdrawn, never deleted, by people; but a release whose changeset a
    late ungrant refuses was never valid: it leaves Dressa's case, and what Dressa would
    send the NGO is what Kabora, which had the ungrant first, would send."""
    kabora, dressa, liaison = (network.ws[n] for n in ("kabora", "dressa", "liaison"))
    case_id = _shared_case(network)
    photo = network.base / "market.jpg"
    photo.write_bytes(b"a photograph of the market " * 64)
    item = evidence.add_evidence(kabora, case_id, photo)
    for receiver in ("dressa", "liaison"):
        network.send("kabora", receiver)
    ngo = network.peer("liaison", "ngo")
    releases.release_evidence(
        liaison, item, grantee_origin=ngo.origin, grantee_role="ngo", grantee_name=ngo.office_name
    )
    _liaison_writes_then_is_ungranted(network, case_id)
    assert releases.released_items(dressa.conn, case_id, ngo.origin, "ngo")

    network.send("kabora", "dressa")

    for ws in (kabora, dressa):
        assert not releases.released_items(ws.conn, case_id, ngo.origin, "ngo")
    for sender, receiver in (("dressa", "kabora"), ("kabora", "dressa")):
        network.send(sender, receiver)  # the custody of the item's first journey settles
    assert state_digest(dressa.conn) == state_digest(kabora.conn)


def test_a_revocation_signed_here_with_an_earlier_point_takes_back_what_came_after(
    network: Network,
) -> None:
    """The liaison learns that Kabora's laptop was stolen before its last edit arrived, and
    revokes the key from the last changeset it trusts: the later edit, already applied at
    the liaison and at Dressa, is taken back at both, with one sentence."""
    kabora, dressa, liaison = (network.ws[n] for n in ("kabora", "dressa", "liaison"))
    case_id = _shared_case(network)
    name_liaison_as_authority(network, "dressa")
    cases.update_case(kabora, case_id, summary="before the loss")
    _, last_good = trust.last_seq_of(kabora, kabora.origin)
    cases.update_case(kabora, case_id, summary="written by the thief")
    theft = _last_changeset(kabora)
    for receiver in ("dressa", "liaison"):
        network.send("kabora", receiver)

    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")

    [(held_for, sentence)] = _held(liaison, theft)
    assert held_for == "" and f"revoked after its changeset {last_good}" in sentence
    assert _summary(liaison, case_id) == "before the loss"
    network.send("liaison", "dressa")
    assert _held(dressa, theft) == [("", sentence)]
    assert state_digest(dressa.conn) == state_digest(liaison.conn)


def test_a_stolen_authority_keys_revocation_stops_counting_when_its_own_revocation_arrives(
    network: Network,
) -> None:
    """Dressa names the liaison and Kabora as its authorities. The liaison's laptop is
    stolen; Kabora revokes the liaison's key. The thief, with the liaison's key, revokes the
    NGO's key and reaches Dressa first: there the NGO is revoked. When Kabora's revocation
    of the liaison arrives, the thief's statement, signed after the liaison's revocation
    point, is taken back like the thief's other work: the NGO is no longer revoked, the
    statement waits in quarantine with the sentence for a revoked key, and Kabora, which
    had the revocation first, counts it for nothing too."""
    kabora, dressa, liaison = (network.ws[n] for n in ("kabora", "dressa", "liaison"))
    for authority in ("liaison", "kabora"):
        peer = network.peer("dressa", authority)
        trust.name_authority(dressa, peer.peer_id, peer.fingerprint)
    _, last_good = trust.last_seq_of(kabora, liaison.origin)
    trust.revoke_peer(kabora, network.peer("kabora", "liaison"), last_good, "laptop stolen")
    theft = trust.revoke_peer(liaison, network.peer("liaison", "ngo"), 0, "we say it was lost")
    assert network.send("liaison", "dressa").status == "imported"
    assert network.peer("dressa", "ngo").revoked_after == 0

    report = network.send("kabora", "dressa")

    assert report.status == "imported"
    assert network.peer("dressa", "ngo").revoked_after is None
    assert network.peer("dressa", "liaison").revoked_after == last_good
    assert not _applied(dressa, theft)
    [(held_for, sentence)] = _held(dressa, theft)
    assert (
        held_for == ""
        and sentence == f"signed with a key revoked after its changeset {last_good} (laptop stolen)"
    )
    assert sentence in report.quarantine_reasons
    assert key_trust.current(dressa.conn).revocations.keys() == {liaison.origin}
    assert key_trust.current(kabora.conn).revocations.keys() == {liaison.origin}
    assert trust.advisories_waiting(dressa) == 0
