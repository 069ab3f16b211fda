"""Peers and what is shared with them: the local decisions about who receives what.

Peers and shares are this installation's own bookkeeping, not replicated history: each
office decides for itself whom it trusts and which cases it sends where.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from storage import audit, grants, queries, roles
from storage.errors import InvalidInput
from storage.records import Case
from storage.text_rules import one_line, text_problem
from storage.workspace import Draft, Workspace, new_id
from sync import takeback
from sync.authority import may_grant
from sync.cards import PEER_ROLES, ContactCard, encode_card, own_card
from sync.errors import UnknownPeer

PEER_ID_LENGTH = 16
LEGACY_SHARES_META = "shares_before_grants"


@dataclass(frozen=True)
class Peer:
    """Another installation we exchange bundles with."""

    peer_id: str
    origin: str
    office_name: str
    role: str
    signing_public: bytes
    encryption_public: bytes
    added_at: str
    verified_at: str
    revoked_after: int | None = None

    @property
    def verified(self) -> bool:
        """True once a person compared the fingerprint."""
        return bool(self.verified_at)

    @property
    def card(self) -> ContactCard:
        """The peer's keys as a card (for fingerprints and age recipients)."""
        return ContactCard(
            self.office_name, self.role, self.signing_public, self.encryption_public, ""
        )

    @property
    def fingerprint(self) -> str:
        """The digits a person compares."""
        return self.card.fingerprint


