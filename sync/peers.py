"""Peers and what is shared with them: the local decisions about who receives what.

Peers and shares are this installation's own bookkeeping, not replicated history: each
office decides for itself whom it trusts and which cases it sends where.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from storage import audit, queries
from storage.errors import InvalidInput
from storage.records import Case
from storage.text_rules import text_problem
from storage.workspace import Workspace
from sync.cards import PEER_ROLES, ContactCard, encode_card, own_card
from sync.errors import UnknownPeer

PEER_ID_LENGTH = 16


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


def verify_peer(ws: Workspace, peer: Peer) -> Peer:
    """Record that a person compared the peer's fingerprint and it matched."""
    with ws.transaction() as conn:
        conn.execute("UPDATE peers SET verified_at = ? WHERE origin = ?", (_now(), peer.origin))
        audit.append(
            conn, ws.author, "peer verified", peer.peer_id, {"fingerprint": peer.fingerprint}
        )
    return get_peer(ws, peer.origin)


def share_case(ws: Workspace, case: str, peer: Peer) -> str:
    """Share a case with a peer: the next bundle for it carries the case's whole history."""
    case_id = queries.resolve(ws.conn, Case, case)
    with ws.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO case_shares(case_id, peer_origin, shared_at) VALUES (?,?,?)",
            (case_id, peer.origin, _now()),
        )
        audit.append(conn, ws.author, "case shared", case_id, {"peer": peer.peer_id})
    return case_id


def unshare_case(ws: Workspace, case: str, peer: Peer) -> str:
    """Stop sending a case to a peer (what it already received stays with it)."""
    case_id = queries.resolve(ws.conn, Case, case)
    with ws.transaction() as conn:
        conn.execute(
            "DELETE FROM case_shares WHERE case_id = ? AND peer_origin = ?",
            (case_id, peer.origin),
        )
        audit.append(conn, ws.author, "case unshared", case_id, {"peer": peer.peer_id})
    return case_id


def shared_with(ws: Workspace, case: str) -> list[Peer]:
    """The peers a case is shared with (the case's overview shows them)."""
    case_id = queries.resolve(ws.conn, Case, case)
    rows = ws.conn.execute("SELECT peer_origin FROM case_shares WHERE case_id = ?", (case_id,))
    shared = {str(row[0]) for row in rows}
    return [peer for peer in list_peers(ws) if peer.origin in shared]
