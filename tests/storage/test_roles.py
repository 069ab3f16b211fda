"""Roles decide locally what a user may do (issue 13): one test per misuse.

One office with a user of every role. For each guarded action the role that may do it
succeeds, and every other role is refused with the sentence (naming the user, their role
and who may), an audit entry "refused" naming what was tried, and nothing else changed:
every table but the audit chain, the key file and every other file of the workspace are
compared before and after. Checks live in storage and sync, so the window and the command
line are refused alike.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyrage import x25519

from storage import cases, consent, escrow, evidence, paper_shares, queries, rekey, roles, users
from storage.audit import entries
from storage.identity import generate
from storage.keyfile import FAST_INSECURE_KDF
from storage.records import Case, Person
from storage.releases import release_evidence, releases_of, withdraw_release
from storage.workspace import Workspace, create_workspace, open_workspace
from sync import peer_state, peers, trust
from sync.cards import ContactCard

SUPERVISOR_PASSPHRASE = "the supervisor's long passphrase"
# name -> (role, the words a refusal uses for it, passphrase)
USERS = {
    "Sam": (users.SUPERVISOR, "a supervisor", SUPERVISOR_PASSPHRASE),
    "Ines": (users.INVESTIGATOR, "an investigator", "ines keeps a passphrase of her own"),
    "Pia": (users.PROTECTION_OFFICER, "a protection officer", "pia keeps a passphrase too"),
    "Ivo": (users.IT, "on the IT staff", "ivo looks after the laptops"),
}
EVERYONE = tuple(USERS)
REFERENCE = "VAR-KAB-2027-0001"
RECORDERS = "an investigator, protection officer or supervisor"


@dataclass(frozen=True)
class Office:
    """The seeded office, closed: its folder and the ids tests act on."""

    root: Path
    case_id: str
    witness: str  # protected (full), W-0001
    bystander: str  # recorded without protection
    item: str  # an evidence item, released to the NGO peer
    ngo: str  # peer id of an NGO peer (verified), the case not shared with it
    office: str  # peer id of an office peer (not verified), the case shared with it


def _card(office: str, role: str) -> ContactCard:
    keys = generate()
    return ContactCard(office, role, keys.signing_public, keys.encryption_public, "2027-01-01")


@pytest.fixture(scope="module")
def office_template(tmp_path_factory: pytest.TempPathFactory) -> Office:
    """Made once: a supervisor (Sam) adds the others, a case with a protected witness and
    a person without protection, an evidence item released to an NGO peer, and an office
    peer the case is shared with."""
    base = tmp_path_factory.mktemp("roles")
    root = base / "ws"
    ws = create_workspace(
        root,
        "Kabora field office",
        SUPERVISOR_PASSPHRASE,
        user="Sam",
        office_code="KAB",
        situation="VAR",
        kdf=FAST_INSECURE_KDF,
    )
    with ws:
        for name, (role, _, passphrase) in USERS.items():
            if name != "Sam":
                users.add_user(ws, name, role, passphrase)
        case_id = cases.add_case(ws, "Shelling of the market", reference=REFERENCE)
        witness = cases.add_person(ws, case_id, "witness", name="Amani Okello", protected=True)
        bystander = cases.add_person(ws, case_id, "victim", name="Joseph Lado")
        photo = base / "north-wall.jpg"
        photo.write_bytes(b"\xff\xd8 a photograph of the north wall")
        item = evidence.add_evidence(ws, case_id, photo)
        ngo = peers.add_peer(ws, _card("Varosa Documentation Project", "ngo"), "ngo")
        ngo = peers.verify_peer(ws, ngo, ngo.fingerprint)
        office = peers.add_peer(ws, _card("Dressa field office", "office"), "office")
        peers.share_case(ws, case_id, office)
        release_evidence(
            ws, item, grantee_origin=ngo.origin, grantee_role="ngo", grantee_name=ngo.office_name
        )
    return Office(root, case_id, witness, bystander, item, ngo.peer_id, office.peer_id)


@pytest.fixture
def office(office_template: Office, tmp_path: Path) -> Office:
    """A fresh copy of the seeded office per test."""
    root = tmp_path / "ws"
    shutil.copytree(office_template.root, root)
    return dataclasses.replace(office_template, root=root)


@pytest.fixture
def unlock(office: Office) -> Iterator[Callable[[str], Workspace]]:
    """Unlock the office as a user (their own passphrase); closed after the test."""
    opened: list[Workspace] = []

    def as_user(name: str) -> Workspace:
        ws = open_workspace(office.root, USERS[name][2], user=name)
        opened.append(ws)
        return ws

    yield as_user
    for ws in opened:
        ws.close()


# -- what "nothing changed" means -----------------------------------------------------------


@dataclass(frozen=True)
class State:
    """Every table but the audit chain (and its head in `meta`), and every file of the
    workspace folder but the database's own (whose pages change with any audit entry)."""

    tables: dict[str, str]
    files: dict[str, str]
    audit_seq: int


