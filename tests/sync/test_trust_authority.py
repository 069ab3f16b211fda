"""Attacks on who may revoke, rotate, introduce and acknowledge: each tried with real
workspaces and real bundles, each refused with a sentence and leaving nothing changed.

The network: Kabora and Dressa (offices), the tribunal liaison, and an NGO. Offices set up
by the tribunal name the liaison's key as their authority over revocation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from storage import audit, canonical, cases, key_trust, queries
from storage.apply import apply_changeset
from storage.changesets import Changeset, Op, changeset_id
from storage.connection import Connection
from storage.digest import state_digest
from storage.identity import NodeKeys, generate, sign_changeset
from storage.records import Case
from storage.workspace import Draft, Workspace, new_id
from sync import export, peers, trust
from sync.cards import parse_card
from sync.errors import SyncError
from sync.peer_state import set_accept_unverified_peers
from tests.sync.conftest import Network, compare_new_keys


def name_liaison_as_authority(network: Network, *holders: str) -> None:
    """Each holder names the tribunal liaison's key as its authority over revocation, as an
    office set up by the tribunal does (after comparing the fingerprint)."""
    for holder in holders:
        liaison = network.peer(holder, "liaison")
        trust.name_authority(network.ws[holder], liaison.peer_id, liaison.fingerprint)


@dataclass(frozen=True)
class Snapshot:
    """What a refused attack must leave as it was: the replicated state, the revocations,
    the peers and the origins known, and the receipts recorded."""

    state: str
    revocations: tuple[tuple[object, ...], ...]
    peers: tuple[tuple[object, ...], ...]
    origins: tuple[tuple[object, ...], ...]
    receipts: int

    @classmethod
    def of(cls, ws: Workspace) -> Snapshot:
        conn = ws.conn
        return cls(
            state_digest(conn),
            tuple(conn.execute("SELECT * FROM revocations ORDER BY origin")),
            tuple(conn.execute("SELECT origin, role, verified_at FROM peers ORDER BY origin")),
            tuple(conn.execute("SELECT origin, office_name FROM origins ORDER BY origin")),
            sum(1 for e in audit.entries(conn, limit=100_000) if e.action == "receipt received"),
        )


def _shared_case(network: Network) -> str:
    """A case of Kabora's that Dressa and the liaison hold."""
    case_id = cases.add_case(network.ws["kabora"], "Case", "start")
    network.share("kabora", case_id, "dressa", "liaison")
    network.send("kabora", "dressa")
    network.send("kabora", "liaison")
    return case_id


def _summary(ws: Workspace, case_id: str) -> str:
    return queries.get(ws.conn, Case, case_id).summary


def _entry(ws: Workspace, ref_start: str) -> trust.RevocationEntry:
    return next(e for e in trust.revocation_entries(ws) if e.statement_id.startswith(ref_start))


def _plant(ws: Workspace, keys: NodeKeys, office: str, case_id: str, ops: list[Op]) -> str:
    """What an attacker controlling `ws` does: record a changeset signed by `keys` (a key
    it made up) as if it had received it, under the office name it chose, so that its next
    bundle carries the changeset and introduces the key."""
    hlc = str(ws.clock.now())
    forged = Changeset(keys.origin, 1, 1, "", hlc, "attacker", case_id, tuple(ops))
    body = forged.encode()
    cs_id = changeset_id(body)
    with ws.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO origins(origin, signing_public, office_name) VALUES (?,?,?)",
            (keys.origin, keys.signing_public, office),
        )
        apply_changeset(conn, forged, cs_id, body, sign_changeset(keys, body))
    return cs_id


def _revocation_op(subject: str, office: str, after: int, reason: str) -> Op:
    fields = {
        "statement": "revoke",
        "subject": subject,
        "epoch": 0,
        "after_seq": after,
        "office_name": office,
        "reason": reason,
        "at": "2026-12-01T10:00:00+00:00",
    }
    return Op("trust", new_id(), "create", fields, {})


