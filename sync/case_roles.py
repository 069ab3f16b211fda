"""The role a peer holds in one case, as far as what this office sends it is concerned.

What a peer receives of a case follows from the role its signed grant gives it in that
case (`case_grants`, storage.grants), not from the role a person typed when adding the
peer (`peers.role`): a peer added as an office but granted `ngo` in a case receives the
NGO's projection of that case, never its raw history. When the two disagree the stricter
one counts:

* granted `ngo` or `defence`: that role, whatever the local role (the grant is the
  decision made for this case, and a partner role is the stricter);
* granted `office` or `liaison` (or the peer owns the case) but added here as `ngo` or
  `defence`: the local partner role. The people of this office compared the peer's
  fingerprint and said what it is; a grant another member signed (by mistake, or with a
  stolen key) does not make this office hand raw history, unreleased evidence and early
  names to a key it knows as a partner. What the peer may *write* is still decided by the
  grant alone (sync.authority), so every office decides the same about its changes; only
  what this office sends it is narrowed, which changes no shared state;
* no grant at all (a case shared before grants existed): the local role.

A grant that changes the role later (ngo, then defence) counts from then on: what was
projected stays with the peer (a record it may no longer see is withdrawn there), and
what comes next follows the new role.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage import grants
from storage.connection import Connection
from storage.entities import RESTRICTED_ROLES
from storage.workspace import Workspace
from sync.peers import Peer


def sending_role(local_role: str, granted: str | None) -> str:
    """The role that decides what this office sends a peer in a case: the stricter of the
    role granted there (`granted`, None when none) and the role it was added with here."""
    if granted in RESTRICTED_ROLES:
        return str(granted)
    return local_role


def granted_roles(conn: Connection, peer_origin: str, case_ids: Iterable[str]) -> dict[str, str]:
    """Case id -> the role the peer's current grant gives it there (`owner` for a case it
    created), under its own key or a key it replaced; cases where it holds no current
    grant (none, or ungranted) are left out. Two queries, whatever the number of cases."""
    wanted = set(case_ids)
    if not wanted:
        return {}
    keys = grants.earlier_keys(peer_origin, grants.rotated_from(conn))
    marks = ",".join("?" * len(keys))
    found: dict[str, str] = {}
    for (case_id,) in conn.execute(
        "SELECT entity_id FROM field_state WHERE entity = 'case' AND field = '*'"
        f" AND origin IN ({marks})",
        keys,
    ):
        if str(case_id) in wanted:
            found[str(case_id)] = grants.OWNER
    latest: dict[tuple[str, str], str | None] = {}  # (case, key) -> role, None when ungranted
    for case_id, grantee, kind, role in conn.execute(
        f"SELECT case_id, grantee, kind, role FROM case_grants WHERE grantee IN ({marks})"
        " ORDER BY created_hlc, id",
        keys,
    ):
        latest[(str(case_id), str(grantee))] = str(role) if kind == "grant" else None
    for case_id in wanted - set(found):
        for key in keys:  # the newest key with a statement decides, as storage.grants does
            if (case_id, key) in latest:
                role = latest[(case_id, key)]
                if role is not None:
                    found[case_id] = role
                break
    return found


def case_roles(
    conn: Connection, peer_origin: str, local_role: str, case_ids: Iterable[str]
) -> dict[str, str]:
    """Case id -> `sending_role` of the peer in each of `case_ids`."""
    wanted = list(case_ids)
    granted = granted_roles(conn, peer_origin, wanted)
    return {case_id: sending_role(local_role, granted.get(case_id)) for case_id in wanted}


def restricted_cases(ws: Workspace, peer: Peer) -> dict[str, str]:
    """The cases shared with `peer` in which it receives a projection rather than raw
    history, with the partner role it holds there."""
    shared = [
        str(r[0])
        for r in ws.conn.execute(
            "SELECT case_id FROM case_shares WHERE peer_origin = ?", (peer.origin,)
        )
    ]
    roles = case_roles(ws.conn, peer.origin, peer.role, shared)
    return {case_id: role for case_id, role in roles.items() if role in RESTRICTED_ROLES}


def receives_projection(ws: Workspace, peer: Peer) -> bool:
    """True when this office sends `peer` a projection of at least one case: it was added
    as a partner, or it is granted a partner role in a case shared with it. Such a peer's
    bundle is its own: nobody else may read it."""
    return peer.role in RESTRICTED_ROLES or bool(restricted_cases(ws, peer))
