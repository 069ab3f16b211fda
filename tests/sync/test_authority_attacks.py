"""Attacks on who may do what in a case, each tried by a hostile peer with real workspaces
and real bundles: every one is held back with a sentence (who, what, why) and changes
nothing at the office that receives it (sync.authority)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage import audit, cases, evidence, queries
from storage.digest import state_digest
from storage.errors import InvalidInput
from storage.keyfile import FAST_INSECURE_KDF
from storage.records import Case, Element, Evidence, Note, Person
from storage.search import search
from storage.workspace import Draft, Workspace, create_workspace, new_id
from sync import conflicts, peers
from sync.cards import parse_card
from sync.export import has_news_for
from sync.importer import ImportReport
from sync.releases import release_to
from tests.conftest import PASSPHRASE
from tests.sync.conftest import Network, add_verified
from tests.sync.test_projection import release

FINGERPRINT = r"\d{5}…"


def _join_defence(network: Network, tmp_path: Path) -> Workspace:
    """A defence team's installation, known to Kabora and the liaison as `defence` (and
    knowing them as offices), fingerprints compared on every side."""
    ws = create_workspace(tmp_path / "defence", "Varosa Defence", PASSPHRASE, kdf=FAST_INSECURE_KDF)
    network.ws["defence"] = ws
    card = parse_card(peers.card_bytes(ws))
    for name in ("kabora", "liaison"):
        add_verified(network.ws[name], card, "defence")
        add_verified(ws, parse_card(peers.card_bytes(network.ws[name])), "office")
    return ws


def _case_for(network: Network, *members: str) -> str:
    """A case of Kabora with a protected witness, shared with `members`, delivered."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market", "Three witnesses")
    cases.add_person(kabora, case_id, "witness", name="Amira Haddad", protected=True)
    network.share("kabora", case_id, *members)
    for member in members:
        assert network.send("kabora", member).status == "imported"
    return case_id


def _held(report: ImportReport, pattern: str) -> None:
    """The import went through, and held back exactly what `pattern` says, in words."""
    assert report.status == "imported", report.message
    assert report.quarantined >= 1 and report.changesets == 0, report
    assert any(re.fullmatch(pattern, reason) for reason in report.quarantine_reasons), (
        report.quarantine_reasons
    )


def _deliver_receipt(network: Network, partner: str) -> None:
    """The partner's receipt of the item released to it (its projection carries the
    release, so its import records one) reaches Kabora and is applied there."""
    report = network.send(partner, "kabora")
    assert report.status == "imported" and report.quarantined == 0, report
    assert report.changesets == 1, report


def _quarantine(ws: Workspace) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1]))
        for r in ws.conn.execute("SELECT reason, held_for FROM quarantine ORDER BY at, id")
    ]


def _reference(ws: Workspace, case_id: str) -> str:
    return re.escape(queries.get(ws.conn, Case, case_id).reference)


def test_defence_renaming_a_prosecution_case_is_held_back(network: Network, tmp_path: Path) -> None:
    defence = _join_defence(network, tmp_path)
    case_id = _case_for(network, "defence")
    kabora = network.ws["kabora"]
    before = state_digest(kabora.conn)

    cases.update_case(defence, case_id, title="A staged incident")
    report = network.send("defence", "kabora")

    _held(
        report,
        rf"Held back: Varosa Defence \(defence, {FINGERPRINT}\) may not change records in case"
        rf" {_reference(kabora, case_id)}; defence writes nothing into a case it does not own\.",
    )
    assert state_digest(kabora.conn) == before
    assert queries.get(kabora.conn, Case, case_id).title == "Shelling of the Varosa market"
    assert [held for _, held in _quarantine(kabora)] == ["not permitted"]
    # What is held back is never passed on.
    network.share("kabora", case_id, "liaison")
    assert network.send("kabora", "liaison").status == "imported"
    liaison = network.ws["liaison"]
    assert not liaison.conn.execute(
        "SELECT 1 FROM changesets WHERE origin = ?", (defence.origin,)
    ).fetchone()
    assert queries.get(liaison.conn, Case, case_id).title == "Shelling of the Varosa market"