# -- who may revoke --------------------------------------------------------------------------


def test_ngo_revoking_an_office_is_only_an_advisory(network: Network) -> None:
    case_id = _shared_case(network)
    liaison, kabora, ngo = network.ws["liaison"], network.ws["kabora"], network.ws["ngo"]
    cs_id = trust.revoke_peer(ngo, network.peer("ngo", "kabora"), 0, "we say it was stolen")
    report = network.send("ngo", "liaison")
    assert report.status == "imported" and report.quarantined == 0

    # The liaison holds the statement as an advisory, says who said what, and it changes
    # nothing: Kabora's next edit applies.
    assert key_trust.current(liaison.conn).revocations == {}
    assert network.peer("liaison", "kabora").revoked_after is None
    advisory = _entry(liaison, cs_id)
    assert advisory.status == "advisory" and advisory.reason == "we say it was stolen"
    assert advisory.signer_label.startswith("Varosa Documentation Project (ngo, ")
    assert advisory.subject_label.startswith("Kabora field office (office, ")
    cases.update_case(kabora, case_id, summary="after the advisory")
    report = network.send("kabora", "liaison")
    assert report.status == "imported" and report.quarantined == 0
    assert _summary(liaison, case_id) == "after the advisory"

    # A person dismisses it: it stays listed, still changes nothing.
    trust.dismiss_advisory(liaison, advisory.short_id)
    assert _entry(liaison, cs_id).status == "dismissed"
    assert key_trust.current(liaison.conn).revocations == {}


def test_confirming_an_advisory_signs_our_own_revocation(network: Network) -> None:
    case_id = _shared_case(network)
    liaison, kabora = network.ws["liaison"], network.ws["kabora"]
    _, last = trust.last_seq_of(liaison, kabora.origin)
    cs_id = trust.revoke_peer(network.ws["ngo"], network.peer("ngo", "kabora"), last, "stolen")
    network.send("ngo", "liaison")
    ours = trust.confirm_advisory(liaison, cs_id[:12])

    assert _entry(liaison, cs_id).status == "confirmed"
    confirmation = _entry(liaison, ours)
    assert confirmation.status == "effective" and confirmation.signer == liaison.origin
    assert network.peer("liaison", "kabora").revoked_after == last
    cases.update_case(kabora, case_id, summary="after the confirmation")
    report = network.send("kabora", "liaison")
    assert report.status == "refused"
    assert f"revoked after its changeset {last} (confirmed: stolen" in report.message
    assert _summary(liaison, case_id) == "start"


def test_office_does_not_revoke_itself_on_a_forwarded_advisory(network: Network) -> None:
    case_id = _shared_case(network)
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    name_liaison_as_authority(network, "kabora", "dressa")
    cs_id = trust.revoke_peer(network.ws["ngo"], network.peer("ngo", "kabora"), 0, "stolen")
    network.send("ngo", "liaison")
    network.send("liaison", "kabora")  # the liaison forwards the statement, as it should

    # Kabora holds the NGO's statement about its own key as an advisory, not as a fact.
    assert _entry(kabora, cs_id).status == "advisory"
    assert kabora.origin not in key_trust.current(kabora.conn).revocations
    assert kabora.conn.execute("SELECT count(*) FROM revocations").fetchone()[0] == 0
    # And nobody acts on it: Kabora's work reaches Dressa through the liaison.
    cases.update_case(kabora, case_id, summary="still Kabora")
    network.send("kabora", "liaison")
    network.share("liaison", case_id, "dressa")
    report = network.send("liaison", "dressa")
    assert report.status == "imported" and report.quarantined == 0
    assert _entry(dressa, cs_id).status == "advisory"
    assert _summary(dressa, case_id) == "still Kabora"


