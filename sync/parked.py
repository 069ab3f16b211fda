"""What waits, for what, and since when: parked changesets, parked bundles, quarantine.

An import keeps what it cannot apply yet instead of refusing it: a changeset that builds on
one that has not arrived (`parked_changesets`), a whole bundle from an office whose contact
card has not been added (a folder under `parked-bundles/`), and a changeset refused with a
reason that a later statement may lift (`quarantine`). A person who wonders why a change
from a peer does not show asks here; `valise parked list` and the window's Parked view
both read this module.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from storage.changesets import decode_verified
from storage.signers import signer_of
from storage.text_rules import one_line
from storage.workspace import Workspace
from sync.importer import unverified_manifest
from sync.parked_bundles import parked_bundle_heads
from sync.peer_state import how_to_verify, on_probation, who
from sync.peers import peer_by_origin
from sync.quarantine import list_held_back

CHANGESET, BUNDLE, QUARANTINED = "changeset", "bundle", "quarantined"


@dataclass(frozen=True)
class Waiting:
    """One thing that waits: a changeset or a bundle, who sent it, its case, what it waits
    for (a sentence) and when it arrived (ISO 8601, UTC)."""

    kind: str  # changeset, bundle or quarantined
    item: str  # changeset id, or bundle id (the head's file name when it cannot be read)
    sender: str  # office that sent the bundle it came in
    author: str  # office that made the changeset ("" for a bundle)
    position: str  # "epoch E, change N" of its author ("" for a bundle)
    case_id: str
    case: str  # reference and title when the case is here, else ""
    waits_for: str
    since: str
    needs: tuple[str, ...] = ()  # ids of the changesets it builds on that are missing

    def to_json(self) -> dict[str, Any]:
        """A plain object for --json output."""
        return {
            "kind": self.kind,
            "item": self.item,
            "sender": self.sender,
            "author": self.author,
            "position": self.position,
            "case_id": self.case_id,
            "case": self.case,
            "waits_for": self.waits_for,
            "since": self.since,
            "needs": list(self.needs),
        }


def list_waiting(ws: Workspace) -> list[Waiting]:
    """Everything parked or quarantined here, oldest first."""
    found = [*_parked_changesets(ws), *_quarantined(ws), *_parked_bundles(ws)]
    found.sort(key=lambda w: (w.since, w.kind, w.item))
    return found


def _office_of(ws: Workspace, origin: str) -> str:
    """The office an origin belongs to, as this office knows its key (storage.signers):
    a bundle's introduction of an office name proves nothing."""
    return signer_of(ws.conn, origin).label


def _sender_of_bundle(ws: Workspace, bundle_id: str) -> str:
    row = ws.conn.execute(
        "SELECT sender FROM bundles_in WHERE bundle_id = ?", (bundle_id,)
    ).fetchone()
    return _office_of(ws, str(row[0])) if row else ""


def _case_text(ws: Workspace, case_id: str) -> str:
    if not case_id:
        return "(keys, no case)"
    row = ws.conn.execute("SELECT reference, title FROM cases WHERE id = ?", (case_id,)).fetchone()
    return f"{row[0]} {row[1]}" if row else ""


def _held_in_epoch(ws: Workspace, origin: str, epoch: int, below: int) -> int:
    row = ws.conn.execute(
        "SELECT max(seq) FROM changesets WHERE origin = ? AND epoch = ? AND seq < ?",
        (origin, epoch, below),
    ).fetchone()
    return int(row[0] or 0)


def _parked_changesets(ws: Workspace) -> list[Waiting]:
    rows = ws.conn.execute(
        "SELECT id, body, needs, reason, bundle_id, parked_at FROM parked_changesets"
    ).fetchall()
    waiting = []
    for cs_id, body, needs_text, reason, bundle_id, parked_at in rows:
        cs = decode_verified(bytes(body))
        author = _office_of(ws, cs.origin)
        needs = tuple(str(n) for n in json.loads(needs_text).get("changesets", []))
        if needs:
            held = _held_in_epoch(ws, cs.origin, cs.epoch, cs.seq)
            have = f"changes up to {held} of that epoch are here" if held else "none before it"
            listed = ", ".join(n[:12] for n in needs[:5]) + (" …" if len(needs) > 5 else "")
            what = (
                f"earlier changes it builds on ({listed}) that have not arrived; it is change"
                f" {cs.seq} of {author}, epoch {cs.epoch} ({have})"
            )
        else:
            what = f"{str(reason).rstrip('.')} (a record it needs has not arrived)"
        waiting.append(
            Waiting(
                CHANGESET,
                str(cs_id),
                _sender_of_bundle(ws, str(bundle_id)),
                author,
                f"epoch {cs.epoch}, change {cs.seq}",
                cs.case_id,
                _case_text(ws, cs.case_id),
                what,
                str(parked_at),
                needs,
            )
        )
    return waiting


def _quarantined(ws: Workspace) -> list[Waiting]:
    """Quarantined changesets as sync.quarantine tells them (the one reader of that
    table), so this list and the Held back view say the same thing."""
    return [
        Waiting(
            QUARANTINED,
            held.changeset_id,
            held.sender,
            held.signer.label,
            held.position,
            held.case_id,
            held.case,
            f"quarantined: it tried to {held.what}; {held.reason.strip().rstrip('.')}",
            held.held_at,
        )
        for held in list_held_back(ws)
    ]


def _parked_bundles(ws: Workspace) -> list[Waiting]:
    waiting = []
    for head in parked_bundle_heads(ws):
        kept = dt.datetime.fromtimestamp(head.parent.stat().st_mtime, dt.UTC)
        manifest = unverified_manifest(ws, head)
        if manifest is None:
            item, office, what = (
                head.name,
                "",
                "a contact card for its sender (the head cannot be read)",
            )
        else:
            item = str(manifest["bundle_id"])
            office = one_line(str(manifest["sender"]["office_name"]), 120)
            peer = peer_by_origin(ws, str(manifest["sender"]["origin"]))
            if peer is None:
                what = (
                    f"the contact card of {office!r} (`valise peer add`); who sent it is not"
                    " verified until then"
                )
            elif on_probation(ws, peer):
                what = f"a person to compare the fingerprint of {who(peer)}. {how_to_verify(peer)}"
            else:
                what = f"the next import or sync, which reads it (it comes from {who(peer)})"
        waiting.append(
            Waiting(
                BUNDLE,
                item,
                office,
                "",
                "",
                "",
                "",
                what,
                kept.isoformat(timespec="seconds"),
            )
        )
    return waiting