def test_defence_withdrawing_a_case_is_held_back(network: Network, tmp_path: Path) -> None:
    defence = _join_defence(network, tmp_path)
    case_id = _case_for(network, "defence")
    kabora = network.ws["kabora"]
    before = state_digest(kabora.conn)

    cases.withdraw(defence, Case, case_id)
    report = network.send("defence", "kabora")

    _held(report, rf"Held back: Varosa Defence \(defence, {FINGERPRINT}\) may not change .*")
    assert state_digest(kabora.conn) == before
    assert case_id in {c.id for c in queries.list_cases(kabora.conn, limit=10)}


def test_defence_custody_event_is_held_back(network: Network, tmp_path: Path) -> None:
    defence = _join_defence(network, tmp_path)
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market")
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"\xff\xd8 a photograph of the market" * 100)
    evidence_id = evidence.add_evidence(kabora, case_id, source)
    release(kabora, case_id, evidence_id, defence.origin, role="defence", with_file_name=False)
    network.share("kabora", case_id, "defence")
    assert network.send("kabora", "defence").status == "imported"
    _deliver_receipt(network, "defence")
    chain_before = [e.id for e in queries.custody_of(kabora.conn, evidence_id)]
    before = state_digest(kabora.conn)

    evidence.add_custody(
        defence,
        evidence_id,
        "copied",
        at="2020-01-01T00:00:00+00:00",
        actor="Kabora evidence officer",
        to_holder="personal laptop",
    )
    report = network.send("defence", "kabora")

    _held(report, r"Held back: Varosa Defence \(defence, .*defence writes nothing into .*")
    assert state_digest(kabora.conn) == before
    assert [e.id for e in queries.custody_of(kabora.conn, evidence_id)] == chain_before


def test_defence_receiving_a_released_item_leaves_nothing_to_send_back(
    network: Network, tmp_path: Path
) -> None:
    defence = _join_defence(network, tmp_path)
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market")
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"\xff\xd8 a photograph of the market" * 100)
    evidence_id = evidence.add_evidence(kabora, case_id, source)
    release_to(kabora, evidence_id, "defence")
    network.share("kabora", case_id, "defence")
    assert network.send("kabora", "defence").status == "imported"

    for _ in range(2):  # the second exchange carries what each recorded sending the first
        back = network.send("defence", "kabora")
        assert back.status == "imported" and back.quarantined == 0, back
        assert network.send("kabora", "defence").status == "imported"

    # Whatever receipt the defence recorded is in the office's chain.
    receipts = defence.conn.execute(
        "SELECT id FROM custody_events WHERE event = 'received in bundle' AND evidence_id = ?",
        (evidence_id,),
    ).fetchall()
    assert {str(r[0]) for r in receipts} <= {
        e.id for e in queries.custody_of(kabora.conn, evidence_id)
    }
    assert not kabora.conn.execute("SELECT 1 FROM quarantine").fetchone()
    assert not has_news_for(kabora, network.peer("kabora", "defence"))
    assert not has_news_for(defence, network.peer("defence", "kabora"))


def test_defence_editing_evidence_description_is_held_back(
    network: Network, tmp_path: Path
) -> None:
    defence = _join_defence(network, tmp_path)
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market")
    source = tmp_path / "statement.pdf"
    source.write_bytes(b"%PDF- a statement" * 100)
    evidence_id = evidence.add_evidence(kabora, case_id, source, description="Signed statement")
    release(kabora, case_id, evidence_id, defence.origin, role="defence", with_file_name=False)
    network.share("kabora", case_id, "defence")
    assert network.send("kabora", "defence").status == "imported"
    _deliver_receipt(network, "defence")
    before = state_digest(kabora.conn)

    cases.update_record(defence, Evidence, evidence_id, description="defence says forged")
    report = network.send("defence", "kabora")

    _held(report, r"Held back: Varosa Defence \(defence, .*\) may not change records in .*")
    assert state_digest(kabora.conn) == before
    assert queries.get(kabora.conn, Evidence, evidence_id).description == "Signed statement"


