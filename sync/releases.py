"""Releases seen from the peers' side: to whom an item is released, and what a peer receives.

`storage.releases` records releases and checks consent; this module names the grantee from
what a person types (a peer id, or a role: `ngo`, `defence`), refuses releases to revoked
keys, answers the projection's question `released_evidence`, and says in words what a peer
of each role will and will not receive (the share dialog and `case share` show it).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import grants, queries
from storage.connection import Connection
from storage.entities import FULL_TRUST_ROLES, RESTRICTED_ROLES
from storage.errors import InvalidInput
from storage.records import Evidence
from storage.releases import (
    Release,
    refuse_pointless,
    release_evidence,
    released_items,
    withdraw_release,
)
from storage.workspace import Workspace
from sync.case_roles import sending_role
from sync.peers import Peer, get_peer

__all__ = [
    "Grantee",
    "Release",
    "grantee_of",
    "release_to",
    "released_evidence",
    "released_with_file_name",
    "role_in_case",
    "unrelease_to",
    "what_role_receives",
]


@dataclass(frozen=True)
class Grantee:
    """Whom a release names: one peer (origin, office name, role), or every peer of a role
    (origin '')."""

    origin: str
    role: str
    name: str


def released_evidence(
    conn: Connection, case_id: str, peer_origin: str, role: str
) -> dict[str, bool]:
    """Evidence id -> whether its original file name is released, for the items of
    `case_id` released to the peer `peer_origin` or to its `role`, not withdrawn, and not
    held back by a person's consent as it stands now. What the projection for a restricted
    peer may carry, and nothing else."""
    return released_items(conn, case_id, peer_origin, role)


def released_with_file_name(
    conn: Connection, case_id: str, peer_origin: str, role: str
) -> set[str]:
    """The ids among `released_evidence` whose original file name is released too."""
    released = released_items(conn, case_id, peer_origin, role)
    return {evidence_id for evidence_id, with_name in released.items() if with_name}


def grantee_of(ws: Workspace, case_id: str, target: str) -> Grantee:
    """The grantee a person named for an item of `case_id`: `ngo` or `defence` (every peer
    of that role), or a peer id. A revoked peer is refused (nothing is sent to a revoked
    key), and so is a peer of full trust in the case, which receives everything of it."""
    wanted = target.strip().lower()
    if wanted in RESTRICTED_ROLES:
        return Grantee("", wanted, "")
    if wanted in FULL_TRUST_ROLES:
        refuse_pointless(wanted, "")
    peer = get_peer(ws, wanted)
    role = role_in_case(ws, case_id, peer)
    refuse_pointless(role, peer.office_name)
    if peer.revoked_after is not None:
        raise InvalidInput(
            f"The key of {peer.office_name} is revoked: nothing is sent to it, so nothing"
            " can be released to it."
        )
    return Grantee(peer.origin, role, peer.office_name)


def role_in_case(ws: Workspace, case_id: str, peer: Peer) -> str:
    """The role that decides what the peer receives of the case (sync.case_roles): the
    one its signed grant gives it there, narrowed to the partner role this office added it
    with; the role this office gave it when it holds no grant (an item may be released
    before the case is shared)."""
    member = grants.membership(ws.conn, case_id, peer.origin)
    if member is None or member.cut is not None:
        return peer.role
    return sending_role(peer.role, member.role)


def release_to(ws: Workspace, evidence: str, target: str, *, with_file_name: bool = False) -> str:
    """Release an item to the peer or role `target` names; returns the release's id."""
    item = queries.get(ws.conn, Evidence, evidence)
    grantee = grantee_of(ws, item.case_id, target)
    return release_evidence(
        ws,
        item.id,
        grantee_origin=grantee.origin,
        grantee_role=grantee.role,
        grantee_name=grantee.name,
        with_file_name=with_file_name,
    )


def unrelease_to(ws: Workspace, evidence: str, target: str) -> int:
    """Withdraw an item's releases to the peer or role `target` names (future sends stop;
    what was sent stays sent); returns how many were withdrawn."""
    wanted = target.strip().lower()
    if wanted in RESTRICTED_ROLES:
        return withdraw_release(ws, evidence, grantee_origin="", grantee_role=wanted)
    peer = get_peer(ws, wanted)
    # A release to a peer is found by its origin alone: the role is not compared.
    return withdraw_release(ws, evidence, grantee_origin=peer.origin, grantee_role=peer.role)


def what_role_receives(role: str) -> tuple[str, str]:
    """(what a peer of `role` will receive, what it will not), in sentences for the share
    dialog and `case share`."""
    if role in FULL_TRUST_ROLES:
        return (
            "Everything of the case: every record, every evidence file with its original"
            " name, protected identities, legal elements and links, signed by their"
            " authors.",
            "Privileged notes (they never leave this office).",
        )
    return (
        "The case's open records, persons by pseudonym, and only the evidence items"
        " released to it (Release… in the Evidence tab), with their original file names"
        " only where the release says so; as a copy signed by this office.",
        "Unreleased evidence, original file names not released, protected identities,"
        " legal elements and links, privileged notes or any trace of them, and other"
        " offices' own signed changes.",
    )
