"""Releases and consent: what an NGO or defence peer may receive, and whose consent it needs.

A release is a signed, audited act per evidence item and peer (or role), recorded in the
item's custody; it travels to other offices like any change. A release that would identify
a person to partners without their consent is refused with the reason, and unknown
consent counts as refused (fail closed). `released_evidence` is what the projection for a
restricted peer asks: released items, with or without their original file names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from storage import audit, cases, evidence, queries
from storage.changesets import Changeset, Op, changeset_id
from storage.consent import record_consent
from storage.digest import state_digest
from storage.errors import InvalidInput
from storage.identity import generate, sign_changeset
from storage.records import Case, Evidence
from storage.releases import ReleaseRefused, releases_of
from storage.workspace import Workspace, new_id
from sync import peers
from sync.cards import ContactCard
from sync.export import has_news_for
from sync.releases import (
    release_to,
    released_evidence,
    released_with_file_name,
    unrelease_to,
    what_role_receives,
)
from sync.trust import revoke_peer
from tests.sync.conftest import Network

NGO_NAME = "Varosa Documentation Project"


def add_witness_statement(
    ws: Workspace, tmp_path: Path, *, source: str = "", **fields: str
) -> tuple[str, str, str]:
    """A case with a protected witness (W-0500) and a statement of hers linked to her:
    (case id, person id, evidence id)."""
    case_id = cases.add_case(ws, "Shelling of the Varosa market")
    person_id = cases.add_person(
        ws, case_id, "witness", name="Mirela Dontcheva", protected=True, pseudonym="W-0500"
    )
    path = tmp_path / "statement-mirela-dontcheva.txt"
    path.write_text("I saw the shelling from the bakery.")
    evidence_id = evidence.add_evidence(
        ws, case_id, path, type="statement", source=source, **fields
    )
    if not source:
        cases.add_link(ws, evidence_id, person_id)
    return case_id, person_id, evidence_id


def add_peer_of_role(ws: Workspace, office: str, role: str) -> peers.Peer:
    """A peer with fresh keys and the given role (its card as `peer add` would record it)."""
    keys = generate()
    card = ContactCard(office, role, keys.signing_public, keys.encryption_public, "2027-01-01")
    return peers.add_peer(ws, card, role)


def _ngo_id(network: Network) -> str:
    return network.peer("kabora", "ngo").peer_id


def test_release_is_recorded_in_custody_and_audit(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given", decided_by="N. Tesh")
    ngo = network.peer("kabora", "ngo")

    release_id = release_to(kabora, evidence_id, ngo.peer_id)

    chain = queries.custody_of(kabora.conn, evidence_id)
    released = [event for event in chain if event.event == "released"]
    assert len(released) == 1
    assert released[0].to_holder == f"{NGO_NAME} (ngo)"
    assert released[0].note == (f"released to {NGO_NAME} (ngo), without the original file name")
    entry = audit.entries(kabora.conn, action="evidence released")[0]
    detail = json.loads(entry.detail)
    assert detail["evidence"] == evidence_id and detail["to"] == ngo.peer_id
    assert detail["with_file_name"] is False
    assert "mirela" not in entry.detail.lower()  # no file name, no name, in the audit
    (release,) = releases_of(kabora.conn, evidence_id)
    assert release.id == release_id and release.grantee_origin == ngo.origin
    assert released_evidence(kabora.conn, case_id, ngo.origin, "ngo") == {evidence_id: False}
    assert kabora.verify_audit().ok


def test_release_with_the_file_name_says_so(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    ngo = network.peer("kabora", "ngo")
    release_to(kabora, evidence_id, ngo.peer_id)

    release_to(kabora, evidence_id, ngo.peer_id, with_file_name=True)

    assert released_evidence(kabora.conn, case_id, ngo.origin, "ngo") == {evidence_id: True}
    notes = [e.note for e in queries.custody_of(kabora.conn, evidence_id) if e.event == "released"]
    assert notes[-1].endswith("with the original file name")
    with pytest.raises(InvalidInput, match="already released to Varosa Documentation Project"):
        release_to(kabora, evidence_id, ngo.peer_id)


def test_release_against_refused_consent_is_refused(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    _case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(
        kabora, person_id, "partners", "refused", decided_on="2027-03-20", decided_by="N. Tesh"
    )
    before = state_digest(kabora.conn)

    with pytest.raises(ReleaseRefused) as refused:
        release_to(kabora, evidence_id, _ngo_id(network))

    assert str(refused.value) == (
        f"KAB-0001-0001 was not released to {NGO_NAME} (ngo): W-0500 has refused to be"
        " identified to partners (recorded 2027-03-20 by N. Tesh); ask the protection officer."
    )
    assert "Mirela" not in str(refused.value)
    assert state_digest(kabora.conn) == before
    assert audit.entries(kabora.conn, action="release refused")


def test_release_with_unknown_consent_is_refused(network: Network, tmp_path: Path) -> None:
    """Nothing recorded, or a recorded "unknown", counts as refused: consent fails closed."""
    kabora = network.ws["kabora"]
    _case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    before = state_digest(kabora.conn)

    with pytest.raises(
        ReleaseRefused,
        match="W-0500 has not consented to be identified to partners; ask the protection officer",
    ):
        release_to(kabora, evidence_id, "ngo")
    assert state_digest(kabora.conn) == before

    record_consent(kabora, person_id, "partners", "given")
    record_consent(kabora, person_id, "partners", "unknown")  # the witness changed her mind
    before = state_digest(kabora.conn)
    with pytest.raises(ReleaseRefused, match="W-0500 has not consented"):
        release_to(kabora, evidence_id, "ngo")
    assert state_digest(kabora.conn) == before


def test_consent_for_another_audience_does_not_count(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    _case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "tribunal", "given")
    with pytest.raises(ReleaseRefused, match="not consented to be identified to partners"):
        release_to(kabora, evidence_id, "defence")


def test_a_statement_naming_the_witness_as_source_needs_her_consent(
    network: Network, tmp_path: Path
) -> None:
    """Not linked, but its source is her pseudonym: it identifies her all the same."""
    kabora = network.ws["kabora"]
    _case_id, _person_id, evidence_id = add_witness_statement(kabora, tmp_path, source=" w-0500 ")
    with pytest.raises(ReleaseRefused, match="W-0500 has not consented"):
        release_to(kabora, evidence_id, "ngo")


def test_an_item_identifying_a_witness_linked_to_nobody_is_refused(
    network: Network, tmp_path: Path
) -> None:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case")
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8 a face")
    evidence_id = evidence.add_evidence(kabora, case_id, path, sensitivity="identifies a witness")
    with pytest.raises(ReleaseRefused, match=r"linked to no person.*link it to the witness"):
        release_to(kabora, evidence_id, "ngo")


def test_suspects_are_not_asked_for_consent(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case")
    suspect = cases.add_person(kabora, case_id, "suspect", name="Col. Brask")
    path = tmp_path / "order.pdf"
    path.write_bytes(b"%PDF- an order")
    evidence_id = evidence.add_evidence(kabora, case_id, path)
    cases.add_link(kabora, evidence_id, suspect)
    ngo = network.peer("kabora", "ngo")

    release_to(kabora, evidence_id, ngo.peer_id)

    assert released_evidence(kabora.conn, case_id, ngo.origin, "ngo") == {evidence_id: False}


def test_release_to_an_office_peer_is_pointless_and_refused_or_explained(
    network: Network, tmp_path: Path
) -> None:
    """An office or liaison receives every item of a case shared with it, file names and
    all; a release to it would record a permission that means nothing, so it is refused
    with that explanation."""
    kabora = network.ws["kabora"]
    _case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    before = state_digest(kabora.conn)

    with pytest.raises(ReleaseRefused) as refused:
        release_to(kabora, evidence_id, network.peer("kabora", "dressa").peer_id)
    assert str(refused.value) == (
        "Dressa field office (office) receives every item of the cases shared with it, with"
        " its file name, so there is nothing to release to it; releases are for NGO and"
        " defence peers. Nothing was recorded."
    )
    with pytest.raises(ReleaseRefused, match="Every liaison peer receives every item"):
        release_to(kabora, evidence_id, "liaison")
    assert state_digest(kabora.conn) == before


def test_a_release_to_a_revoked_key_is_refused(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    _case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    revoke_peer(kabora, network.peer("kabora", "ngo"), 0, "laptop stolen")
    before = state_digest(kabora.conn)
    with pytest.raises(InvalidInput, match="key of Varosa Documentation Project is revoked"):
        release_to(kabora, evidence_id, _ngo_id(network))
    assert state_digest(kabora.conn) == before


def test_a_release_to_a_role_reaches_that_role_only(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    ngo = network.peer("kabora", "ngo")

    release_to(kabora, evidence_id, "ngo", with_file_name=True)

    assert released_evidence(kabora.conn, case_id, ngo.origin, "ngo") == {evidence_id: True}
    assert released_with_file_name(kabora.conn, case_id, ngo.origin, "ngo") == {evidence_id}
    assert released_evidence(kabora.conn, case_id, "ab" * 32, "ngo") == {evidence_id: True}
    assert released_evidence(kabora.conn, case_id, ngo.origin, "defence") == {}
    other_case = cases.add_case(kabora, "Another case")
    assert released_evidence(kabora.conn, other_case, ngo.origin, "ngo") == {}


def test_a_withdrawn_release_stops_future_sends(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    ngo = network.peer("kabora", "ngo")
    release_to(kabora, evidence_id, ngo.peer_id)

    assert unrelease_to(kabora, evidence_id, ngo.peer_id) == 1

    assert released_evidence(kabora.conn, case_id, ngo.origin, "ngo") == {}
    last = queries.custody_of(kabora.conn, evidence_id)[-1]
    assert last.event == "release withdrawn"
    assert "what was sent stays sent" in last.note
    with pytest.raises(InvalidInput, match="is not released to"):
        unrelease_to(kabora, evidence_id, ngo.peer_id)


def test_a_consent_refused_after_the_release_stops_future_sends(
    network: Network, tmp_path: Path
) -> None:
    kabora = network.ws["kabora"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    ngo = network.peer("kabora", "ngo")
    release_to(kabora, evidence_id, ngo.peer_id)

    record_consent(kabora, person_id, "partners", "refused")

    assert released_evidence(kabora.conn, case_id, ngo.origin, "ngo") == {}


def test_a_release_syncs_to_another_office_in_a_real_bundle(
    network: Network, tmp_path: Path
) -> None:
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given", decided_by="N. Tesh")
    ngo_origin = network.peer("kabora", "ngo").origin
    release_to(kabora, evidence_id, _ngo_id(network))
    network.share("kabora", case_id, "dressa")

    report = network.send("kabora", "dressa")

    assert report.status == "imported", report.message
    assert released_evidence(dressa.conn, case_id, ngo_origin, "ngo") == {evidence_id: False}
    events = [e.event for e in queries.custody_of(dressa.conn, evidence_id)]
    assert "released" in events
    (release,) = releases_of(dressa.conn, evidence_id)
    assert release.grantee == f"{NGO_NAME} (ngo)"

    unrelease_to(kabora, evidence_id, _ngo_id(network))
    assert network.send("kabora", "dressa").status == "imported"
    assert released_evidence(dressa.conn, case_id, ngo_origin, "ngo") == {}
    assert releases_of(dressa.conn, evidence_id) == releases_of(kabora.conn, evidence_id)


def test_release_custody_events_cannot_be_typed_by_hand(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    _case_id, _person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    before = state_digest(kabora.conn)
    with pytest.raises(InvalidInput, match="recorded by releasing the item"):
        evidence.add_custody(kabora, evidence_id, "released", to_holder="Anyone")
    assert state_digest(kabora.conn) == before


def test_a_withdrawn_item_cannot_be_released(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    _case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    cases.withdraw(kabora, Evidence, evidence_id)
    with pytest.raises(InvalidInput, match="was withdrawn, so it cannot be released"):
        release_to(kabora, evidence_id, "ngo")


def test_what_each_role_receives_is_said_in_words() -> None:
    will, will_not = what_role_receives("ngo")
    assert "released" in will and "pseudonym" in will
    assert "legal elements" in will_not and "privileged notes" in will_not
    will, will_not = what_role_receives("liaison")
    assert will.startswith("Everything of the case")
    assert "Privileged notes" in will_not


# -- attacks from an office holding a real signing key --------------------------------------


def _forge(ws: Workspace, case_id: str, ops: list[Op]) -> None:
    """Sign `ops` as `ws`'s next changeset and store it there unapplied, as a compromised
    office would, so the next bundle carries it to its peers."""
    last = ws.conn.execute(
        "SELECT seq, id FROM changesets WHERE origin = ? AND epoch = ? ORDER BY seq DESC LIMIT 1",
        (ws.origin, ws.epoch),
    ).fetchone()
    seq, prev_hash = (int(last[0]) + 1, str(last[1])) if last else (1, "")
    cs = Changeset(
        ws.origin, ws.epoch, seq, prev_hash, str(ws.clock.now()), ws.author, case_id, tuple(ops)
    )
    body = cs.encode()
    with ws.transaction() as conn:
        conn.execute(
            "INSERT INTO changesets(id, origin, epoch, seq, prev_hash, hlc, author, case_id,"
            " body, sig, applied_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                changeset_id(body),
                cs.origin,
                cs.epoch,
                cs.seq,
                cs.prev_hash,
                cs.hlc,
                cs.author,
                case_id,
                body,
                sign_changeset(ws.keys, body),
                "2027-01-01T00:00:00+00:00",
            ),
        )


def _two_shared_cases(network: Network, tmp_path: Path) -> tuple[str, str, str, str]:
    """Kabora's case A (witness W-0500's statement) and case B (witness W-0600), both at the
    liaison already: (case A, evidence in A, case B, person in B)."""
    kabora = network.ws["kabora"]
    case_a, _person_a, evidence_a = add_witness_statement(kabora, tmp_path)
    case_b = cases.add_case(kabora, "Another case")
    person_b = cases.add_person(
        kabora, case_b, "witness", name="Ivo Marsh", protected=True, pseudonym="W-0600"
    )
    network.share("kabora", case_a, "liaison")
    network.share("kabora", case_b, "liaison")
    # Back and forth until both hold everything and know it, so that the next bundle
    # carries nothing but what a test forges (no handoff custody, no evidence again).
    for sender, receiver in [("kabora", "liaison"), ("liaison", "kabora")] * 2:
        assert network.send(sender, receiver).status == "imported"
    return case_a, evidence_a, case_b, person_b


def test_a_consent_statement_naming_a_witness_of_another_case_is_quarantined(
    network: Network, tmp_path: Path
) -> None:
    """A "given" smuggled in through a case the signer may write, for a witness of a case
    it may not, must not unlock releases of her statements."""
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case_a, _evidence_a, _case_b, person_b = _two_shared_cases(network, tmp_path)
    fields = {"case_id": case_a, "person_id": person_b, "audience": "partners", "decision": "given"}
    _forge(kabora, case_a, [Op("consent", "c0ffee0000000000000a", "create", fields, {})])
    before = state_digest(liaison.conn)

    report = network.send("kabora", "liaison")

    assert report.quarantined == 1
    assert report.quarantine_reasons == ["A consent points at a record that is not in its case."]
    assert state_digest(liaison.conn) == before


def test_a_release_of_another_cases_evidence_is_quarantined(
    network: Network, tmp_path: Path
) -> None:
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case_a, evidence_a, case_b, _person_b = _two_shared_cases(network, tmp_path)
    ngo_origin = network.peer("kabora", "ngo").origin
    fields = {
        "case_id": case_b,
        "evidence_id": evidence_a,
        "grantee_origin": ngo_origin,
        "grantee_role": "ngo",
        "at": "2027-03-20T10:00:00Z",
    }
    _forge(kabora, case_b, [Op("release", "c0ffee0000000000000b", "create", fields, {})])
    before = state_digest(liaison.conn)

    report = network.send("kabora", "liaison")

    assert report.quarantine_reasons == ["A release points at a record that is not in its case."]
    assert state_digest(liaison.conn) == before
    assert released_evidence(liaison.conn, case_a, ngo_origin, "ngo") == {}
    assert released_evidence(liaison.conn, case_b, ngo_origin, "ngo") == {}


def test_a_release_to_an_office_role_is_quarantined(network: Network, tmp_path: Path) -> None:
    """A release names an NGO or defence grantee only; one naming the office role is not a
    release at all, whoever signed it."""
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case_a, evidence_a, _case_b, _person_b = _two_shared_cases(network, tmp_path)
    fields = {
        "case_id": case_a,
        "evidence_id": evidence_a,
        "grantee_role": "office",
        "at": "2027-03-20",
    }
    _forge(kabora, case_a, [Op("release", "c0ffee0000000000000c", "create", fields, {})])
    before = state_digest(liaison.conn)

    report = network.send("kabora", "liaison")

    assert report.quarantined == 1
    assert "grantee role must be one of 'ngo', 'defence'" in report.quarantine_reasons[0]
    assert state_digest(liaison.conn) == before


def test_a_consent_note_is_sealed_out_of_the_signed_history(
    network: Network, tmp_path: Path
) -> None:
    """The note beside a decision may say why (a threat, a place): it is a protected value,
    kept out of the changeset body and revealed to offices only."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id, person_id, _evidence_id = add_witness_statement(kabora, tmp_path)
    secret = "fears the Ostrel militia"
    record_consent(kabora, person_id, "partners", "refused", note=secret)
    (body,) = kabora.conn.execute(
        "SELECT body FROM changesets ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert b"Ostrel" not in bytes(body)
    network.share("kabora", case_id, "dressa")
    assert network.send("kabora", "dressa").status == "imported"
    (note,) = dressa.conn.execute("SELECT note FROM person_consents").fetchone()
    assert note == secret
    network.share("kabora", case_id, "ngo")
    network.send("kabora", "ngo")
    notes = network.ws["ngo"].conn.execute("SELECT note FROM person_consents").fetchall()
    assert all(row[0] == "" for row in notes)  # withheld, or not sent at all


# -- attacks from a partner -------------------------------------------------------------------

PARTNER_MAY_NOT = (
    r"Held back: Varosa Documentation Project \(ngo, \d{{5}}…\) may not add {what} in case"
    r" {case}; a partner organisation adds only evidence, custody of its own evidence, notes,"
    r" persons and incidents\."
)


def _shared_with_the_ngo(network: Network, tmp_path: Path) -> tuple[str, str, str]:
    """Kabora's case with W-0500's statement, granted to the NGO and delivered to it."""
    case_id, person_id, evidence_id = add_witness_statement(network.ws["kabora"], tmp_path)
    network.share("kabora", case_id, "ngo")
    assert network.send("kabora", "ngo").status == "imported"
    return case_id, person_id, evidence_id


def _assert_held_back_from_the_ngo(network: Network, case_id: str, op: Op, what: str) -> None:
    """The NGO signs `op` and sends it: the office holds it back, saying the NGO may not add
    `what`, and changes nothing."""
    kabora = network.ws["kabora"]
    _forge(network.ws["ngo"], case_id, [op])
    before = state_digest(kabora.conn)

    report = network.send("ngo", "kabora")

    reference = re.escape(queries.get(kabora.conn, Case, case_id).reference)
    sentence = PARTNER_MAY_NOT.format(what=what, case=reference)
    # (The NGO's "received in bundle" custody of the office's item is held back beside it.)
    assert report.changesets == 0, report
    assert any(re.fullmatch(sentence, reason) for reason in report.quarantine_reasons), report
    assert state_digest(kabora.conn) == before


def test_a_partner_releasing_evidence_to_itself_is_held_back(
    network: Network, tmp_path: Path
) -> None:
    """Only the prosecution releases: an NGO's own release of an item (file name and all)
    would make the office's next projection send it."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id, person_id, evidence_id = _shared_with_the_ngo(network, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    fields = {
        "case_id": case_id,
        "evidence_id": evidence_id,
        "grantee_origin": ngo.origin,
        "grantee_role": "ngo",
        "with_file_name": 1,
        "at": "2027-03-20T10:00:00Z",
    }
    release = Op("release", "c0ffee0000000000000d", "create", fields, {})
    _assert_held_back_from_the_ngo(network, case_id, release, "an evidence release")
    assert released_evidence(kabora.conn, case_id, ngo.origin, "ngo") == {}


def test_a_partner_giving_consent_for_a_witness_is_held_back(
    network: Network, tmp_path: Path
) -> None:
    """A witness's refusal cannot be overturned by a partner writing "given" for her."""
    kabora = network.ws["kabora"]
    case_id, person_id, evidence_id = _shared_with_the_ngo(network, tmp_path)
    record_consent(kabora, person_id, "partners", "refused", decided_by="N. Tesh")
    fields = {"case_id": case_id, "person_id": person_id, "audience": "partners"}
    fields["decision"] = "given"
    consent = Op("consent", "c0ffee0000000000000e", "create", fields, {})
    _assert_held_back_from_the_ngo(network, case_id, consent, "a person's consent")
    with pytest.raises(ReleaseRefused, match="W-0500 has refused"):
        release_to(kabora, evidence_id, "ngo")


def _custody_op(case_id: str, evidence_id: str, event: str) -> Op:
    """A custody event as the NGO's client would sign it."""
    fields = {
        "case_id": case_id,
        "evidence_id": evidence_id,
        "event": event,
        "at": "2026-12-07T09:00:00+00:00",
        "actor": NGO_NAME,
        "office": NGO_NAME,
    }
    return Op("custody", new_id(), "create", fields, {})


def test_a_partner_receiving_released_evidence_leaves_nothing_to_send_back(
    network: Network, tmp_path: Path
) -> None:
    kabora, ngo_ws = network.ws["kabora"], network.ws["ngo"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    release_to(kabora, evidence_id, "ngo")
    network.share("kabora", case_id, "ngo")
    assert network.send("kabora", "ngo").status == "imported"

    # Two exchanges each way: the second carries what each recorded sending the first.
    for _ in range(2):
        back = network.send("ngo", "kabora")
        assert back.status == "imported" and back.quarantined == 0, back
        assert network.send("kabora", "ngo").status == "imported"

    # Whatever receipt the NGO recorded is in the office's chain, nothing is held back,
    # and neither has anything left to send.
    receipts = ngo_ws.conn.execute(
        "SELECT id FROM custody_events WHERE event = 'received in bundle' AND evidence_id = ?",
        (evidence_id,),
    ).fetchall()
    chain = {e.id for e in queries.custody_of(kabora.conn, evidence_id)}
    assert {str(r[0]) for r in receipts} <= chain
    assert not kabora.conn.execute("SELECT 1 FROM quarantine").fetchone()
    assert not has_news_for(kabora, network.peer("kabora", "ngo"))
    assert not has_news_for(ngo_ws, network.peer("ngo", "kabora"))


def test_a_partners_receipt_of_a_released_item_is_applied(network: Network, tmp_path: Path) -> None:
    kabora = network.ws["kabora"]
    case_id, evidence_id = _released_to_the_ngo(network, tmp_path)
    op = _custody_op(case_id, evidence_id, "received in bundle")
    _forge(network.ws["ngo"], case_id, [op])

    report = network.send("ngo", "kabora")

    assert report.status == "imported" and report.quarantined == 0, report
    assert op.entity_id in {e.id for e in queries.custody_of(kabora.conn, evidence_id)}


def _released_to_the_ngo(network: Network, tmp_path: Path) -> tuple[str, str]:
    kabora = network.ws["kabora"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    release_to(kabora, evidence_id, "ngo")
    network.share("kabora", case_id, "ngo")
    assert network.send("kabora", "ngo").status == "imported"
    assert network.send("ngo", "kabora").status == "imported"  # its own receipt, if any
    return case_id, evidence_id


PARTNER_CUSTODY = (
    "Held back: " + re.escape(NGO_NAME) + r" \(ngo, \d{{5}}…\) may not record custody of an"
    r" evidence item in case {case}; a partner organisation records custody only of evidence"
    r" it added, and of an item released to it only its receipt\."
)


def test_a_partner_custody_event_on_an_item_not_released_to_it_is_held_back(
    network: Network, tmp_path: Path
) -> None:
    kabora = network.ws["kabora"]
    case_id, person_id, evidence_id = add_witness_statement(kabora, tmp_path)
    record_consent(kabora, person_id, "partners", "given")
    release_to(kabora, evidence_id, "defence")  # released, but to the other role
    network.share("kabora", case_id, "ngo")
    assert network.send("kabora", "ngo").status == "imported"
    chain_before = [e.id for e in queries.custody_of(kabora.conn, evidence_id)]

    _assert_held_back_from_the_ngo_as(
        network, case_id, _custody_op(case_id, evidence_id, "received in bundle"), PARTNER_CUSTODY
    )
    assert [e.id for e in queries.custody_of(kabora.conn, evidence_id)] == chain_before


def test_a_partner_custody_event_other_than_its_receipt_is_held_back(
    network: Network, tmp_path: Path
) -> None:
    case_id, evidence_id = _released_to_the_ngo(network, tmp_path)

    _assert_held_back_from_the_ngo_as(
        network,
        case_id,
        _custody_op(case_id, evidence_id, "copied to personal laptop"),
        PARTNER_CUSTODY,
    )


def _assert_held_back_from_the_ngo_as(network: Network, case_id: str, op: Op, pattern: str) -> None:
    kabora = network.ws["kabora"]
    _forge(network.ws["ngo"], case_id, [op])
    before = state_digest(kabora.conn)

    report = network.send("ngo", "kabora")

    reference = re.escape(queries.get(kabora.conn, Case, case_id).reference)
    sentence = pattern.format(case=reference)
    assert report.changesets == 0, report
    assert any(re.fullmatch(sentence, reason) for reason in report.quarantine_reasons), report
    assert state_digest(kabora.conn) == before