def test_ngo_changing_a_record_it_did_not_create_is_held_back(network: Network) -> None:
    kabora, dressa, ngo = (network.ws[n] for n in ("kabora", "dressa", "ngo"))
    case_id = _case_for(network, "dressa", "ngo")
    [witness] = queries.in_case(kabora.conn, Person, case_id)
    not_created = (
        rf"Held back: Varosa Documentation Project \(ngo, {FINGERPRINT}\) may not change a"
        rf" person it did not create in case {_reference(kabora, case_id)}; a partner"
        r" organisation changes only the records it added\."
    )

    # A plain update: the name faked, then blanked.
    for fake in ("Someone Else", ""):
        before = state_digest(kabora.conn)
        cases.update_record(ngo, Person, witness.id, legal_name=fake)
        _held(network.send("ngo", "kabora"), not_created)
        assert state_digest(kabora.conn) == before
        assert queries.get(kabora.conn, Person, witness.id).legal_name == "Amira Haddad"

    # Two offices change the name apart. The ngo receives a projection, which never holds a
    # protected field, so it holds no conflict over the name to settle; a settlement written
    # by hand (what `--keep shown`, an empty name, or `--value` would write) is held back.
    cases.update_record(kabora, Person, witness.id, legal_name="Amira K. Haddad")
    cases.update_record(dressa, Person, witness.id, legal_name="Amira Haddad-K")
    assert network.send("dressa", "kabora").status == "imported"
    for sender in ("kabora", "dressa"):
        assert network.send(sender, "ngo").status == "imported"
    assert not [c for c in conflicts.list_conflicts(ngo) if c.entity_id == witness.id]
    shown = queries.get(kabora.conn, Person, witness.id).legal_name
    for value in ("", "A. Fake"):
        before = state_digest(kabora.conn)
        settle = Draft("person", witness.id, "update", {"legal_name": value}, resolves=True)
        ngo.commit(case_id, [settle])
        _held(network.send("ngo", "kabora"), not_created)
        assert state_digest(kabora.conn) == before
        assert queries.get(kabora.conn, Person, witness.id).legal_name == shown
    assert {held for _, held in _quarantine(kabora)} == {"not permitted"}


def test_ngo_adding_its_own_note_and_evidence_is_applied(network: Network, tmp_path: Path) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = _case_for(network, "ngo")
    source = tmp_path / "testimony.mp4"
    source.write_bytes(b"testimony recorded in the field" * 200)

    note_id = cases.add_note(ngo, case_id, "Met the family on Tuesday")
    evidence_id = evidence.add_evidence(ngo, case_id, source, title="Field testimony")
    evidence.add_custody(ngo, evidence_id, "examined", note="Checked on site")
    cases.update_record(ngo, Note, note_id, text="Met the family on Tuesday and Friday")
    person_id = cases.add_person(ngo, case_id, "witness", name="", pseudonym="N-1")
    cases.update_record(ngo, Person, person_id, languages="Arabic")
    report = network.send("ngo", "kabora")

    assert report.status == "imported" and report.quarantined == 0, report.quarantine_reasons
    assert report.changesets == 6 and report.evidence == 1
    assert queries.get(kabora.conn, Note, note_id).text == "Met the family on Tuesday and Friday"
    assert queries.get(kabora.conn, Person, person_id).languages == "Arabic"
    assert b"".join(evidence.read_evidence(kabora, evidence_id)) == source.read_bytes()
    assert _quarantine(kabora) == []


def test_subscription_by_naming_a_case_id_gets_nothing(network: Network) -> None:
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market", "Never shared")
    before = state_digest(kabora.conn)

    # The ngo learnt the case id from a filing. Its modified client opens a case of that
    # id at home, writes a note in it and shares it with Kabora, to be sent the case back.
    ngo.commit(
        case_id,
        [Draft("case", case_id, "create", {"reference": "X-1", "title": "Anything"})],
    )
    cases.add_note(ngo, case_id, "Please send us this case")
    peers.share_case(ngo, case_id, network.peer("ngo", "kabora"))
    report = network.send("ngo", "kabora")

    _held(
        report,
        rf"Held back: Varosa Documentation Project \(no grant, {FINGERPRINT}\) may not write in"
        rf" case {_reference(kabora, case_id)}; no member of the case granted it access\.",
    )
    assert report.quarantined == 3
    assert state_digest(kabora.conn) == before
    assert kabora.conn.execute("SELECT count(*) FROM case_shares").fetchone()[0] == 0
    assert peers.shared_with(kabora, case_id) == []
    assert network.export("kabora", "ngo").changesets == 0