def state(ws: Workspace, *also: Path) -> State:
    tables = {}
    names = ws.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    for (name,) in names.fetchall():
        if name == "audit":
            continue
        where = " WHERE key != 'audit_head'" if name == "meta" else ""
        digest = hashlib.sha256()
        for row in ws.conn.execute(f'SELECT * FROM "{name}"{where} ORDER BY 1'):
            digest.update(repr(row).encode())
        tables[name] = digest.hexdigest()
    files = {}
    for folder in (ws.paths.root, *also):
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file() and not path.name.startswith(("workspace.db", ".lock")):
                files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return State(tables, files, entries(ws.conn, limit=1)[0].seq)


def expect_refusal(
    ws: Workspace,
    attempt: Callable[[], object],
    *,
    allowed: str,
    what: str,
    action: roles.Action,
    also: tuple[Path, ...] = (),
) -> None:
    """`attempt` is refused with the exact sentence, one audit entry records it, and
    nothing else changed (nor appeared in the folders `also`)."""
    assert ws.user is not None
    before = state(ws, *also)
    with pytest.raises(roles.NotPermitted) as refused:
        attempt()
    as_role = USERS[ws.user.name][1]
    assert str(refused.value) == (
        f"{ws.user.name} is {as_role} here; only {allowed} may {what}. Nothing changed,"
        " and the attempt is recorded in the audit log."
    )
    after = state(ws, *also)
    assert after.tables == before.tables
    assert after.files == before.files
    assert after.audit_seq == before.audit_seq + 1
    entry = entries(ws.conn, limit=1)[0]
    assert (entry.actor, entry.action, entry.subject) == (ws.user.name, "refused", what)
    assert json.loads(entry.detail) == {"action": action.name}
    assert ws.verify_audit().ok


def others(*allowed: str) -> list[str]:
    return [name for name in EVERYONE if name not in allowed]


# -- revealing and protecting identities ----------------------------------------------------


