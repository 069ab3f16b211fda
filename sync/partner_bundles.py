"""What a partner's bundle may carry: only the changes the partner signed itself.

A partner (a peer holding `ngo` or `defence` in a case, sync.case_roles) never receives
another office's raw changesets of that case: every member sends it a projection. So a
partner's bundle that carries, for such a case, a changeset signed by anyone else is
passing on what it never legitimately held: the office's own projection sent back as if
it were history, another office's work it obtained some other way, a changeset of a
stranger. None of it is taken from this courier. The changesets are left out of the import
(not applied, not kept, not counted as held) with one sentence per case and signer in the
import's report and the audit log, and the rest of the bundle (the partner's own work, key
statements) is imported as usual.

Left out rather than refusing the whole bundle: the partner's own changes in it are valid
and would otherwise be lost with the rest; and left out rather than held back in
quarantine: the changesets are not refused for what they say (their signer may well be
entitled to it) but for who carried them, and a held-back changeset is tried again and
applied as soon as it is valid. Whatever was left out reaches this office, if it should,
from its own signer or a member of full trust, and is judged then like any other.

Statements about keys (case "") are not a case's history: sync.trust judges them by who
signed them, whoever carried them, so that a revocation travels by any courier.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from storage import audit, grants
from storage.blobs import StagedBlob
from storage.entities import RESTRICTED_ROLES
from storage.workspace import Workspace
from sync.authority import case_words, signer_words
from sync.case_roles import case_roles
from sync.peers import Peer, peer_by_origin
from sync.spool import ChangesetSpool, StagedChangeset, first_key_statements


@dataclass
class CourierCheck:
    """Which changesets of a bundle are not taken from its sender, and why in words."""

    dropped: set[str] = field(default_factory=set)  # changeset ids
    dropped_shas: set[str] = field(default_factory=set)  # evidence files only they name
    sentences: list[str] = field(default_factory=list)

    def admitted(self, spool: ChangesetSpool, others: Iterable[Any]) -> Iterator[Any]:
        """The bundle's changesets that are taken, in the order
        sync.spool.first_key_statements gives, then `others` (earlier parked or held-back
        ones, which are not this bundle's and are not filtered)."""
        for item in first_key_statements(spool, []):
            if item.cs_id not in self.dropped:
                yield item
        yield from others

    def leave_out_files(self, ws: Workspace, blobs: list[StagedBlob]) -> None:
        """Discard from `blobs` (the bundle's staged evidence files) those that only
        changesets left out name: nothing of them is stored."""
        for blob in [blob for blob in blobs if blob.sha256 in self.dropped_shas]:
            ws.blobs.discard(blob)
            blobs.remove(blob)

    def record(self, ws: Workspace, bundle_id: str) -> list[str]:
        """Write what was left out in the audit log (inside the import's transaction);
        returns the sentences for the import's report."""
        if self.sentences:
            audit.append(
                ws.conn, ws.author, "changesets not taken", bundle_id, {"why": self.sentences}
            )
        return list(self.sentences)


def _may_be_a_partner(ws: Workspace, sender: Peer, keys: list[str]) -> bool:
    """Cheap test first: a peer added as an office and granted no partner role anywhere
    (every office's bundle) is never checked changeset by changeset."""
    if sender.role in RESTRICTED_ROLES:
        return True
    marks = ",".join("?" * len(keys))
    row = ws.conn.execute(
        f"SELECT 1 FROM case_grants WHERE grantee IN ({marks}) AND kind = 'grant'"
        " AND role IN ('ngo', 'defence') LIMIT 1",
        keys,
    ).fetchone()
    return row is not None


def check_courier(
    ws: Workspace, sender: Peer, spool: ChangesetSpool, endorsed_from: str = ""
) -> CourierCheck:
    """What of `spool` (a verified bundle from `sender`) is not taken because the sender
    is a partner in the changeset's case and did not sign it. `endorsed_from`: the
    sender's previous key, when the bundle's keys are endorsed by it."""
    check = CourierCheck()
    keys = grants.earlier_keys(sender.origin, grants.rotated_from(ws.conn))
    if endorsed_from:
        keys.append(endorsed_from)
    if not _may_be_a_partner(ws, sender, keys):
        return check
    roles = case_roles(ws.conn, sender.origin, sender.role, spool.case_ids())
    partner_in = {case_id for case_id, role in roles.items() if role in RESTRICTED_ROLES}
    if not partner_in:
        return check
    counts: dict[tuple[str, str], int] = {}
    kept_shas: set[str] = set()
    for item in spool.items(key_statements=False):
        cs = item.changeset
        shas = _evidence_files(item)
        if cs.case_id in partner_in and cs.origin not in keys:
            check.dropped.add(item.cs_id)
            check.dropped_shas |= shas
            counts[(cs.case_id, cs.origin)] = counts.get((cs.case_id, cs.origin), 0) + 1
        else:
            kept_shas |= shas
    check.dropped_shas -= kept_shas
    for (case_id, origin), count in sorted(counts.items()):
        check.sentences.append(_sentence(ws, sender, roles[case_id], case_id, origin, count))
    return check


def _evidence_files(item: StagedChangeset) -> set[str]:
    return {
        str(op.fields["sha256"])
        for op in item.changeset.ops
        if op.entity == "evidence" and op.kind == "create" and "sha256" in op.fields
    }


def _role_words(ws: Workspace, case_id: str, origin: str) -> str:
    """The role a signer holds in the case here, else the one it was added with, else
    "no grant" (a case this office does not hold yet)."""
    member = grants.membership(ws.conn, case_id, origin)
    if member is not None:
        return member.role
    peer = peer_by_origin(ws, origin)
    return peer.role if peer is not None else "no grant"


def _sentence(ws: Workspace, sender: Peer, role: str, case_id: str, origin: str, count: int) -> str:
    """'Not taken: Varosa Documentation Project (ngo, 12345…) passed on 2 changesets of
    case KAB-2026-0001 signed by Kabora field office (…); …'"""
    who = signer_words(ws.conn, sender.origin, role)
    if origin == ws.origin:
        signer = "this office (its own work, or the projection it wrote for the partner)"
    else:
        signer = signer_words(ws.conn, origin, _role_words(ws, case_id, origin))
    changesets = "1 changeset" if count == 1 else f"{count:,} changesets"
    return (
        f"Not taken: {who} passed on {changesets} of case {case_words(ws.conn, case_id)}"
        f" signed by {signer}; a partner passes on only the changes it signed itself, so"
        " these were left out and the rest of its bundle was imported."
    )