def test_grant_by_a_non_member_is_held_back(network: Network) -> None:
    kabora, dressa, ngo = (network.ws[n] for n in ("kabora", "dressa", "ngo"))
    case_id = _case_for(network, "ngo")
    reference = _reference(kabora, case_id)
    before = state_digest(kabora.conn)

    # A member with a partner's role grants Dressa the case.
    ngo.commit(
        case_id,
        [
            Draft(
                "grant",
                new_id(),
                "create",
                {
                    "case_id": case_id,
                    "kind": "grant",
                    "grantee": dressa.origin,
                    "signing_public": dressa.keys.signing_public.hex(),
                    "encryption_public": dressa.keys.encryption_public.hex(),
                    "office_name": dressa.office_name,
                    "role": "office",
                    "at": "2026-12-07T08:00:00+00:00",
                },
            )
        ],
    )
    _held(
        network.send("ngo", "kabora"),
        rf"Held back: Varosa Documentation Project \(ngo, {FINGERPRINT}\) may not grant or"
        rf" remove access in case {reference}; only the case's owner or an office or liaison"
        r" it was shared with may\.",
    )
    assert state_digest(kabora.conn) == before
    assert {p.office_name for p in peers.shared_with(kabora, case_id)} == {ngo.office_name}

    # The local share command refuses the same, with the same words.
    with pytest.raises(InvalidInput, match="may not grant or remove access in case"):
        peers.share_case(ngo, case_id, network.peer("ngo", "liaison"))

    # Dressa, never a member, opens the case at home and grants itself and the ngo.
    dressa.commit(case_id, [Draft("case", case_id, "create", {"reference": "X", "title": "X"})])
    peers.share_case(dressa, case_id, network.peer("dressa", "liaison"))
    peers.share_case(dressa, case_id, network.peer("dressa", "kabora"))
    report = network.send("dressa", "kabora")
    _held(
        report,
        rf"Held back: Dressa field office \(no grant, {FINGERPRINT}\) may not write in case"
        rf" {reference}; no member of the case granted it access\.",
    )
    assert state_digest(kabora.conn) == before
    assert {p.office_name for p in peers.shared_with(kabora, case_id)} == {ngo.office_name}


def _note_before_any_grant(network: Network, case_id: str, sender_to: str) -> str:
    """The ngo, not a member of Kabora's case, opens a case of that id at home, writes a
    note in it and sends both (with its own grant) to `sender_to`: held back there."""
    ngo = network.ws["ngo"]
    ngo.commit(case_id, [Draft("case", case_id, "create", {"reference": "X", "title": "X"})])
    note_id = cases.add_note(ngo, case_id, "Seen at the checkpoint")
    peers.share_case(ngo, case_id, network.peer("ngo", sender_to))
    receiver = network.ws[sender_to]
    before = state_digest(receiver.conn)
    _held(
        network.send("ngo", sender_to),
        rf"Held back: Varosa Documentation Project \(no grant, {FINGERPRINT}\) may not write"
        rf" in case {_reference(receiver, case_id)}; no member of the case granted it access\.",
    )
    assert state_digest(receiver.conn) == before
    assert [held for _, held in _quarantine(receiver)] == ["no grant"] * 3
    return note_id


def test_changeset_held_for_a_missing_grant_applies_when_the_grant_arrives(
    network: Network,
) -> None:
    kabora, liaison = network.ws["kabora"], network.ws["liaison"]
    case_id = _case_for(network, "dressa", "liaison")
    note_id = _note_before_any_grant(network, case_id, "liaison")

    # Dressa, a member, grants the case to the ngo; the grant reaches the liaison later.
    network.share("dressa", case_id, "ngo")
    report = network.send("dressa", "liaison")

    assert report.status == "imported" and report.released == 1, report
    assert queries.get(liaison.conn, Note, note_id).text == "Seen at the checkpoint"
    # What the ngo may not do (write the case record, grant) stays held, now for its role.
    held = _quarantine(liaison)
    assert [kind for _, kind in held] == ["not permitted"] * 2
    assert queries.get(liaison.conn, Case, case_id).title == "Shelling of the Varosa market"
    # Held back or not on the way, the offices end with the same history.
    assert network.send("liaison", "kabora").status == "imported"
    assert network.send("dressa", "kabora").status == "imported"
    assert state_digest(kabora.conn) == state_digest(liaison.conn)


