"""Statements about keys: revoking a peer's key, replacing our own, and who may do either.

`revoke` (a lost or stolen laptop): changesets signed by the peer's key after a sequence
number are refused wherever the statement counts. It counts when signed by the key's own
holder, by the office itself, or by an authority the office named (`name_authority`: the
tribunal liaison's key, say); anyone else's is an advisory that a person here confirms
(`confirm_advisory` signs our own revocation) or dismisses. An authority, or the office
itself, may `retract` a revocation. storage.key_trust derives what all of it means, the
same whatever order the statements arrive in.

`rotate`: a new key pair replaces ours; the statement naming the new keys is signed with
the old key, the old key is retired after it, and every bundle we write afterwards carries
an endorsement (the new public keys signed with the old key) so peers that have not yet
applied the statement still recognise us. A rotation counts only when announced at or
before the old key's revocation point, and the new key starts on probation (never
`verified`): a person compares its fingerprint again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from storage import audit, key_trust, roles
from storage.grants import cases_of, derive_shares
from storage.identity import NodeKeys, fingerprint, generate, origin_of
from storage.key_trust import RETIRED_KEYS_META, KeyStatement, KeyTrust
from storage.signers import Signer, Signers
from storage.text_rules import one_line
from storage.workspace import Draft, Workspace, new_id
from sync import takeback
from sync.bundle_format import refuse
from sync.cards import ContactCard, read_card
from sync.errors import SyncError, UnknownPeer
from sync.peers import PEER_ID_LENGTH, Peer, get_peer, peer_by_origin

ENDORSEMENT_DOMAIN = b"valise/key-rotation/v1\n"
ENDORSEMENT_META = "rotation_endorsement"
# Roles whose bundles may introduce origins this office has no key for.
INTRODUCING_ROLES = ("office", "liaison")
SHORT_ID = 8
MAX_REASON = 200


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def last_seq_of(ws: Workspace, origin: str) -> tuple[int, int]:
    """(epoch, seq) of the newest changeset we hold from `origin`, (0, 0) if none."""
    row = ws.conn.execute(
        "SELECT epoch, seq FROM changesets WHERE origin = ? ORDER BY epoch DESC, seq DESC LIMIT 1",
        (origin,),
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# -- who is who, in words -------------------------------------------------------------------


def office_label(ws: Workspace, origin: str) -> str:
    """An origin as a person should read it: the office name from a card we hold (a peer,
    an authority, or ourselves) and the start of its id; an origin whose card we do not
    hold is shown as unknown, with the name it gives itself only as a claim."""
    short = origin[:SHORT_ID] + "…"
    if origin in key_trust.own_origins(ws.conn):
        return f"{ws.office_name} (this office, {short})"
    peer = peer_by_origin(ws, origin)
    if peer is not None:
        return f"{one_line(peer.office_name, 80)} ({peer.role}, {short})"
    row = ws.conn.execute(
        "SELECT office_name FROM trust_authorities WHERE origin = ?", (origin,)
    ).fetchone()
    if row:
        return f"{one_line(str(row[0]), 80)} (authority, {short})"
    row = ws.conn.execute("SELECT office_name FROM origins WHERE origin = ?", (origin,)).fetchone()
    claimed = f", calling itself {one_line(str(row[0]), 60)!r}" if row and row[0] else ""
    return f"an unknown office ({short}{claimed}; no contact card here)"


# -- revocations ----------------------------------------------------------------------------


def revoke_peer(ws: Workspace, peer: Peer, after_seq: int, reason: str = "") -> str:
    """Revoke `peer`'s key after its changeset `after_seq` (of its newest epoch we know);
    the statement goes to every peer in the next bundles, and counts wherever we are the
    key's holder or a named authority (an advisory elsewhere)."""
    roles.require(ws, roles.MANAGE_PEERS, f"revoke the key of {peer.office_name}")
    epoch, _ = last_seq_of(ws, peer.origin)
    return _commit_revocation(
        ws, peer.origin, peer.office_name, epoch, after_seq, reason, "key revoked"
    )