@pytest.mark.parametrize("user", others("Pia"))
def test_only_a_protection_officer_can_reveal_a_protected_witness(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    """`valise person list --reveal` and the window's Reveal identity… both record the
    reveal through `record_reveal` before showing anything; for anyone else it refuses."""
    ws = unlock(user)
    expect_refusal(
        ws,
        lambda: cases.record_reveal(ws, office.case_id, [office.witness]),
        allowed="a protection officer",
        what=f"reveal the identity of W-0001 in case {REFERENCE}",
        action=roles.REVEAL_IDENTITY,
    )


def test_a_protection_officer_reveals_and_the_reveal_is_audited(
    office: Office, unlock: Callable[[str], Workspace]
) -> None:
    ws = unlock("Pia")
    cases.record_reveal(ws, office.case_id, [office.witness])
    entry = entries(ws.conn, limit=1)[0]
    assert (entry.actor, entry.action) == ("Pia", cases.REVEAL_ACTION)
    assert "Amani" not in entry.detail


@pytest.mark.parametrize("user", others("Pia"))
def test_only_a_protection_officer_can_lift_a_witness_protection(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    """Lifting protection shows the name to everyone without a reveal: the same rule."""
    ws = unlock(user)
    expect_refusal(
        ws,
        lambda: cases.update_record(ws, Person, office.witness, protection="none"),
        allowed="a protection officer",
        what="change the protection of W-0001 from full to none",
        action=roles.CHANGE_PROTECTION,
    )


@pytest.mark.parametrize("user", ["Ines", "Sam"])
def test_only_a_protection_officer_can_change_the_protection_of_a_recorded_person(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    """Protecting a person recorded without protection is also a protection officer's
    decision (the name is in the history already; they decide what follows)."""
    ws = unlock(user)
    expect_refusal(
        ws,
        lambda: cases.update_record(ws, Person, office.bystander, protection="partial"),
        allowed="a protection officer",
        what=f"change the protection of person {office.bystander} from none to partial",
        action=roles.CHANGE_PROTECTION,
    )


def test_a_protection_officer_changes_protection(
    office: Office, unlock: Callable[[str], Workspace]
) -> None:
    ws = unlock("Pia")
    cases.update_record(ws, Person, office.witness, protection="partial")
    cases.update_record(ws, Person, office.bystander, protection="full", pseudonym="W-0002")
    assert queries.get(ws.conn, Person, office.witness).protection == "partial"
    assert queries.get(ws.conn, Person, office.bystander).protection == "full"


def test_an_investigator_still_records_new_persons_protected_or_not_and_edits_others(
    office: Office, unlock: Callable[[str], Workspace]
) -> None:
    """Protecting by default is safe: anyone who records may add a protected person (or
    one without protection), and edit a protected person's other fields."""
    ws = unlock("Ines")
    protected = cases.add_person(ws, office.case_id, "witness", name="Rose Ayen", protected=True)
    cases.add_person(ws, office.case_id, "victim", name="Peter Deng")
    cases.update_record(ws, Person, office.witness, role="victim")
    assert queries.get(ws.conn, Person, protected).protection == "full"
    assert queries.get(ws.conn, Person, office.witness).role == "victim"


# -- releases -------------------------------------------------------------------------------


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_release_evidence_to_the_defence(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    expect_refusal(
        ws,
        lambda: release_evidence(
            ws, office.item, grantee_origin="", grantee_role="defence", grantee_name=""
        ),
        allowed="a supervisor",
        what="release VAR-KAB-0001-0001 to every defence peer",
        action=roles.APPROVE_RELEASE,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_withdraw_a_release(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    ngo = peers.get_peer(ws, office.ngo)
    expect_refusal(
        ws,
        lambda: withdraw_release(ws, office.item, grantee_origin=ngo.origin, grantee_role="ngo"),
        allowed="a supervisor",
        what=(f"withdraw the release of VAR-KAB-0001-0001 to peer {ngo.origin[:16]} (ngo)"),
        action=roles.APPROVE_RELEASE,
    )


def test_a_supervisor_releases_and_withdraws(
    office: Office, unlock: Callable[[str], Workspace]
) -> None:
    ws = unlock("Sam")
    release_evidence(ws, office.item, grantee_origin="", grantee_role="defence", grantee_name="")
    ngo = peers.get_peer(ws, office.ngo)
    assert withdraw_release(ws, office.item, grantee_origin=ngo.origin, grantee_role="ngo") == 1
    standing = [r for r in releases_of(ws.conn, office.item) if not r.withdrawn]
    assert [r.grantee_role for r in standing] == ["defence"]


# -- peers and the trust in keys ------------------------------------------------------------


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_add_a_peer(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    card = _card("Impostor field office", "office")
    expect_refusal(
        ws,
        lambda: peers.add_peer(ws, card, "liaison"),
        allowed="a supervisor",
        what="add Impostor field office as a peer",
        action=roles.MANAGE_PEERS,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_mark_a_card_as_verified(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    peer = peers.get_peer(ws, office.office)
    expect_refusal(
        ws,
        lambda: peers.verify_peer(ws, peer, peer.fingerprint),
        allowed="a supervisor",
        what="mark the card of Dressa field office as verified",
        action=roles.MANAGE_PEERS,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_share_a_case_with_a_peer(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    peer = peers.get_peer(ws, office.ngo)
    expect_refusal(
        ws,
        lambda: peers.share_case(ws, office.case_id, peer),
        allowed="a supervisor",
        what=f"share case {REFERENCE} with Varosa Documentation Project",
        action=roles.MANAGE_PEERS,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_stop_sharing_a_case(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    peer = peers.get_peer(ws, office.office)
    expect_refusal(
        ws,
        lambda: peers.unshare_case(ws, office.case_id, peer),
        allowed="a supervisor",
        what=f"stop sharing case {REFERENCE} with Dressa field office",
        action=roles.MANAGE_PEERS,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_revoke_a_peer_key(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    peer = peers.get_peer(ws, office.office)
    expect_refusal(
        ws,
        lambda: trust.revoke_peer(ws, peer, 0, "laptop stolen"),
        allowed="a supervisor",
        what="revoke the key of Dressa field office",
        action=roles.MANAGE_PEERS,
    )


@pytest.mark.parametrize("user", others("Sam"))
@pytest.mark.parametrize(
    ("decide", "what"),
    [
        (trust.confirm_advisory, "confirm the advisory revocation 0123456789ab"),
        (trust.dismiss_advisory, "dismiss the advisory revocation 0123456789ab"),
        (trust.retract_revocation, "retract the revocation 0123456789ab"),
    ],
    ids=["confirm", "dismiss", "retract"],
)
def test_only_a_supervisor_can_decide_about_a_revocation(
    unlock: Callable[[str], Workspace],
    user: str,
    decide: Callable[[Workspace, str], object],
    what: str,
) -> None:
    """Refused before the statement is even looked up (the supervisor's side of these is
    in tests/sync/test_trust_authority.py, run as the only user, a supervisor)."""
    ws = unlock(user)
    expect_refusal(
        ws,
        lambda: decide(ws, "0123456789ab"),
        allowed="a supervisor",
        what=what,
        action=roles.MANAGE_PEERS,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_name_an_authority_over_revocation(
    unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    card = _card("Tribunal liaison", "liaison")
    expect_refusal(
        ws,
        lambda: trust.name_authority_card(ws, card, card.fingerprint),
        allowed="a supervisor",
        what="name Tribunal liaison as an authority over revocation",
        action=roles.MANAGE_PEERS,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_let_unverified_peers_in(
    unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    expect_refusal(
        ws,
        lambda: peer_state.set_accept_unverified_peers(ws, True),
        allowed="a supervisor",
        what="accept peers whose fingerprint was never compared",
        action=roles.MANAGE_PEERS,
    )


def test_a_supervisor_manages_peers_and_trust(
    office: Office, unlock: Callable[[str], Workspace]
) -> None:
    ws = unlock("Sam")
    peers.add_peer(ws, _card("Sarro field office", "office"), "office")
    dressa = peers.get_peer(ws, office.office)
    dressa = peers.verify_peer(ws, dressa, dressa.fingerprint)
    ngo = peers.get_peer(ws, office.ngo)
    peers.share_case(ws, office.case_id, ngo)
    assert {p.peer_id for p in peers.shared_with(ws, office.case_id)} >= {office.ngo}
    peers.unshare_case(ws, office.case_id, ngo)
    revocation = trust.revoke_peer(ws, dressa, 0, "laptop stolen")
    trust.retract_revocation(ws, revocation[:12])
    liaison = _card("Tribunal liaison", "liaison")
    trust.name_authority_card(ws, liaison, liaison.fingerprint)
    assert peer_state.set_accept_unverified_peers(ws, True)
    assert dressa.verified


# -- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_replace_the_office_keys(
    unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    expect_refusal(
        ws,
        lambda: trust.rotate_identity(ws),
        allowed="a supervisor",
        what="replace the keys of Kabora field office",
        action=roles.MANAGE_KEYS,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_rekey_the_workspace(
    unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    expect_refusal(
        ws,
        lambda: rekey.rekey(ws, rekey.sealed_for_every_user(ws)),
        allowed="a supervisor",
        what="re-encrypt the workspace under a new key",
        action=roles.MANAGE_KEYS,
    )


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_make_recovery_shares(
    unlock: Callable[[str], Workspace], user: str, tmp_path: Path
) -> None:
    """A recovery share opens the workspace whoever holds it: nobody else prints them."""
    ws = unlock(user)
    out = tmp_path / "shares"
    expect_refusal(
        ws,
        lambda: paper_shares.make_shares(ws, 2, 3, out),
        allowed="a supervisor",
        what="make a new set of recovery shares",
        action=roles.MANAGE_KEYS,
    )
    assert not out.exists()


@pytest.mark.parametrize("user", others("Sam"))
def test_only_a_supervisor_can_seal_the_key_in_an_escrow(
    unlock: Callable[[str], Workspace], user: str, tmp_path: Path
) -> None:
    """An escrow sealed to a key of one's own would be a way in that nobody decided."""
    ws = unlock(user)
    out = tmp_path / "escrow.age"
    recipient = str(x25519.Identity.generate().to_public())
    expect_refusal(
        ws,
        lambda: escrow.write_escrow(ws, recipient, out),
        allowed="a supervisor",
        what="seal the workspace's key in a recovery escrow",
        action=roles.MANAGE_KEYS,
        also=(tmp_path,),
    )
    assert not out.exists()


def test_a_supervisor_manages_keys(
    office: Office, unlock: Callable[[str], Workspace], tmp_path: Path
) -> None:
    ws = unlock("Sam")
    recipient = str(x25519.Identity.generate().to_public())
    escrow.write_escrow(ws, recipient, tmp_path / "escrow.age")
    made = paper_shares.make_shares(ws, 2, 3, tmp_path / "shares")
    assert len(made.files) == 6
    trust.rotate_identity(ws)
    rekey.rekey(ws, rekey.sealed_for_every_user(ws))  # closes ws
    with open_workspace(office.root, USERS["Ines"][2], user="Ines") as again:
        assert again.user is not None and again.user.name == "Ines"


# -- recording ------------------------------------------------------------------------------

RECORD_ATTEMPTS: dict[str, tuple[Callable[[Workspace, Office, Path], object], str]] = {
    "open a case": (lambda ws, o, _: cases.add_case(ws, "Looting"), "open a new case"),
    "change a case": (
        lambda ws, o, _: cases.update_case(ws, o.case_id, summary="rewritten"),
        f"change case {REFERENCE}",
    ),
    "add a person": (
        lambda ws, o, _: cases.add_person(ws, o.case_id, "witness", protected=True),
        f"add a person to case {REFERENCE}",
    ),
    "withdraw a person": (
        lambda ws, o, _: cases.withdraw(ws, Person, o.bystander),
        f"withdraw a person from case {REFERENCE}",
    ),
    "add an incident": (
        lambda ws, o, _: cases.add_incident(ws, o.case_id, "Shelling", date_from="2027-03"),
        f"add an incident to case {REFERENCE}",
    ),
    "add a note": (
        lambda ws, o, _: cases.add_note(ws, o.case_id, "Visited the market"),
        f"add a note to case {REFERENCE}",
    ),
    "add evidence": (
        lambda ws, o, folder: evidence.add_evidence(ws, o.case_id, folder / "photo.jpg"),
        f"add an evidence item to case {REFERENCE}",
    ),
    "record consent": (
        lambda ws, o, _: consent.record_consent(ws, o.witness, "tribunal", "given"),
        f"add a consent statement to case {REFERENCE}",
    ),
}


@pytest.mark.parametrize("attempt", RECORD_ATTEMPTS)
def test_it_staff_cannot_write_into_a_case(
    office: Office, unlock: Callable[[str], Workspace], tmp_path: Path, attempt: str
) -> None:
    """IT staff look after the laptops: they write nothing into a case's history, by the
    window or the command line (the check is in `Workspace.commit`, and add_case's own
    transaction does not take the refusal's audit entry with it)."""
    ws = unlock("Ivo")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8 another photograph")
    run, what = RECORD_ATTEMPTS[attempt]
    expect_refusal(
        ws,
        lambda: run(ws, office, tmp_path),
        allowed=RECORDERS,
        what=what,
        action=roles.RECORD,
    )


@pytest.mark.parametrize("user", others("Ivo"))
def test_every_recording_role_records(
    office: Office, unlock: Callable[[str], Workspace], user: str
) -> None:
    ws = unlock(user)
    note = cases.add_note(ws, office.case_id, f"Written by {user}")
    cases.update_case(ws, office.case_id, summary=f"Summary by {user}")
    assert queries.get(ws.conn, Case, office.case_id).summary == f"Summary by {user}"
    assert note


def test_a_refusal_inside_a_transaction_is_audited_once_it_is_undone(
    office: Office, unlock: Callable[[str], Workspace]
) -> None:
    """A caller's own transaction rolls back with the refusal; the audit entry that says
    who tried is written after it, not lost with it."""
    ws = unlock("Ivo")
    before = state(ws)
    with pytest.raises(roles.NotPermitted), ws.transaction():
        ws.set_meta("scratch", "written before the refusal")
        cases.add_note(ws, office.case_id, "inside")
    assert state(ws).tables == before.tables
    entry = entries(ws.conn, limit=1)[0]
    assert (entry.actor, entry.action) == ("Ivo", "refused")
    assert ws.verify_audit().ok