def test_a_held_changeset_applies_after_a_local_share(network: Network) -> None:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market")
    note_id = _note_before_any_grant(network, case_id, "kabora")

    network.share("kabora", case_id, "ngo")

    assert queries.get(kabora.conn, Note, note_id).text == "Seen at the checkpoint"
    assert [kind for _, kind in _quarantine(kabora)] == ["not permitted"] * 2
    assert queries.get(kabora.conn, Case, case_id).title == "Shelling of the Varosa market"


def test_ungranted_peer_changes_after_the_cut_are_held_back(network: Network) -> None:
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id = _case_for(network, "dressa")
    cases.update_case(dressa, case_id, summary="before the cut")
    assert network.send("dressa", "kabora").changesets == 1

    peers.unshare_case(kabora, case_id, network.peer("kabora", "dressa"))
    assert peers.shared_with(kabora, case_id) == []
    cases.update_case(dressa, case_id, summary="after the cut")
    before = state_digest(kabora.conn)
    report = network.send("dressa", "kabora")

    _held(
        report,
        rf"Held back: Dressa field office \(office, {FINGERPRINT}\) may not write in case"
        rf" {_reference(kabora, case_id)}; its access was removed after its changeset \d+\.",
    )
    assert state_digest(kabora.conn) == before
    assert queries.get(kabora.conn, Case, case_id).summary == "before the cut"
    # The ungrant reaches Dressa too, and nothing more of the case is sent to it.
    assert network.send("kabora", "dressa").status == "imported"
    assert network.export("kabora", "dressa").changesets == 0


def _held_ids(ws: Workspace) -> set[tuple[str, str]]:
    return {
        (str(r[0]), str(r[1]))
        for r in ws.conn.execute("SELECT id, reason FROM quarantine WHERE held_for != ''")
    }


def test_every_office_holds_back_the_same_whatever_the_order(network: Network) -> None:
    """Decisions come from signed history, not from arrival order. A partner receives a
    projection and sends its changes to the office that granted it the case (it knows no
    other member): that office holds back what the partner may not do and passes none of
    it on, whatever order the offices exchange in, so all three end with the same state
    and nothing of the refused changes anywhere else. A later grant of full trust applies
    them at the granting office, which then passes them on like any change."""
    offices = ("kabora", "dressa", "liaison")
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = _case_for(network, "dressa", "liaison", "ngo")
    [witness] = queries.in_case(kabora.conn, Person, case_id)

    cases.add_note(ngo, case_id, "Our own note")
    cases.update_record(ngo, Person, witness.id, role="victim")  # not the ngo's record
    cases.update_case(ngo, case_id, summary="Rewritten by the partner")  # the case record
    cases.update_case(network.ws["dressa"], case_id, status="under review")
    # The partner's bundle goes to Kabora only; Dressa hears of Kabora's state through
    # the liaison before Kabora hears from Dressa.
    assert network.export("ngo", "liaison").changesets == 0  # not a member it knows
    assert network.send("ngo", "kabora").quarantined == 2
    assert network.send("kabora", "liaison").status == "imported"
    assert network.send("liaison", "dressa").status == "imported"
    assert network.send("dressa", "kabora").status == "imported"
    for sender in offices:
        for receiver in offices:
            if sender != receiver:
                assert network.send(sender, receiver).status == "imported"

    digests = {name: state_digest(network.ws[name].conn) for name in offices}
    assert len(set(digests.values())) == 1, digests
    held = {name: _held_ids(network.ws[name]) for name in offices}
    assert len(held["kabora"]) == 2 and held["dressa"] == held["liaison"] == set()
    for name in offices:
        assert (
            not network.ws[name]
            .conn.execute(
                "SELECT 1 FROM changesets WHERE origin = ? AND id IN (SELECT id FROM quarantine)",
                (ngo.origin,),
            )
            .fetchone()
        )
    assert queries.get(kabora.conn, Case, case_id).summary == "Three witnesses"