_COLUMNS = (
    f"substr(origin, 1, {PEER_ID_LENGTH}), origin, office_name, role, signing_public,"
    " encryption_public,"
    " added_at,"
    " verified_at, (SELECT after_seq FROM revocations r WHERE r.origin = peers.origin)"
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _peer(row: tuple[object, ...]) -> Peer:
    return Peer(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        bytes(row[4]),  # type: ignore[call-overload]
        bytes(row[5]),  # type: ignore[call-overload]
        str(row[6]),
        str(row[7]),
        None if row[8] is None else int(row[8]),  # type: ignore[call-overload]
    )


def card_bytes(ws: Workspace) -> bytes:
    """Our own contact card, ready to write to a file."""
    return encode_card(ws, own_card(ws))


def add_peer(ws: Workspace, card: ContactCard, role: str) -> Peer:
    """Record a peer from its card with the role we give it (not the role it claims)."""
    if role not in PEER_ROLES:
        raise InvalidInput(f"The role must be one of {', '.join(PEER_ROLES)}, not {role!r}.")
    if card.origin == ws.origin:
        raise InvalidInput("That is this installation's own card.")
    if problem := text_problem(
        "The card's office name", card.office_name, advice="such a card is refused."
    ):
        raise InvalidInput(problem)
    roles.require(ws, roles.MANAGE_PEERS, f"add {one_line(card.office_name, 80)} as a peer")
    raw = encode_card_for_storage(card)
    with ws.transaction() as conn:
        existing = conn.execute("SELECT role FROM peers WHERE origin = ?", (card.origin,))
        if existing.fetchone():
            conn.execute(
                "UPDATE peers SET role = ?, office_name = ? WHERE origin = ?",
                (role, card.office_name, card.origin),
            )
        else:
            conn.execute(
                "INSERT INTO peers(origin, office_name, role, signing_public,"
                " encryption_public, card, added_at) VALUES (?,?,?,?,?,?,?)",
                (
                    card.origin,
                    card.office_name,
                    role,
                    card.signing_public,
                    card.encryption_public,
                    raw,
                    _now(),
                ),
            )
        conn.execute(
            "INSERT OR IGNORE INTO origins(origin, signing_public, office_name) VALUES (?,?,?)",
            (card.origin, card.signing_public, card.office_name),
        )
        audit.append(
            conn,
            ws.author,
            "peer added",
            card.origin[:PEER_ID_LENGTH],
            {"office": card.office_name, "role": role, "fingerprint": card.fingerprint},
        )
    return get_peer(ws, card.origin)


def encode_card_for_storage(card: ContactCard) -> bytes:
    """The card's public facts as stored with the peer (its signature was checked on read)."""
    return json.dumps(
        {
            "office_name": card.office_name,
            "role": card.role,
            "signing_public": card.signing_public.hex(),
            "encryption_public": card.encryption_public.hex(),
            "created": card.created,
        },
        sort_keys=True,
    ).encode()


def list_peers(ws: Workspace) -> list[Peer]:
    """Every peer, by office name."""
    rows = ws.conn.execute(f"SELECT {_COLUMNS} FROM peers ORDER BY office_name, origin")
    return [_peer(row) for row in rows]


def get_peer(ws: Workspace, text: str) -> Peer:
    """Find a peer by its id, its full origin, or an unambiguous start of either (8+)."""
    text = text.strip().lower()
    if len(text) < 8 or not all(c in "0123456789abcdef" for c in text):
        raise UnknownPeer(f"{text!r} is not a peer id (16 hexadecimal digits).")
    rows = ws.conn.execute(
        f"SELECT {_COLUMNS} FROM peers WHERE origin >= ? AND origin < ? LIMIT 2",
        (text, text + "g"),
    ).fetchall()
    if not rows:
        raise UnknownPeer(f"No peer with id {text!r}; `valise peer list` shows them.")
    if len(rows) > 1:
        raise UnknownPeer(f"More than one peer id starts with {text!r}; give more digits.")
    return _peer(rows[0])


def peer_by_origin(ws: Workspace, origin: str) -> Peer | None:
    """The peer with this origin, if we have its card."""
    row = ws.conn.execute(f"SELECT {_COLUMNS} FROM peers WHERE origin = ?", (origin,)).fetchone()
    return _peer(row) if row else None


def fingerprint_digits(text: str) -> str:
    """The digits of a fingerprint as typed (spaces, dashes and dots between groups are
    allowed); raise InvalidInput with a sentence for anything else, or for no digits."""
    digits = "".join(c for c in text if c not in " \t-.")
    if not digits:
        raise InvalidInput(
            "No fingerprint was given: type the digits the other office read to you."
            " Nothing was changed."
        )
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(
            "A fingerprint holds only the digits 0 to 9 (in groups of five): type the digits"
            " the other office read to you. Nothing was changed."
        )
    return digits


def verify_peer(ws: Workspace, peer: Peer, digits: str) -> Peer:
    """Record that a person compared the peer's fingerprint: `digits` are the ones the
    other office read out, and must be all of the card's; anything else is refused and
    nothing changes (the card may be forged)."""
    roles.require(ws, roles.MANAGE_PEERS, f"mark the card of {peer.office_name} as verified")
    given = fingerprint_digits(digits)
    if given != peer.fingerprint.replace(" ", ""):
        raise InvalidInput(
            f"The fingerprint given does not match the card of {peer.office_name}: do not"
            " trust this card until the digits match (ask them to read theirs again, and"
            " check you added the card they sent). Nothing was changed."
        )
    with ws.transaction() as conn:
        conn.execute("UPDATE peers SET verified_at = ? WHERE origin = ?", (_now(), peer.origin))
        audit.append(
            conn, ws.author, "peer verified", peer.peer_id, {"fingerprint": peer.fingerprint}
        )
    return get_peer(ws, peer.origin)


def share_case(ws: Workspace, case: str, peer: Peer) -> str:
    """Grant a peer the role we gave it in a case, as a signed op in the case's history:
    every member then sends it the case, and its changes there are accepted within what
    its role allows (sync.authority). Sharing again with the same role changes nothing."""
    case_id = queries.resolve(ws.conn, Case, case)
    what = f"share {_case_words(ws, case_id)} with {peer.office_name}"
    roles.require(ws, roles.MANAGE_PEERS, what)
    return _grant(ws, case_id, peer)


def _case_words(ws: Workspace, case_id: str) -> str:
    row = ws.conn.execute("SELECT reference FROM cases WHERE id = ?", (case_id,)).fetchone()
    return f"case {row[0]}" if row else "a case"


def _grant(ws: Workspace, case_id: str, peer: Peer, *, automatic: bool = False) -> str:
    """`share_case` once it is allowed; `automatic` for the upgrade's grants (no person
    decides those: they write what a person decided before grants existed)."""
    current = grants.membership(ws.conn, case_id, peer.origin)
    if current is not None and current.cut is None and current.role in (grants.OWNER, peer.role):
        return case_id
    _check_may_grant(ws, case_id)
    statement = {
        "case_id": case_id,
        "kind": "grant",
        "grantee": peer.origin,
        "signing_public": peer.signing_public.hex(),
        "encryption_public": peer.encryption_public.hex(),
        "office_name": peer.office_name,
        "role": peer.role,
        "at": _now(),
    }
    ws.commit(
        case_id,
        [Draft("grant", new_id(), "create", statement)],
        audit_action="case shared",
        audit_detail={"peer": peer.peer_id, "role": peer.role},
        automatic=automatic,
    )
    # What was held back for lack of this grant applies now. (Imported here: the importer
    # needs this module to know peers.)
    from sync.importer import retry_held

    retry_held(ws)
    return case_id


def unshare_case(ws: Workspace, case: str, peer: Peer) -> str:
    """Stop sending a case to a peer and accepting its changes there after the newest of
    its changesets we hold (what it already received stays with it), by a signed ungrant."""
    case_id = queries.resolve(ws.conn, Case, case)
    what = f"stop sharing {_case_words(ws, case_id)} with {peer.office_name}"
    roles.require(ws, roles.MANAGE_PEERS, what)
    current = grants.membership(ws.conn, case_id, peer.origin)
    if current is None or current.cut is not None:
        return case_id
    if current.role == grants.OWNER:
        raise InvalidInput(
            f"{peer.office_name} created this case and owns it; it cannot be removed from it."
        )
    _check_may_grant(ws, case_id)
    row = ws.conn.execute(
        "SELECT epoch, seq FROM changesets WHERE origin = ? ORDER BY epoch DESC, seq DESC LIMIT 1",
        (peer.origin,),
    ).fetchone()
    epoch, seq = (int(row[0]), int(row[1])) if row else (0, 0)
    statement = {
        "case_id": case_id,
        "kind": "ungrant",
        "grantee": peer.origin,
        "office_name": peer.office_name,
        "epoch": epoch,
        "after_seq": seq,
        "at": _now(),
    }
    # Whatever of the peer's the cut refuses and this office applied is taken back.
    takeback.commit_taking_back(
        ws,
        lambda: ws.commit(
            case_id,
            [Draft("grant", new_id(), "create", statement)],
            audit_action="case unshared",
            audit_detail={"peer": peer.peer_id, "after": [epoch, seq]},
        ),
    )
    return case_id


def _check_may_grant(ws: Workspace, case_id: str) -> None:
    """Refuse, with the sentence every other office would quarantine it with, a grant
    this installation may not make."""
    if refusal := may_grant(ws.conn, ws.origin, case_id):
        raise InvalidInput(f"{refusal} Ask the case's owner or an office it was shared with.")


def grant_shares_made_before_grants(ws: Workspace) -> int:
    """Write as grants, once, the shares of a workspace from before grants (schema 7) in
    the cases this office owns: those a person made, as the audit log tells (`case shared`
    not followed by `case unshared`). Rows the old importer added for any peer that merely
    wrote in a case (the subscription-by-id hole) are dropped, never granted. Returns the
    number of grants written."""
    if ws.meta(LEGACY_SHARES_META, "") != "pending":
        return 0
    made = 0
    with ws.transaction() as conn:
        rows = conn.execute("SELECT DISTINCT case_id, peer_origin FROM case_shares").fetchall()
        for case_id, origin in rows:
            peer = peer_by_origin(ws, str(origin))
            if peer is None or grants.case_owner(conn, str(case_id)) != ws.origin:
                continue
            if _last_share_decision(ws, str(case_id), peer) == "case shared":
                before = grants.membership(conn, str(case_id), peer.origin)
                _grant(ws, str(case_id), peer, automatic=True)
                made += before is None
        for case_id in {str(row[0]) for row in rows}:
            if grants.case_owner(conn, case_id) == ws.origin:
                grants.derive_shares(conn, case_id)
        ws.set_meta(LEGACY_SHARES_META, "done")
        audit.append(conn, ws.author, "shares written as grants", "", {"grants": made})
    return made


def _last_share_decision(ws: Workspace, case_id: str, peer: Peer) -> str:
    """'case shared' or 'case unshared': what a person last decided about this peer and
    case, by the audit log ('' when nobody ever did)."""
    rows = ws.conn.execute(
        "SELECT action, detail FROM audit WHERE subject = ?"
        " AND action IN ('case shared', 'case unshared') ORDER BY seq DESC",
        (case_id,),
    )
    for action, detail in rows:
        try:
            named = json.loads(str(detail)).get("peer")
        except (ValueError, AttributeError):
            continue
        if named == peer.peer_id:
            return str(action)
    return ""


def shared_with(ws: Workspace, case: str) -> list[Peer]:
    """The peers a case is shared with (the case's overview shows them)."""
    case_id = queries.resolve(ws.conn, Case, case)
    rows = ws.conn.execute("SELECT peer_origin FROM case_shares WHERE case_id = ?", (case_id,))
    shared = {str(row[0]) for row in rows}
    return [peer for peer in list_peers(ws) if peer.origin in shared]
