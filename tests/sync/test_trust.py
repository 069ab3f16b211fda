"""Revocation and key rotation travel as signed statements and take effect everywhere."""

from __future__ import annotations

from storage import cases, queries
from storage.changesets import Changeset, Op, changeset_id
from storage.digest import state_digest
from storage.identity import sign_changeset
from storage.records import Case
from sync import peers, trust
from sync.importer import StagedChangeset, _apply_all
from tests.sync.conftest import Network, compare_new_keys
from tests.sync.test_trust_authority import name_liaison_as_authority


def _shared_case(network: Network) -> str:
    case_id = cases.add_case(network.ws["kabora"], "Case", "start")
    network.share("kabora", case_id, "dressa", "liaison")
    network.send("kabora", "dressa")
    network.send("kabora", "liaison")
    return case_id


def test_a_revoked_key_is_refused_after_its_revocation_point(network: Network) -> None:
    """The thief's bundle, written after the revocation point, is refused where the
    revocation counts: at the liaison that signed it, and at Kabora, which names the
    liaison as its authority."""
    case_id = _shared_case(network)
    dressa, liaison, kabora = network.ws["dressa"], network.ws["liaison"], network.ws["kabora"]
    name_liaison_as_authority(network, "kabora")
    cases.update_case(dressa, case_id, summary="before the loss")
    network.share("dressa", case_id, "liaison", "kabora")
    network.send("dressa", "liaison")
    _, last_good = trust.last_seq_of(liaison, dressa.origin)

    # Dressa's laptop is stolen; the liaison revokes its key after the last good changeset.
    trust.revoke_peer(liaison, network.peer("liaison", "dressa"), last_good, "laptop stolen")
    cases.update_case(dressa, case_id, summary="written by the thief")
    report = network.send("dressa", "liaison")
    assert report.status == "refused" and report.changesets == 0
    assert f"with a key revoked after its changeset {last_good}" in report.message
    assert "laptop stolen" in report.message and "Tribunal liaison" in report.message
    assert queries.get(liaison.conn, Case, case_id).summary == "before the loss"
    assert network.peer("liaison", "dressa").revoked_after == last_good

    # The statement reaches Kabora through the liaison; the thief's bundle is refused there.
    network.send("liaison", "kabora")
    assert network.peer("kabora", "dressa").revoked_after == last_good
    report = network.send("dressa", "kabora")
    assert report.status == "refused" and "revoked" in report.message
    assert queries.get(kabora.conn, Case, case_id).summary == "before the loss"


def test_a_forwarded_changeset_of_a_revoked_key_is_quarantined(network: Network) -> None:
    """Dressa applied the thief's edit before it learnt of the revocation; when it forwards
    it, the liaison quarantines it with the reason."""
    case_id = _shared_case(network)
    liaison, kabora = network.ws["liaison"], network.ws["kabora"]
    network.share("dressa", case_id, "liaison")
    _, last_good = trust.last_seq_of(liaison, kabora.origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")
    cases.update_case(kabora, case_id, summary="written by the thief")
    network.send("kabora", "dressa")
    report = network.send("dressa", "liaison")
    assert report.quarantined == 1 and report.changesets == 0
    assert "revoked" in report.quarantine_reasons[0]
    assert queries.get(liaison.conn, Case, case_id).summary == "start"


def test_a_rotated_key_is_adopted_by_peers_under_the_old_one(network: Network) -> None:
    case_id = _shared_case(network)
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    to_kabora = network.peer("liaison", "kabora")
    peers.verify_peer(liaison, to_kabora, to_kabora.fingerprint)
    old_origin = kabora.origin
    stale = network.export("liaison", "kabora")  # written before the liaison learns

    new_fingerprint = trust.rotate_identity(kabora)
    assert kabora.origin != old_origin and kabora.fingerprint == new_fingerprint
    cases.update_case(kabora, case_id, summary="after rotation")
    report = network.send("kabora", "liaison")
    # Same role, but a new key starts on probation: its bundle waits until a person
    # compares the new fingerprint.
    assert report.status == "parked", report.message
    adopted = peers.peer_by_origin(liaison, kabora.origin)
    assert adopted is not None and adopted.role == "office" and not adopted.verified
    [report] = compare_new_keys(liaison, kabora.origin)
    assert report.status == "imported", report.message
    assert queries.get(liaison.conn, Case, case_id).summary == "after rotation"
    assert peers.peer_by_origin(liaison, old_origin).revoked_after is not None  # type: ignore[union-attr]

    # A bundle addressed to the old key still opens at Kabora.
    assert network.receive("kabora", stale.head)[0].status == "imported"
    # The liaison now writes to the new key, and the exchange settles.
    network.send("liaison", "kabora")
    network.send("kabora", "liaison")
    assert state_digest(kabora.conn) == state_digest(liaison.conn)


def test_changesets_signed_with_a_retired_key_are_refused(network: Network) -> None:
    case_id = _shared_case(network)
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    old_keys = kabora.keys
    trust.rotate_identity(kabora)
    network.send("kabora", "liaison")
    compare_new_keys(liaison, kabora.origin)
    epoch, rotation_seq = trust.last_seq_of(liaison, old_keys.origin)
    # Someone holding the old private key signs a new changeset after the rotation.
    forged = Changeset(
        old_keys.origin,
        epoch,
        rotation_seq + 1,
        "",
        str(kabora.clock.now()),
        "thief",
        case_id,
        (Op("case", case_id, "update", {"summary": "forged"}, {}),),
    )
    body = forged.encode()
    item = StagedChangeset(changeset_id(body), forged, body, sign_changeset(old_keys, body), "", {})
    before = state_digest(liaison.conn)
    with liaison.transaction():
        outcome = _apply_all(liaison, [item])
    assert not outcome.applied
    assert "revoked" in outcome.quarantined[0][1]
    assert state_digest(liaison.conn) == before