def test_shares_made_before_grants_become_grants_and_subscriptions_are_dropped(
    network: Network,
) -> None:
    """A workspace from before grants (schema 7) held shares a person made and rows the
    old importer added for any peer that wrote in a case. After the upgrade, the first are
    written as grants once; the second are dropped, never granted."""
    kabora = network.ws["kabora"]
    shared, subscribed = cases.add_case(kabora, "Shared by a person"), cases.add_case(kabora, "X")
    liaison, ngo = network.peer("kabora", "liaison"), network.peer("kabora", "ngo")
    with kabora.transaction() as conn:  # what schema 7 left behind
        for case_id, peer in ((shared, liaison), (subscribed, ngo)):
            conn.execute(
                "INSERT INTO case_shares(case_id, peer_origin, shared_at) VALUES (?,?,'')",
                (case_id, peer.origin),
            )
        audit.append(conn, kabora.author, "case shared", shared, {"peer": liaison.peer_id})
        kabora.set_meta(peers.LEGACY_SHARES_META, "pending")

    assert peers.grant_shares_made_before_grants(kabora) == 1
    assert peers.grant_shares_made_before_grants(kabora) == 0  # once

    assert [p.origin for p in peers.shared_with(kabora, shared)] == [liaison.origin]
    assert peers.shared_with(kabora, subscribed) == []
    report = network.send("kabora", "liaison")
    assert report.status == "imported" and report.cases == {shared}


def test_case_claimed_first_by_a_stranger_is_refused(network: Network) -> None:
    kabora, dressa, ngo = (network.ws[n] for n in ("kabora", "dressa", "ngo"))
    case_id = cases.add_case(kabora, "Shelling of the Varosa market", "Three witnesses")
    before = state_digest(dressa.conn)

    # The ngo learnt the id from a filing and tells Dressa, which does not hold the case
    # yet, that it opened a case of that id and shares it with Dressa.
    ngo.commit(
        case_id,
        [Draft("case", case_id, "create", {"reference": "X-1", "title": "A staged incident"})],
    )
    cases.add_note(ngo, case_id, "Send your work in this case to us")
    peers.share_case(ngo, case_id, network.peer("ngo", "dressa"))
    report = network.send("ngo", "dressa")

    assert report.status == "imported" and report.changesets == 0, report
    assert any(
        re.fullmatch(
            rf"Held back: Varosa Documentation Project \(no grant, {FINGERPRINT}\) may not open"
            rf" case {case_id[:8]}; its id was made by another office's key, so only that"
            r" office can have opened it\.",
            reason,
        )
        for reason in report.quarantine_reasons
    ), report.quarantine_reasons
    assert state_digest(dressa.conn) == before
    assert dressa.conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None

    # The real owner's case reaches Dressa afterwards and is Kabora's there.
    network.share("kabora", case_id, "dressa")
    assert network.send("kabora", "dressa").status == "imported"
    assert queries.get(dressa.conn, Case, case_id).title == "Shelling of the Varosa market"
    cases.update_case(kabora, case_id, summary="Four witnesses")
    assert network.send("kabora", "dressa").changesets == 1
    assert queries.get(dressa.conn, Case, case_id).summary == "Four witnesses"
    # What the stranger wrote stays held back, now for want of a grant; nothing of its
    # claim is applied and Dressa sends it nothing of the case.
    assert ngo.office_name not in {p.office_name for p in peers.shared_with(dressa, case_id)}
    assert not dressa.conn.execute(
        "SELECT 1 FROM changesets WHERE origin = ?", (ngo.origin,)
    ).fetchone()


def test_a_case_from_before_bound_ids_is_accepted_only_from_an_office(network: Network) -> None:
    kabora, dressa, ngo = (network.ws[n] for n in ("kabora", "dressa", "ngo"))
    legacy = new_id()  # 20 hex digits: an id made before ids were bound to their creator
    kabora.commit(
        legacy, [Draft("case", legacy, "create", {"reference": "OLD-1", "title": "Old case"})]
    )
    ngo.commit(legacy, [Draft("case", legacy, "create", {"reference": "X", "title": "X"})])
    peers.share_case(ngo, legacy, network.peer("ngo", "dressa"))
    before = state_digest(dressa.conn)

    report = network.send("ngo", "dressa")

    assert report.changesets == 0, report
    assert any(
        re.fullmatch(
            rf"Held back: Varosa Documentation Project \(no grant, {FINGERPRINT}\) may not open"
            rf" case {legacy[:8]}; a case from before case ids were bound to their creator is"
            r" accepted only from a peer this office knows as an office or liaison\.",
            reason,
        )
        for reason in report.quarantine_reasons
    ), report.quarantine_reasons
    assert state_digest(dressa.conn) == before
    network.share("kabora", legacy, "dressa")
    assert network.send("kabora", "dressa").status == "imported"
    assert queries.get(dressa.conn, Case, legacy).title == "Old case"


