"""Members of a case, read from the signed grants in its history (entity `grant`).

The origin whose changeset created a case owns it. A grant names a peer origin and the
role it holds in the case; an ungrant names the grantee's (epoch, seq) after which its
changes in the case are no longer accepted. What a member may do with its role is decided
in `sync.authority`; here is only what the grants say, the same on every node that holds
the same grants, whatever order they arrived in:

* a grantee's statements are read in (hlc, id) order and the last one decides: after a
  grant the grantee holds that grant's role with no cut; after an ungrant it keeps the role
  of the grant before it, cut at the ungrant's (epoch, after_seq);
* a key replaced by a rotation that counts (storage.key_trust) is the same member under its
  new key.

`case_shares` is what the grants mean for export: the owner and every grantee not
ungranted, with their successor keys. It is derived here whenever a grant or a rotation is
applied, never written from what a peer claims.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from storage import key_trust
from storage.connection import Connection

OWNER = "owner"
# A case id made since ids are bound to their creator: 12 hex digits of nonce, then 20 of
# SHA-256 over the creator's origin and the nonce (80 bits: no key can be ground to match).
_NONCE_DIGITS = 12
_TAG_DIGITS = 20
BOUND_CASE_ID_DIGITS = _NONCE_DIGITS + _TAG_DIGITS


def _case_tag(origin: str, nonce: str) -> str:
    data = b"valise case id\0" + origin.encode() + b"\0" + nonce.encode()
    return hashlib.sha256(data).hexdigest()[:_TAG_DIGITS]


def new_case_id(origin: str) -> str:
    """A fresh case id bound to its creator: nobody else can sign a case create of it that
    an office accepts, so a stranger who learns the id cannot claim the case first at an
    office that does not hold it yet."""
    nonce = secrets.token_hex(_NONCE_DIGITS // 2)
    return nonce + _case_tag(origin, nonce)


def case_id_binding(case_id: str, origin: str) -> bool | None:
    """True when the case id was made by `origin` (`new_case_id`), False when it is bound
    to another key, None when it is an id from before ids were bound (20 hex digits)."""
    if len(case_id) != BOUND_CASE_ID_DIGITS or not all(c in "0123456789abcdef" for c in case_id):
        return None
    nonce, tag = case_id[:_NONCE_DIGITS], case_id[_NONCE_DIGITS:]
    return secrets.compare_digest(tag, _case_tag(origin, nonce))


@dataclass(frozen=True)
class Membership:
    """What an origin is in a case: its role (`owner` or a granted role), the office name
    the grant gave it, and the (epoch, seq) after which its changes are not accepted."""

    role: str
    office_name: str = ""
    cut: tuple[int, int] | None = None

    def accepts(self, epoch: int, seq: int) -> bool:
        """True when a changeset at (epoch, seq) of this member falls before any cut."""
        return self.cut is None or (epoch, seq) <= self.cut


def case_owner(conn: Connection, case_id: str) -> str | None:
    """The origin whose changeset created the case here, None while the case is unknown."""
    row = conn.execute(
        "SELECT origin FROM field_state WHERE entity = 'case' AND entity_id = ? AND field = '*'",
        (case_id,),
    ).fetchone()
    return str(row[0]) if row else None


def record_creator(conn: Connection, entity: str, entity_id: str) -> str | None:
    """The origin whose op created a record here, None while the record is unknown."""
    row = conn.execute(
        "SELECT origin FROM field_state WHERE entity = ? AND entity_id = ? AND field = '*'",
        (entity, entity_id),
    ).fetchone()
    return str(row[0]) if row else None


def rotated_from(conn: Connection) -> dict[str, str]:
    """{new origin: old origin} for every key rotation that counts here (storage.key_trust:
    announced by its holder at or before any revocation point of the old key)."""
    return dict(key_trust.current(conn).honoured_rotations)


def earlier_keys(origin: str, rotations: dict[str, str]) -> list[str]:
    """`origin` and the keys it replaced, newest first (a rotation chain, cycles cut)."""
    chain = [origin]
    while chain[-1] in rotations and rotations[chain[-1]] not in chain:
        chain.append(rotations[chain[-1]])
    return chain


def membership_of(conn: Connection, case_id: str, origin: str) -> Membership | None:
    """What the grants applied here make `origin` (one key, no rotation) in the case."""
    if case_owner(conn, case_id) == origin:
        return Membership(OWNER)
    rows = conn.execute(
        "SELECT kind, role, office_name, epoch, after_seq FROM case_grants"
        " WHERE case_id = ? AND grantee = ? ORDER BY created_hlc, id",
        (case_id, origin),
    )
    member: Membership | None = None
    for kind, role, office_name, epoch, after_seq in rows:
        if kind == "grant":
            member = Membership(str(role), str(office_name))
        elif member is not None:
            member = Membership(member.role, member.office_name, (int(epoch), int(after_seq)))
    return member


def membership(
    conn: Connection, case_id: str, origin: str, rotations: dict[str, str] | None = None
) -> Membership | None:
    """What `origin` is in the case, under its own key or a key it replaced by rotation."""
    chain = earlier_keys(origin, rotated_from(conn) if rotations is None else rotations)
    for key in chain:
        member = membership_of(conn, case_id, key)
        if member is not None:
            if key != origin and member.cut is None:
                return member
            if key == origin:
                return member
            # A cut names the old key's sequence; the new key's changesets come after it.
            return Membership(member.role, member.office_name, (-1, -1))
    return None


def members(conn: Connection, case_id: str) -> dict[str, Membership]:
    """Every origin that is a member of the case now (not ungranted), with successor keys."""
    rotations = rotated_from(conn)
    successors: dict[str, list[str]] = {}
    for new, old in rotations.items():
        successors.setdefault(old, []).append(new)
    found: dict[str, Membership] = {}
    owner = case_owner(conn, case_id)
    candidates = [owner] if owner else []
    candidates += [
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT grantee FROM case_grants WHERE case_id = ?", (case_id,)
        )
    ]
    for origin in candidates:
        member = membership_of(conn, case_id, origin)
        if member is None or member.cut is not None:
            continue
        pending = [origin]
        while pending:
            key = pending.pop()
            if key in found:
                continue
            found[key] = member
            pending.extend(successors.get(key, []))
    return found


def derive_shares(conn: Connection, case_id: str) -> None:
    """Make `case_shares` of the case what its grants mean now (inside the caller's
    transaction): the origins this workspace sends the case to."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    known = {
        str(r[0]): str(r[1])
        for r in conn.execute(
            "SELECT peer_origin, shared_at FROM case_shares WHERE case_id = ?", (case_id,)
        )
    }
    current = members(conn, case_id)
    conn.execute("DELETE FROM case_shares WHERE case_id = ?", (case_id,))
    conn.executemany(
        "INSERT INTO case_shares(case_id, peer_origin, shared_at) VALUES (?,?,?)",
        [(case_id, origin, known.get(origin, now)) for origin in sorted(current)],
    )


def cases_of(conn: Connection, origin: str) -> list[str]:
    """The cases `origin` owns or is named in by a grant (to derive again on a rotation)."""
    rows = conn.execute(
        "SELECT case_id FROM case_grants WHERE grantee = ?"
        " UNION SELECT entity_id FROM field_state WHERE entity = 'case' AND field = '*'"
        " AND origin = ?",
        (origin, origin),
    )
    return [str(r[0]) for r in rows]