def _commit_revocation(
    ws: Workspace,
    subject: str,
    office_name: str,
    epoch: int,
    after_seq: int,
    reason: str,
    audit_action: str,
) -> str:
    statement = {
        "statement": key_trust.REVOKE,
        "subject": subject,
        "epoch": epoch,
        "after_seq": after_seq,
        "office_name": office_name,
        "reason": _reason(reason) or "key revoked (lost or compromised device)",
        "at": _now(),
    }
    draft = Draft("trust", new_id(), "create", statement)
    # A point before changesets already applied here takes them back (sync.takeback).
    return takeback.commit_taking_back(
        ws, lambda: ws.commit("", [draft], audit_action=audit_action)
    )


def _reason(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_REASON:
        raise SyncError(f"A reason is at most {MAX_REASON} characters; give a shorter one.")
    return text


@dataclass(frozen=True)
class RevocationEntry:
    """One revocation or retraction held here, with what it amounts to, for people."""

    statement_id: str  # the op reference; `short_id` is what people type
    kind: str  # revoke or retract
    status: str  # effective, advisory, retracted, dismissed, confirmed, ignored, ...
    subject: str
    subject_label: str
    signer: str
    signer_label: str
    after: str  # "changeset N" of the subject (revocations)
    reason: str
    retracts: str = ""
    retracted_by: str = ""
    signed_at: str = ""  # when the signer says it signed it (ISO 8601 UTC, a claim)
    point: tuple[int, int] = (0, 0)  # revocations: (epoch, seq) after which nothing counts

    @property
    def short_id(self) -> str:
        """The statement's id as people type it."""
        return short_statement_id(self.statement_id)

    def to_json(self) -> dict[str, Any]:
        """A plain form for --json output."""
        return {
            "id": self.short_id,
            "statement": self.statement_id,
            "kind": self.kind,
            "status": self.status,
            "subject": self.subject,
            "subject_office": self.subject_label,
            "signed_by": self.signer,
            "signed_by_office": self.signer_label,
            "after": self.after,
            "reason": self.reason,
            "retracts": self.retracts,
            "retracted_by": self.retracted_by,
            "signed_at": self.signed_at,
        }


def short_statement_id(ref: str) -> str:
    """ "changeset id:index" as 12 hex digits (and ":index" when it is not the first op)."""
    cs_id, _, index = ref.partition(":")
    return cs_id[:12] if index in ("", "0") else f"{cs_id[:12]}:{index}"


def revocation_entries(ws: Workspace) -> list[RevocationEntry]:
    """Every revocation and retraction held here, who signed it and what it amounts to."""
    trust = key_trust.current(ws.conn)
    decisions = {
        str(row[0]): str(row[1])
        for row in ws.conn.execute("SELECT statement, decision FROM revocation_decisions")
    }
    entries = []
    for s in key_trust.key_statements(ws.conn):
        if s.kind not in (key_trust.REVOKE, key_trust.RETRACT):
            continue
        status = trust.status.get(s.ref, key_trust.IGNORED)
        if status == key_trust.ADVISORY and s.ref in decisions:
            status = decisions[s.ref]
        entries.append(
            RevocationEntry(
                statement_id=s.ref,
                kind=s.kind,
                status=status,
                subject=s.subject,
                subject_label=office_label(ws, s.subject),
                signer=s.signer,
                signer_label=office_label(ws, s.signer),
                after=f"changeset {s.point[1]}" if s.kind == key_trust.REVOKE else "",
                reason=one_line(s.reason, MAX_REASON),
                retracts=short_statement_id(s.retracts) if s.retracts else "",
                retracted_by=short_statement_id(trust.retracted_by.get(s.ref, "")),
                signed_at=one_line(s.at, 40),
                point=s.point,
            )
        )
    entries.sort(key=lambda e: (e.status != key_trust.ADVISORY, e.subject_label, e.statement_id))
    return entries


def advisories_waiting(ws: Workspace) -> int:
    """How many advisory revocations wait for a person here to confirm or dismiss them
    (the window's notice; a few rows of statements, read without naming anybody)."""
    status = key_trust.current(ws.conn).status
    decided = {str(row[0]) for row in ws.conn.execute("SELECT statement FROM revocation_decisions")}
    return sum(
        1
        for s in key_trust.key_statements(ws.conn)
        if s.kind == key_trust.REVOKE  # an advisory retraction is no one's to decide here
        and status.get(s.ref) == key_trust.ADVISORY
        and s.ref not in decided
    )


def party(ws: Workspace, signers: Signers, origin: str) -> Signer:
    """The holder of `origin` as the window names it beside a revocation: ourselves, a
    peer from its card, or an authority we named from its card (role "authority"); an
    origin of which no card is held stays unknown (its self-given name is only a claim)."""
    found = signers.of(origin)
    if found.known:
        return found
    row = ws.conn.execute(
        "SELECT office_name, fingerprint FROM trust_authorities WHERE origin = ?", (origin,)
    ).fetchone()
    if row is None:
        return found
    return Signer(origin, str(row[0]), "authority", str(row[1]))


def is_authority_here(ws: Workspace, origin: str) -> bool:
    """True when this office named `origin` as an authority over revocation."""
    return origin in key_trust.authorities(ws.conn)


def find_statement(ws: Workspace, text: str) -> KeyStatement:
    """The revocation or retraction whose id starts with `text` (12 digits as listed)."""
    wanted = text.strip().lower()
    cs_part, _, index = wanted.partition(":")
    if (
        len(cs_part) < 8
        or not all(c in "0123456789abcdef" for c in cs_part)
        or (index and not index.isdigit())
    ):
        raise SyncError(
            f"{one_line(text, 40)!r} is not a statement id; `valise revocation list` shows"
            " them (12 hexadecimal digits)."
        )
    found = [
        s
        for s in key_trust.key_statements(ws.conn)
        if s.kind in (key_trust.REVOKE, key_trust.RETRACT)
        and s.ref.startswith(cs_part)
        and (not index or s.ref.endswith(f":{int(index)}"))
    ]
    if not found:
        raise SyncError(
            f"No revocation here has the id {one_line(text, 40)!r}; `valise revocation list`"
            " shows them."
        )
    if len(found) > 1:
        raise SyncError(f"More than one statement id starts with {cs_part!r}; give more digits.")
    return found[0]


def confirm_advisory(ws: Workspace, text: str) -> str:
    """A person here agrees with an advisory revocation: we sign the same revocation
    ourselves, so it counts here (and wherever we are an authority). Returns our
    statement's changeset id."""
    what = f"confirm the advisory revocation {one_line(text, 40)}"
    roles.require(ws, roles.MANAGE_PEERS, what)
    advisory = _advisory(ws, text, "confirm")
    if advisory.subject in key_trust.own_origins(ws.conn):
        raise SyncError(
            f"The advisory {short_statement_id(advisory.ref)} is about this office's own key:"
            " confirming it would refuse, at every office that follows this one, what this"
            " office signed after that point, and a new key announced later would not count."
            " If this office's key really was lost or copied, call the tribunal liaison and"
            " replace the key (`valise identity rotate`); otherwise dismiss the advisory."
            " Nothing was changed."
        )
    with ws.transaction() as conn:
        by = office_label(ws, advisory.signer)
        cs_id = _commit_revocation(
            ws,
            advisory.subject,
            advisory.office_name,
            advisory.point[0],
            advisory.point[1],
            f"confirmed: {advisory.reason}"[:MAX_REASON],
            "advisory revocation confirmed",
        )
        _decide(ws, advisory, "confirmed", f"{cs_id}:0")
        audit.append(
            conn, ws.author, "revocation confirmed", short_statement_id(advisory.ref), {"by": by}
        )
    return cs_id


def dismiss_advisory(ws: Workspace, text: str) -> KeyStatement:
    """A person here sets an advisory revocation aside: it stays held and listed, and
    changes nothing."""
    roles.require(ws, roles.MANAGE_PEERS, f"dismiss the advisory revocation {one_line(text, 40)}")
    advisory = _advisory(ws, text, "dismiss")
    with ws.transaction() as conn:
        _decide(ws, advisory, "dismissed", "")
        audit.append(
            conn,
            ws.author,
            "revocation dismissed",
            short_statement_id(advisory.ref),
            {"by": office_label(ws, advisory.signer)},
        )
    return advisory


def _advisory(ws: Workspace, text: str, verb: str) -> KeyStatement:
    statement = find_statement(ws, text)
    status = key_trust.current(ws.conn).status.get(statement.ref)
    if statement.kind != key_trust.REVOKE or status != key_trust.ADVISORY:
        raise SyncError(
            f"Statement {short_statement_id(statement.ref)} is not an advisory revocation"
            f" (it is {statement.kind}, {status}); only advisories can be {verb}ed."
            " Nothing was changed."
        )
    decided = ws.conn.execute(
        "SELECT decision FROM revocation_decisions WHERE statement = ?", (statement.ref,)
    ).fetchone()
    if decided:
        raise SyncError(
            f"The advisory {short_statement_id(statement.ref)} was already {decided[0]} here."
            " Nothing was changed."
        )
    return statement


def _decide(ws: Workspace, advisory: KeyStatement, decision: str, ours: str) -> None:
    ws.conn.execute(
        "INSERT INTO revocation_decisions(statement, decision, our_statement, decided_at,"
        " decided_by) VALUES (?,?,?,?,?)",
        (advisory.ref, decision, ours, _now(), ws.author),
    )


def retract_revocation(ws: Workspace, text: str, reason: str = "") -> str:
    """Sign a retraction of a revocation: it counts here at once, and at every office that
    names us as an authority (an advisory elsewhere). Returns its changeset id."""
    roles.require(ws, roles.MANAGE_PEERS, f"retract the revocation {one_line(text, 40)}")
    revocation = find_statement(ws, text)
    if revocation.kind != key_trust.REVOKE:
        raise SyncError(
            f"Statement {short_statement_id(revocation.ref)} is a retraction, not a"
            " revocation; nothing was changed."
        )
    status = key_trust.current(ws.conn).status.get(revocation.ref)
    if status == key_trust.RETRACTED:
        raise SyncError(
            f"The revocation {short_statement_id(revocation.ref)} is already retracted here;"
            " nothing was changed."
        )
    statement = {
        "statement": key_trust.RETRACT,
        "subject": revocation.subject,
        "epoch": revocation.point[0],
        "after_seq": revocation.point[1],
        "office_name": revocation.office_name,
        "reason": _reason(reason) or "revocation retracted",
        "retracts": revocation.ref,
        "at": _now(),
    }
    return ws.commit(
        "", [Draft("trust", new_id(), "create", statement)], audit_action="revocation retracted"
    )


# -- authorities ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """A key this office trusts to revoke and retract others' keys."""

    origin: str
    office_name: str
    fingerprint: str
    named_at: str


def name_authority(ws: Workspace, source: str, digits: str) -> Authority:
    """Name a key (from a card file, or a peer by id) as an authority over revocation,
    after checking the fingerprint a person read from the authority itself."""
    return name_authority_card(ws, _authority_card(ws, source), digits)


def check_authority_fingerprint(card: ContactCard, digits: str) -> None:
    """Refuse an authority's card unless `digits` are its fingerprint (a person compared
    them with the authority, aloud or on paper)."""
    given = "".join(c for c in digits if c.isdigit())
    if given != card.fingerprint.replace(" ", ""):
        raise SyncError(
            f"The fingerprint given does not match the card of {one_line(card.office_name, 80)};"
            " do not trust this card. Nothing was changed."
        )


def name_authority_card(ws: Workspace, card: ContactCard, digits: str) -> Authority:
    """Name the key of `card` as an authority, once its fingerprint matches `digits`."""
    check_authority_fingerprint(card, digits)
    if card.origin in key_trust.own_origins(ws.conn):
        raise SyncError("That is this office's own key; it counts here already.")
    what = f"name {one_line(card.office_name, 80)} as an authority over revocation"
    roles.require(ws, roles.MANAGE_PEERS, what)
    with ws.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO trust_authorities(origin, office_name, signing_public,"
            " encryption_public, fingerprint, named_at) VALUES (?,?,?,?,?,?)",
            (
                card.origin,
                card.office_name,
                card.signing_public,
                card.encryption_public,
                card.fingerprint,
                _now(),
            ),
        )
        audit.append(
            conn,
            ws.author,
            "authority named",
            card.origin[:PEER_ID_LENGTH],
            {"office": card.office_name, "fingerprint": card.fingerprint},
        )
        key_trust.recompute(conn)
    return next(a for a in list_authorities(ws) if a.origin == card.origin)


def _authority_card(ws: Workspace, source: str) -> ContactCard:
    path = Path(source)
    if path.exists() or path.is_symlink() or not _looks_like_peer_id(source):
        return read_card(path)
    try:
        peer = get_peer(ws, source)
    except UnknownPeer:
        raise SyncError(
            f"{one_line(source, 40)!r} is neither a card file nor a peer id; give the"
            " authority's contact card file or its peer id from `valise peer list`."
        ) from None
    return peer.card


def _looks_like_peer_id(text: str) -> bool:
    return len(text) >= 8 and all(c in "0123456789abcdef" for c in text.lower())


def list_authorities(ws: Workspace) -> list[Authority]:
    """The authorities this office named, by name."""
    rows = ws.conn.execute(
        "SELECT origin, office_name, fingerprint, named_at FROM trust_authorities"
        " ORDER BY office_name, origin"
    )
    return [Authority(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


# -- rotation -------------------------------------------------------------------------------


def endorsement_bytes(new_keys: NodeKeys) -> bytes:
    """What the old key signs to vouch for the new keys."""
    return ENDORSEMENT_DOMAIN + new_keys.signing_public + new_keys.encryption_public


def rotate_identity(ws: Workspace) -> str:
    """Replace this installation's keys. Returns the new fingerprint."""
    roles.require(ws, roles.MANAGE_KEYS, f"replace the keys of {ws.office_name}")
    old_origin, old_public = ws.origin, ws.keys.signing_public
    new_keys = generate()
    with ws.transaction() as conn:
        next_seq = 1 + int(
            conn.execute(
                "SELECT coalesce(max(seq), 0) FROM changesets WHERE origin = ? AND epoch = ?",
                (old_origin, ws.epoch),
            ).fetchone()[0]
        )
        statement = {
            "statement": "rotate",
            "subject": old_origin,
            "epoch": ws.epoch,
            "after_seq": next_seq,  # the statement itself is the old key's last changeset
            "new_signing_public": new_keys.signing_public.hex(),
            "new_encryption_public": new_keys.encryption_public.hex(),
            "office_name": ws.office_name,
            "reason": "key replaced",
            "at": _now(),
        }
        ws.commit("", [Draft("trust", new_id(), "create", statement)], audit_action="key rotated")
        signature = ws.keys.signer().sign(endorsement_bytes(new_keys))
        endorsement = {
            "old_origin": old_origin,
            "old_signing_public": old_public.hex(),
            "signature": signature.hex(),
        }
        ws.set_meta(ENDORSEMENT_META, json.dumps(endorsement))
        retired = [[o, k.hex()] for o, k in our_keys(ws)]
        ws.set_meta(RETIRED_KEYS_META, json.dumps(retired))
        ws.replace_keys(new_keys)
        audit.append(
            conn, ws.author, "identity rotated", old_origin[:16], {"new_origin": new_keys.origin}
        )
        key_trust.recompute(conn)  # our retired key is ours: its statements count here
    return ws.fingerprint


def our_keys(ws: Workspace) -> list[tuple[str, bytes]]:
    """(origin, X25519 private key) of this installation: the current one first, then the
    ones replaced by rotations, which still open bundles written before peers knew."""
    retired = json.loads(ws.meta(RETIRED_KEYS_META, "[]"))
    keys = [(ws.origin, ws.keys.encryption_private)]
    keys.extend((str(origin), bytes.fromhex(hex_key)) for origin, hex_key in retired)
    return keys


def own_endorsement(ws: Workspace) -> dict[str, Any]:
    """The endorsement our bundles carry after a rotation (empty before any)."""
    text = ws.meta(ENDORSEMENT_META, "")
    return dict(json.loads(text)) if text else {}


def endorsed_peer(ws: Workspace, manifest: dict[str, Any]) -> Peer | None:
    """The peer a bundle from unknown keys really comes from, when its old key (one of our
    peers) signed the new keys; None when there is no endorsement or it does not hold.
    The new keys start on probation (never `verified`); `check_endorsed_rotation` then
    says whether the rotation may count at all."""
    sender, endorsement = manifest["sender"], manifest["endorsement"]
    if not endorsement:
        return None
    old = peer_by_origin(ws, str(endorsement.get("old_origin", "")))
    if old is None or old.signing_public.hex() != endorsement.get("old_signing_public"):
        return None
    new_signing = bytes.fromhex(sender["signing_public"])
    new_encryption = bytes.fromhex(sender["encryption_public"])
    try:
        Ed25519PublicKey.from_public_bytes(old.signing_public).verify(
            bytes.fromhex(str(endorsement.get("signature", ""))),
            ENDORSEMENT_DOMAIN + new_signing + new_encryption,
        )
    except (InvalidSignature, ValueError):
        return None
    return Peer(
        peer_id=origin_of(new_signing)[:PEER_ID_LENGTH],
        origin=origin_of(new_signing),
        office_name=str(sender["office_name"]),
        role=old.role,
        signing_public=new_signing,
        encryption_public=new_encryption,
        added_at=_now(),
        verified_at="",
    )


def check_endorsed_rotation(
    ws: Workspace, old_origin: str, new_origin: str, manifest: dict[str, Any]
) -> None:
    """Once a bundle from endorsed new keys has been verified against them, refuse it when
    the old key was revoked and the bundle's own holdings show the old key signing after
    the revocation point: the new keys were announced after it (a thief who rotated the
    stolen key). Otherwise the rotation was announced at or before that point and may
    count; `endorsement_counts` decides after the bundle's statements are applied."""
    trust = key_trust.current(ws.conn)
    revocation = trust.revocations.get(old_origin)
    if revocation is None or honoured_rotation(trust, old_origin, new_origin):
        return
    point = revocation.point
    if any((epoch, last) > point for epoch, _, last in manifest["holdings"].get(old_origin, [])):
        raise refuse(
            "revoked",
            f"Refused: this bundle comes from new keys that the key of"
            f" {office_label(ws, old_origin)} vouched for after that key was revoked (after"
            f" its changeset {point[1]}, by {office_label(ws, revocation.revoked_by)}). A key"
            " replaced after its revocation is not adopted; nothing was imported. If the"
            " office really has new keys, add its new card and compare the fingerprint.",
        )


def endorsement_counts(ws: Workspace, old_origin: str, new_origin: str) -> bool:
    """True when new keys its old key vouched for may stand for a peer here: the old key
    is not revoked (other than by this very rotation), or the rotation counts."""
    trust = key_trust.current(ws.conn)
    if new_origin in trust.revocations:
        return False
    revocation = trust.revocations.get(old_origin)
    return revocation is None or honoured_rotation(trust, old_origin, new_origin)


def endorsement_refusal(ws: Workspace, old_origin: str) -> str:
    """Why a bundle from new keys is refused after its statements were applied: the old
    key that vouched for them is revoked and no rotation to them announced by then counts
    (the bundle did not carry one, or it came after the revocation point)."""
    revocation = key_trust.current(ws.conn).revocations.get(old_origin)
    when = (
        f" after its changeset {revocation.point[1]} (by {office_label(ws, revocation.revoked_by)})"
        if revocation is not None
        else ""
    )
    return (
        f"Refused: this bundle comes from new keys that the key of {office_label(ws, old_origin)}"
        f" vouched for, but that key was revoked{when} and no announcement of these keys made"
        " by then counts here. A key replaced after its revocation is not adopted; nothing was"
        " imported. If the office really has new keys, add its new card and compare the"
        " fingerprint."
    )


def adopt_endorsed_keys(ws: Workspace, old_origin: str, new: Peer) -> None:
    """Record new keys the old key of a peer vouched for as that peer, on probation, when
    the old key is not revoked (in a transaction of its own, before the bundle is read),
    so that a person can compare the new fingerprint even while its bundle waits. When the
    old key is revoked, the bundle's own statements decide (after they are applied)."""
    if old_origin in key_trust.current(ws.conn).revocations:
        return
    with ws.transaction():
        adopt_rotated_peer(ws, old_origin, new)


def adopt_rotated_peer(ws: Workspace, old_origin: str, new: Peer) -> None:
    """Record a peer's new keys in place of its old ones (inside the caller's transaction):
    same role and holdings, but on probation: a new key is never `verified` until a person
    compares its fingerprint. Its cases are the old key's once a rotation to it counts
    (storage.grants derives the shares; an endorsement alone gives it none)."""
    conn = ws.conn
    old = conn.execute(
        "SELECT role, holdings, holdings_at, card FROM peers WHERE origin = ?",
        (old_origin,),
    ).fetchone()
    if (
        old is None
        or conn.execute("SELECT 1 FROM peers WHERE origin = ?", (new.origin,)).fetchone()
    ):
        return
    conn.execute(
        "INSERT INTO peers(origin, office_name, role, signing_public, encryption_public,"
        " card, added_at, verified_at, holdings, holdings_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            new.origin,
            new.office_name,
            old[0],
            new.signing_public,
            new.encryption_public,
            old[3],
            _now(),
            "",
            old[1],
            old[2],
        ),
    )
    for case_id in cases_of(conn, old_origin):  # shares follow the grants (storage.grants)
        derive_shares(conn, case_id)
    audit.append(
        conn,
        ws.author,
        "peer key replaced",
        new.peer_id,
        {
            "old": old_origin[:16],
            "fingerprint": fingerprint(new.signing_public, new.encryption_public),
        },
    )


def honoured_rotation(trust: KeyTrust, old_origin: str, new_origin: str) -> bool:
    """True when a rotation from `old_origin` to `new_origin` counts here."""
    return trust.honoured_rotations.get(new_origin) == old_origin


# -- what a bundle's sender may bring -------------------------------------------------------


def manifest_refusal(ws: Workspace, sender: Peer, manifest: dict[str, Any]) -> str:
    """Why a bundle signed by `sender` is refused on account of its key ('' when it is
    not): a revoked key's bundle written after the revocation point (its own holdings say
    so), or one that introduces anybody."""
    revocation = key_trust.current(ws.conn).revocations.get(sender.origin)
    if revocation is None:
        return ""
    who = office_label(ws, sender.origin)
    point = revocation.point
    if any((epoch, last) > point for epoch, _, last in manifest["holdings"].get(sender.origin, [])):
        return written_after_revocation(ws, sender.origin)
    unknown = _unknown_introductions(ws, manifest)
    if unknown and revocation.kind != key_trust.ROTATE:  # a retired key's late bundle may
        return (
            f"Refused: this bundle is signed by {who}, whose key is revoked, and introduces"
            f" {_introduced_names(unknown)}; a revoked key introduces no one. Nothing was"
            " imported."
        )
    return ""


def written_after_revocation(ws: Workspace, origin: str) -> str:
    """The sentence refusing a bundle that `origin` signed after its key's revocation point
    (its holdings say so, or it carries a changeset of its own from after that point)."""
    revocation = key_trust.current(ws.conn).revocations.get(origin)
    if revocation is None:
        return ""
    return (
        f"Refused: this bundle is signed by {office_label(ws, origin)} with a key revoked after"
        f" its changeset {revocation.point[1]} ({one_line(revocation.reason, 120)}; by"
        f" {office_label(ws, revocation.revoked_by)}), and was written after that point."
        " Nothing was imported."
    )


def introduction_refusal(ws: Workspace, sender: Peer, manifest: dict[str, Any]) -> str:
    """Why a bundle's introductions of origins this office has no key for are refused
    ('' when they are not): only `office` and `liaison` peers may introduce anyone."""
    if sender.role in INTRODUCING_ROLES:
        return ""
    unknown = _unknown_introductions(ws, manifest)
    if not unknown:
        return ""
    who = office_label(ws, sender.origin)
    return (
        f"Refused: {who} introduces {_introduced_names(unknown)}, but only office and"
        f" liaison peers may introduce offices this office holds no key for; a {sender.role}"
        " may not. Nothing was imported. If that office is real, add its contact card and"
        " compare its fingerprint."
    )


def _unknown_introductions(ws: Workspace, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    known = {str(row[0]) for row in ws.conn.execute("SELECT origin FROM origins")}
    return [intro for intro in manifest["introductions"] if intro["origin"] not in known]


def _introduced_names(intros: list[dict[str, Any]]) -> str:
    names = [
        f"an office calling itself {one_line(str(i['office_name']), 60)!r}"
        f" ({str(i['origin'])[:SHORT_ID]}…)"
        for i in intros[:3]
    ]
    more = f" and {len(intros) - 3} more" if len(intros) > 3 else ""
    return ", ".join(names) + more