def test_a_revoked_key_cannot_hide_its_late_changesets_from_its_holdings(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thief's bundle claims (in its signed holdings) to hold nothing of its own key
    after the revocation point, but carries a changeset from after it: refused whole."""
    case_id = _shared_case(network)
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    _, last_good = trust.last_seq_of(liaison, kabora.origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")
    cases.update_case(kabora, case_id, summary="written by the thief")
    honest = export.held_here

    def hiding(conn: Connection) -> dict[str, list[list[int]]]:
        held = honest(conn)
        held.pop(kabora.origin, None)
        return held

    monkeypatch.setattr(export, "held_here", hiding)
    before = Snapshot.of(liaison)
    report = network.send("kabora", "liaison")
    assert report.status == "refused"
    assert report.message.startswith("Refused: this bundle is signed by Kabora field office")
    assert f"with a key revoked after its changeset {last_good} (laptop stolen" in report.message
    assert Snapshot.of(liaison) == before


def test_authority_revocation_takes_effect_and_can_be_retracted(network: Network) -> None:
    case_id = _shared_case(network)
    kabora, dressa, liaison = network.ws["kabora"], network.ws["dressa"], network.ws["liaison"]
    name_liaison_as_authority(network, "kabora")
    network.share("dressa", case_id, "kabora")
    _, last_good = trust.last_seq_of(liaison, dressa.origin)
    revocation = trust.revoke_peer(
        liaison, network.peer("liaison", "dressa"), last_good, "laptop stolen"
    )
    network.send("liaison", "kabora")
    assert _entry(kabora, revocation).status == "effective"
    assert network.peer("kabora", "dressa").revoked_after == last_good
    cases.update_case(dressa, case_id, summary="Dressa, after the revocation")
    stale = network.export("dressa", "kabora")
    before = Snapshot.of(kabora)
    refused = network.receive("kabora", stale.head)[0]
    assert refused.status == "refused"
    assert refused.message.startswith("Refused: this bundle is signed by Dressa field office")
    assert "laptop stolen; by Tribunal liaison (liaison, " in refused.message
    assert Snapshot.of(kabora) == before

    # The NGO's retraction is an advisory: the revocation stands. (A partner's bundles carry
    # no statement about another office's key, so a hostile one writes the retraction by
    # hand, from the statement's id.)
    revoked = trust.find_statement(liaison, revocation[:12])
    retract = {
        "statement": "retract",
        "subject": revoked.subject,
        "epoch": revoked.point[0],
        "after_seq": revoked.point[1],
        "office_name": revoked.office_name,
        "reason": "found it",
        "retracts": revoked.ref,
        "at": "2026-12-07T09:00:00+00:00",
    }
    ngo_retraction = network.ws["ngo"].commit(
        "", [Draft("trust", new_id(), "create", retract)], audit_action="revocation retracted"
    )
    network.send("ngo", "kabora")
    assert _entry(kabora, ngo_retraction).status == "advisory"
    assert network.peer("kabora", "dressa").revoked_after == last_good

    # The laptop turns up: the liaison retracts, and Dressa's work is accepted again.
    retraction = trust.retract_revocation(liaison, revocation[:12], "laptop recovered")
    network.send("liaison", "kabora")
    assert _entry(kabora, revocation).status == "retracted"
    assert _entry(kabora, revocation).retracted_by == retraction[:12]
    assert network.peer("kabora", "dressa").revoked_after is None
    report = network.send("dressa", "kabora")
    assert report.status == "imported", report.message
    assert _summary(kabora, case_id) == "Dressa, after the revocation"


def test_work_quarantined_under_a_retracted_revocation_applies_when_sent_again(
    network: Network,
) -> None:
    """Kabora revoked Dressa's key itself (it counts at Kabora; at the liaison it is an
    advisory), so Dressa's edit forwarded by the liaison is quarantined at Kabora. Kabora
    retracts: the liaison sends the edit again (Kabora's holdings lack it) and it applies."""
    case_id = _shared_case(network)
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    _, last_good = trust.last_seq_of(kabora, dressa.origin)
    revocation = trust.revoke_peer(kabora, network.peer("kabora", "dressa"), last_good, "lost")
    network.send("kabora", "liaison")
    cases.update_case(dressa, case_id, summary="Dressa's edit")
    network.share("dressa", case_id, "liaison")
    network.send("dressa", "liaison")
    report = network.send("liaison", "kabora")
    assert report.quarantined == 1 and "revoked" in report.quarantine_reasons[0]
    assert _summary(kabora, case_id) == "start"

    trust.retract_revocation(kabora, revocation[:12], "found the laptop")
    report = network.send("liaison", "kabora")
    assert report.status == "imported" and report.changesets == 1, report
    assert _summary(kabora, case_id) == "Dressa's edit"
    assert kabora.conn.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_a_retraction_counts_whatever_order_the_statements_arrive_in(network: Network) -> None:
    """Dressa receives the liaison's revocation of the NGO's key, then the retraction;
    Kabora receives both at once. Both end with the key unrevoked and list the same."""
    liaison = network.ws["liaison"]
    name_liaison_as_authority(network, "kabora", "dressa")
    revocation = trust.revoke_peer(liaison, network.peer("liaison", "ngo"), 0, "lost")
    first = network.export("liaison", "kabora", "dressa")
    trust.retract_revocation(liaison, revocation[:12], "found")
    second = network.export("liaison", "kabora", "dressa")
    network.receive("dressa", first.head)
    assert network.peer("dressa", "ngo").revoked_after == 0
    network.receive("dressa", second.head)
    network.receive("kabora", second.head)
    listed = {}
    for holder in ("kabora", "dressa"):
        assert network.peer(holder, "ngo").revoked_after is None
        listed[holder] = [
            (e.statement_id, e.kind, e.status) for e in trust.revocation_entries(network.ws[holder])
        ]
    assert sorted(kind_status for _, *kind_status in listed["kabora"]) == [
        ["retract", "effective"],
        ["revoke", "retracted"],
    ]
    assert listed["kabora"] == listed["dressa"]


# -- rotation ---------------------------------------------------------------------------------


def test_rotation_after_revocation_is_not_adopted(network: Network) -> None:
    case_id = _shared_case(network)
    kabora, dressa, liaison = network.ws["kabora"], network.ws["dressa"], network.ws["liaison"]
    name_liaison_as_authority(network, "dressa")
    old_origin = kabora.origin
    _, last_good = trust.last_seq_of(liaison, old_origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")

    # The thief has the laptop and the passphrase: it replaces the stolen key and writes.
    trust.rotate_identity(kabora)
    cases.update_case(kabora, case_id, summary="the thief's new key")
    before = Snapshot.of(liaison)
    report = network.receive("liaison", network.export("kabora", "liaison").head)[0]
    assert report.status == "refused"
    assert report.message.startswith(
        "Refused: this bundle comes from new keys that the key of Kabora field office"
    )
    assert f"after that key was revoked (after its changeset {last_good}" in report.message
    assert "not adopted" in report.message
    assert Snapshot.of(liaison) == before
    assert peers.peer_by_origin(liaison, kabora.origin) is None

    # Dressa hears of the rotation before the revocation: it adopts the new key on
    # probation, then, once the revocation arrives, refuses it from its first changeset.
    assert network.send("kabora", "dressa").status == "parked"  # on probation
    adopted = peers.peer_by_origin(dressa, kabora.origin)
    assert adopted is not None and not adopted.verified
    [read] = compare_new_keys(dressa, kabora.origin)  # the thief reads the digits out
    assert read.status == "imported", read.message
    network.send("liaison", "dressa")
    trust_here = key_trust.current(dressa.conn)
    assert kabora.origin not in trust_here.honoured_rotations
    assert trust_here.revocations[kabora.origin].point == key_trust.EVERYTHING
    assert network.peer("dressa", "kabora").revoked_after == 0
    cases.update_case(kabora, case_id, summary="the thief again")
    before = Snapshot.of(dressa)
    report = network.send("kabora", "dressa")
    assert report.status == "refused" and "revoked" in report.message
    assert Snapshot.of(dressa) == before


def test_new_keys_of_a_revoked_key_are_refused_when_the_bundle_hides_the_rotation(
    network: Network,
) -> None:
    """The thief rotates the stolen key after its revocation, then removes the rotation
    from its own history so the bundle's holdings hide when it was made: without a
    rotation that counts here, the bundle from the new keys is refused whole."""
    case_id = _shared_case(network)
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    old_origin = kabora.origin
    _, last_good = trust.last_seq_of(liaison, old_origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")
    trust.rotate_identity(kabora)
    cases.update_case(kabora, case_id, summary="the thief's new key")
    with kabora.transaction() as conn:
        conn.execute("DELETE FROM changesets WHERE origin = ? AND seq > ?", (old_origin, last_good))
    # New keys are on probation, and these are not even recorded as a peer (their old key
    # is revoked): the bundle is kept unread. An office that accepts unverified peers
    # reads it, and refuses it once its statements show no rotation that counts.
    assert network.send("kabora", "liaison").status == "parked"
    assert peers.peer_by_origin(liaison, kabora.origin) is None
    set_accept_unverified_peers(liaison, True)
    before = Snapshot.of(liaison)
    [report] = network.receive("liaison")
    assert report.status == "refused"
    assert report.message.startswith(
        "Refused: this bundle comes from new keys that the key of Kabora field office"
    )
    assert f"was revoked after its changeset {last_good} (by Tribunal liaison" in report.message
    assert Snapshot.of(liaison) == before
    assert _summary(liaison, case_id) == "start"


def test_a_rotation_announced_by_the_revocation_point_is_adopted(network: Network) -> None:
    """The liaison revokes Kabora's old key after the changeset that announced its new one
    (which it has not received yet): the new keys' bundle carries the announcement, and the
    rotation counts, on probation."""
    case_id = _shared_case(network)
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    old_origin = kabora.origin
    _, last_seen = trust.last_seq_of(liaison, old_origin)
    old_peer = network.peer("liaison", "kabora")
    trust.rotate_identity(kabora)  # the old key's changeset last_seen + 1
    trust.revoke_peer(liaison, old_peer, last_seen + 1, "old laptop")
    cases.update_case(kabora, case_id, summary="from the new keys")
    # The old key is revoked, so the new keys are not taken on its word: the bundle waits
    # until a person adds the office's new card and compares its fingerprint.
    assert network.send("kabora", "liaison").status == "parked"
    new_card = parse_card(peers.card_bytes(kabora))
    peers.verify_peer(liaison, peers.add_peer(liaison, new_card, "office"), new_card.fingerprint)
    [report] = network.receive("liaison")
    assert report.status == "imported" and report.quarantined == 0, report
    assert _summary(liaison, case_id) == "from the new keys"
    assert key_trust.current(liaison.conn).honoured_rotations == {kabora.origin: old_origin}


def test_a_thief_rotation_forwarded_by_an_office_does_not_let_the_new_key_in(
    network: Network,
) -> None:
    """Dressa adopted the thief's new key before it heard of the revocation and forwards
    the rotation and the new key's work to the liaison (an office may introduce keys): the
    liaison quarantines the rotation and, because of it, everything the new key signed."""
    case_id = _shared_case(network)
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    _, last_good = trust.last_seq_of(liaison, kabora.origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")
    trust.rotate_identity(kabora)
    cases.update_case(kabora, case_id, summary="the thief's new key")
    assert network.send("kabora", "dressa").status == "parked"  # on probation
    [read] = compare_new_keys(network.ws["dressa"], kabora.origin)  # a person is deceived by phone
    assert read.status == "imported", read.message
    network.share("dressa", case_id, "liaison")
    before = state_digest(liaison.conn)
    report = network.send("dressa", "liaison")
    assert report.status == "imported" and report.changesets == 0
    assert report.quarantined == 2
    assert all("revoked" in reason for reason in report.quarantine_reasons)
    assert state_digest(liaison.conn) == before
    assert _summary(liaison, case_id) == "start"
    assert key_trust.current(liaison.conn).revocations[kabora.origin].point == (0, 0)


def test_work_of_a_revoked_key_applied_before_the_revocation_is_not_passed_on(
    network: Network,
) -> None:
    """Dressa applied the thief's edit before the revocation reached it; once it has, it no
    longer passes that edit on (the liaison never even sees it to quarantine it)."""
    case_id = _shared_case(network)
    kabora, dressa, liaison = network.ws["kabora"], network.ws["dressa"], network.ws["liaison"]
    name_liaison_as_authority(network, "dressa")
    _, last_good = trust.last_seq_of(liaison, kabora.origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")
    cases.update_case(kabora, case_id, summary="written by the thief")
    network.send("kabora", "dressa")
    assert _summary(dressa, case_id) == "written by the thief"
    network.send("liaison", "dressa")
    network.share("dressa", case_id, "liaison")
    result = network.export("dressa", "liaison")
    report = network.receive("liaison", result.head)[0]
    assert report.status == "imported" and report.quarantined == 0 and report.changesets == 0
    assert _summary(liaison, case_id) == "start"


def test_rotated_key_does_not_inherit_verified(network: Network) -> None:
    case_id = _shared_case(network)
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    assert network.peer("liaison", "kabora").verified
    trust.rotate_identity(kabora)
    cases.update_case(kabora, case_id, summary="from the new key")
    report = network.send("kabora", "liaison")
    assert report.status == "parked", report.message  # kept unread: on probation
    assert _summary(liaison, case_id) == "start"
    adopted = peers.peer_by_origin(liaison, kabora.origin)
    assert adopted is not None and adopted.role == "office"
    assert not adopted.verified and adopted.verified_at == ""
    replaced = [
        e for e in audit.entries(liaison.conn, limit=100) if e.action == "peer key replaced"
    ]
    assert replaced and json.loads(replaced[0].detail)["fingerprint"] == kabora.fingerprint
    # A person compares the new digits; only then is the new key verified and read.
    [read] = compare_new_keys(liaison, kabora.origin)
    assert read.status == "imported", read.message
    assert _summary(liaison, case_id) == "from the new key"


# -- who may introduce -------------------------------------------------------------------------


def test_revoked_key_cannot_introduce_a_fresh_key(network: Network) -> None:
    case_id = _shared_case(network)
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    _, last_good = trust.last_seq_of(liaison, kabora.origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")
    fresh = generate()
    _plant(
        kabora,
        fresh,
        "Kabora field office (new laptop)",
        case_id,
        [Op("case", case_id, "update", {"summary": "by a fresh key"}, {})],
    )
    before = Snapshot.of(liaison)
    report = network.send("kabora", "liaison")
    assert report.status == "refused"
    assert report.message.startswith(
        "Refused: this bundle is signed by Kabora field office (office, "
    )
    assert "whose key is revoked, and introduces an office calling itself" in report.message
    assert "'Kabora field office (new laptop)'" in report.message
    assert "a revoked key introduces no one" in report.message
    assert Snapshot.of(liaison) == before
    assert _summary(liaison, case_id) == "start"


def test_forged_introduction_as_tribunal_liaison_is_refused(network: Network) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    name_liaison_as_authority(network, "kabora")
    impostor = generate()
    _plant(
        ngo,
        impostor,
        "Tribunal liaison",
        "",
        [_revocation_op(kabora.origin, "Kabora field office", 0, "by order of the tribunal")],
    )
    before = Snapshot.of(kabora)
    report = network.send("ngo", "kabora")
    assert report.status == "refused"
    assert report.message.startswith("Refused: Varosa Documentation Project (ngo, ")
    assert "introduces an office calling itself 'Tribunal liaison'" in report.message
    assert "only office and liaison peers may introduce" in report.message
    assert Snapshot.of(kabora) == before
    assert kabora.origin not in key_trust.current(kabora.conn).revocations


def test_an_origin_without_a_card_is_shown_as_unknown(network: Network) -> None:
    """Kabora introduces an origin to Dressa (an office may); Dressa holds no card for it,
    so it is named as unknown, its own name only a claim."""
    liaison, dressa = network.ws["liaison"], network.ws["dressa"]
    stranger = generate()
    _plant(liaison, stranger, "Tribunal registry", "", [_revocation_op(dressa.origin, "D", 0, "x")])
    network.send("liaison", "dressa")
    label = trust.office_label(dressa, stranger.origin)
    assert label.startswith("an unknown office (") and "calling itself 'Tribunal registry'" in label
    assert "no contact card here" in label
    assert trust.office_label(dressa, liaison.origin).startswith("Tribunal liaison (liaison, ")


# -- receipts ---------------------------------------------------------------------------------


def _owe_receipt(ws: Workspace, to: str, receipt: dict[str, object]) -> None:
    """A receipt `ws` will put in its next bundle for `to` (as an attacker edits its own
    workspace)."""
    with ws.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO receipts_due(bundle_id, peer_origin, receipt) VALUES (?,?,?)",
            (receipt["bundle_id"], to, canonical.encode(receipt).decode()),
        )


def _forget_receipts(ws: Workspace) -> None:
    """Drop the receipts `ws` owes, so that only the planted ones travel."""
    with ws.transaction() as conn:
        conn.execute("DELETE FROM receipts_due")


def _receipt(bundle_id: str, **extra: object) -> dict[str, object]:
    return {
        "bundle_id": bundle_id,
        "imported_at": "2026-12-07T08:00:00+00:00",
        "changesets": 1,
        "duplicates": 0,
        "evidence": 0,
        "parked": 0,
        "quarantined": 0,
        **extra,
    }


def test_receipts_for_bundles_we_never_wrote_are_refused(network: Network) -> None:
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    _shared_case(network)
    for_the_liaison = network.export("kabora", "liaison").bundle_id
    never_written = "0123456789abcdef0123456789abcdef"
    _forget_receipts(dressa)
    _owe_receipt(dressa, kabora.origin, _receipt(never_written))
    _owe_receipt(dressa, kabora.origin, _receipt(for_the_liaison))
    before = Snapshot.of(kabora)
    report = network.send("dressa", "kabora")
    assert report.status == "imported"
    who = f"A receipt from Dressa field office ({dressa.origin[:8]}…) was refused and not recorded"
    assert sorted(report.receipts_refused) == sorted(
        [
            f"{who}: it answers bundle {never_written[:12]}…, which this office never wrote.",
            f"{who}: it answers bundle {for_the_liaison[:12]}…, which this office wrote for"
            " others.",
        ]
    )
    assert Snapshot.of(kabora) == before


def test_receipt_with_extra_fields_is_refused(network: Network) -> None:
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    _shared_case(network)
    cases.add_case(kabora, "Another", "")
    ours = network.export("kabora", "dressa").bundle_id  # written for Dressa
    _forget_receipts(dressa)
    for bad in (
        _receipt(ours, note="all good, trust us"),
        {**_receipt(ours), "changesets": "1"},
        {**_receipt(ours), "parked": True},
        {k: v for k, v in _receipt(ours).items() if k != "evidence"},
    ):
        _owe_receipt(dressa, kabora.origin, bad)
        before = Snapshot.of(kabora)
        report = network.send("dressa", "kabora")
        assert len(report.receipts_refused) == 1, report
        assert report.receipts_refused[0].startswith(
            f"A receipt from Dressa field office ({dressa.origin[:8]}…) was refused and not"
            " recorded: "
        )
        assert Snapshot.of(kabora) == before
    # The well-formed receipt for the same bundle is recorded.
    _owe_receipt(dressa, kabora.origin, _receipt(ours))
    report = network.send("dressa", "kabora")
    assert report.receipts_refused == []
    assert Snapshot.of(kabora).receipts == before.receipts + 1


def test_an_ngo_cannot_trick_an_office_into_revoking_its_own_key(network: Network) -> None:
    """The NGO says Kabora's own key is stolen; the liaison forwards the statement. At
    Kabora it is an advisory, and confirming it (which would sign a revocation of the very
    key Kabora signs with, from its first change) is refused with a sentence."""
    kabora = network.ws["kabora"]
    cs_id = trust.revoke_peer(network.ws["ngo"], network.peer("ngo", "kabora"), 0, "stolen")
    network.send("ngo", "liaison")
    network.send("liaison", "kabora")
    assert _entry(kabora, cs_id).status == "advisory"
    before = Snapshot.of(kabora)
    with pytest.raises(SyncError) as refused:
        trust.confirm_advisory(kabora, cs_id[:12])
    assert str(refused.value).startswith(
        f"The advisory {cs_id[:12]} is about this office's own key"
    )
    assert "`valise identity rotate`" in str(refused.value)
    assert str(refused.value).endswith("Nothing was changed.")
    assert Snapshot.of(kabora) == before
    assert _entry(kabora, cs_id).status == "advisory"  # still to dismiss
    trust.dismiss_advisory(kabora, cs_id[:12])
    assert _entry(kabora, cs_id).status == "dismissed"
    assert key_trust.current(kabora.conn).revocations == {}


def test_an_advisory_withdrawn_by_its_signer_no_longer_waits(network: Network) -> None:
    _shared_case(network)
    liaison = network.ws["liaison"]
    ngo = network.ws["ngo"]
    cs_id = trust.revoke_peer(ngo, network.peer("ngo", "kabora"), 0, "we say it was stolen")
    network.send("ngo", "liaison")
    assert trust.advisories_waiting(liaison) == 1

    withdrawal = trust.retract_revocation(ngo, cs_id[:12], "we were wrong")
    report = network.send("ngo", "liaison")
    assert report.status == "imported" and report.quarantined == 0
    assert trust.advisories_waiting(liaison) == 0
    advisory = _entry(liaison, cs_id)
    assert advisory.status == "retracted" and advisory.retracted_by == withdrawal[:12]
    assert _entry(liaison, withdrawal).status == "effective"
    assert key_trust.current(liaison.conn).revocations == {}
    with pytest.raises(SyncError, match="is not an advisory revocation"):
        trust.dismiss_advisory(liaison, cs_id[:12])


def test_a_third_office_cannot_withdraw_someone_elses_advisory(network: Network) -> None:
    _shared_case(network)
    liaison, ngo, dressa = network.ws["liaison"], network.ws["ngo"], network.ws["dressa"]
    cs_id = trust.revoke_peer(ngo, network.peer("ngo", "kabora"), 0, "we say it was stolen")
    network.send("ngo", "liaison")
    network.send("liaison", "dressa")
    # Dressa holds the NGO's advisory and signs a retraction of it: at the liaison that is
    # Dressa's own advisory, and the NGO's still waits for a person to decide.
    forged = trust.retract_revocation(dressa, cs_id[:12], "not stolen at all")
    network.send("dressa", "liaison")
    assert _entry(liaison, cs_id).status == "advisory"
    assert _entry(liaison, forged).status == "advisory"
    assert trust.advisories_waiting(liaison) == 1