def test_a_stranger_dressing_its_claim_as_a_partners_copy_is_refused(network: Network) -> None:
    kabora, dressa, ngo = (network.ws[n] for n in ("kabora", "dressa", "ngo"))
    case_id = cases.add_case(kabora, "Shelling of the Varosa market")
    before = state_digest(dressa.conn)

    # The ngo opens Kabora's case id and, in the same changeset, grants it to Dressa as if
    # Dressa were a partner receiving an office's copy.
    grant = {
        "case_id": case_id,
        "kind": "grant",
        "grantee": dressa.origin,
        "signing_public": dressa.keys.signing_public.hex(),
        "encryption_public": dressa.keys.encryption_public.hex(),
        "office_name": dressa.office_name,
        "role": "ngo",
        "at": "2026-12-07T08:00:00+00:00",
    }
    ngo.commit(
        case_id,
        [
            Draft("case", case_id, "create", {"reference": "X-1", "title": "A staged incident"}),
            Draft("grant", new_id(), "create", grant),
        ],
    )
    report = network.send("ngo", "dressa")

    assert report.changesets == 0, report
    assert any(
        reason.endswith(
            "its id was made by another office's key, so only that office can have opened it."
        )
        for reason in report.quarantine_reasons
    ), report.quarantine_reasons
    assert state_digest(dressa.conn) == before


def test_ngo_creating_a_note_under_the_id_of_a_legal_element_is_refused(
    network: Network,
) -> None:
    """The NGO, which is never sent legal elements, learns the id of one and creates a note
    under it: at Kabora that id already names the element. Before, the search index
    refused the row and the whole import failed with "is its disk full?". Now that note is
    refused with a sentence, what the NGO wrote after it waits behind it, and the element
    and its search entry are as they were."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = _case_for(network, "ngo")
    element = cases.add_element(kabora, case_id, "Attack on civilians", "Intent")
    note = {"case_id": case_id, "text": "Spoke to the family", "class": "open"}
    ngo.commit(case_id, [Draft("note", element, "create", note)])
    cases.add_note(ngo, case_id, "A second visit on Friday")
    before = state_digest(kabora.conn)

    report = network.send("ngo", "kabora")

    assert report.status == "imported", report.message
    assert report.changesets == 0 and report.quarantined == 1
    [reason] = report.quarantine_reasons
    assert f"creates a note under the id {element}, which already names a legal element" in (reason)
    assert state_digest(kabora.conn) == before
    assert queries.get(kabora.conn, Element, element).charge == "Attack on civilians"
    assert [hit.entity for hit in search(kabora.conn, "civilians")] == ["element"]


def test_office_creating_notes_under_the_id_of_an_element_it_lacks_is_refused(
    network: Network,
) -> None:
    """Dressa, a full member, writes a run of new notes (what the import writes in bulk),
    one of them under the id of a legal element Kabora added since Dressa's last bundle:
    that one is refused with the same sentence as one at a time, the notes before it apply,
    and the element keeps its search entry."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id = _case_for(network, "dressa")
    element = cases.add_element(kabora, case_id, "Attack on civilians", "Intent")
    first = [cases.add_note(dressa, case_id, f"Door to door, street {n}") for n in range(3)]
    note = {"case_id": case_id, "text": "Spoke to the family", "class": "open"}
    dressa.commit(case_id, [Draft("note", element, "create", note)])

    report = network.send("dressa", "kabora")

    assert report.status == "imported", report.message
    assert report.changesets == 3 and report.quarantined == 1
    [reason] = report.quarantine_reasons
    assert f"creates a note under the id {element}, which already names a legal element" in (reason)
    assert [queries.get(kabora.conn, Note, n).text for n in first] == [
        f"Door to door, street {n}" for n in range(3)
    ]
    assert queries.get(kabora.conn, Element, element).charge == "Attack on civilians"
    assert [hit.entity for hit in search(kabora.conn, "civilians")] == ["element"]
