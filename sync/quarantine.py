"""Held back: changesets an import refused to apply, from whom, what they tried and why.

The importer keeps every changeset it refuses in the `quarantine` table with the sentence
that refused it: a signer without the right to do it, a value sent in clear that must
travel sealed, a clock stamp far in our future, a revoked key, a fork. This module is the
one reader of that table: `valise quarantine list`, the window's Held back view and the
Parked view all list it from here, so each says the same thing in the same words.

Who is the office whose key signed the changeset as this office knows it (storage.signers),
never the free-text author inside it nor the name a bundle introduced it under.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.changesets import Changeset, MalformedChangeset, Op, decode_verified
from storage.entities import ENTITIES
from storage.history import RecordNames
from storage.signers import Signer, Signers
from storage.workspace import Workspace

_NOUNS = {
    "case": "case",
    "person": "person",
    "incident": "incident",
    "element": "legal element",
    "evidence": "evidence",
    "link": "link",
    "note": "note",
    "custody": "custody event",
    "trust": "key statement",
}
_ARTICLES = {"evidence": "evidence", "custody": "a custody event", "trust": "a key statement"}
_RENAMING = {"reference", "title"}
MAX_LISTED = 3


@dataclass(frozen=True)
class HeldBack:
    """One quarantined changeset, told for a person."""

    changeset_id: str
    signer: Signer
    attempted: tuple[str, ...]  # what it tried, in words ("rename case KAB-2026-0001")
    reason: str  # the sentence it was refused with
    held_at: str  # when it was refused here (ISO 8601, UTC)
    bundle_id: str  # the bundle it came in
    sender: str  # the office that sent that bundle, as known here ("" when not recorded)
    case_id: str
    case: str  # reference and title when the case is here, else ""
    position: str  # "epoch E, change N" of its signer

    @property
    def what(self) -> str:
        """What it tried, in one phrase."""
        return "; ".join(self.attempted) or "change nothing"

    @property
    def sentence(self) -> str:
        """Who, what and why: "Held back: Dressa field office (office, 48213 09124…) tried
        to rename case KAB-2026-0001. Its clock stamp is …"."""
        reason = self.reason.strip()
        if reason and not reason.endswith("."):
            reason += "."
        reason = reason[:1].upper() + reason[1:]
        return f"Held back: {self.signer.label} tried to {self.what}. {reason}".strip()

    def to_json(self) -> dict[str, Any]:
        """A plain object for --json output."""
        return {
            "changeset": self.changeset_id,
            "signer": self.signer.to_json(),
            "from": self.signer.label,
            "attempted": list(self.attempted),
            "reason": self.reason,
            "sentence": self.sentence,
            "held_at": self.held_at,
            "bundle": self.bundle_id,
            "sender": self.sender,
            "case_id": self.case_id,
            "case": self.case,
            "position": self.position,
        }


def list_held_back(ws: Workspace, limit: int = -1, offset: int = 0) -> list[HeldBack]:
    """Quarantined changesets, oldest first: all of them, or `limit` from `offset` (a page
    for a view that reads as it scrolls)."""
    conn = ws.conn
    signers = Signers(conn)
    labels = RecordNames(conn)
    rows = conn.execute(
        "SELECT q.id, q.origin, q.body, q.reason, q.bundle_id, q.at, coalesce(b.sender, '')"
        " FROM quarantine q LEFT JOIN bundles_in b ON b.bundle_id = q.bundle_id"
        " ORDER BY q.at, q.id LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    held = []
    for cs_id, origin, body, reason, bundle_id, at, sender in rows:
        try:
            cs: Changeset | None = decode_verified(bytes(body))
        except (MalformedChangeset, TypeError, ValueError):
            cs = None
        held.append(
            HeldBack(
                changeset_id=str(cs_id),
                signer=signers.of(str(origin)),
                attempted=attempted(cs, labels)
                if cs
                else ("(the stored changeset cannot be read)",),
                reason=str(reason),
                held_at=str(at),
                bundle_id=str(bundle_id),
                sender=signers.of(str(sender)).label if sender else "",
                case_id=cs.case_id if cs else "",
                case=_case_text(ws, cs.case_id) if cs else "",
                position=f"epoch {cs.epoch}, change {cs.seq}" if cs else "",
            )
        )
    return held


def count_held_back(ws: Workspace) -> int:
    """How many changesets are quarantined (for a status line)."""
    return int(ws.conn.execute("SELECT count(*) FROM quarantine").fetchone()[0])


def _case_text(ws: Workspace, case_id: str) -> str:
    if not case_id:
        return "(keys, no case)"
    row = ws.conn.execute("SELECT reference, title FROM cases WHERE id = ?", (case_id,)).fetchone()
    return f"{row[0]} {row[1]}" if row else ""


def attempted(cs: Changeset, labels: RecordNames) -> tuple[str, ...]:
    """What a changeset tried, op by op, in words; never a value, only open names."""
    said = [_attempt(op, labels) for op in cs.ops]
    unique = list(dict.fromkeys(said))
    if len(unique) > MAX_LISTED:
        return (*unique[:MAX_LISTED], f"and {len(unique) - MAX_LISTED} more changes")
    return tuple(unique)


def _attempt(op: Op, labels: RecordNames) -> str:
    noun = _NOUNS.get(op.entity, op.entity)
    if op.entity == "trust":
        statement = str(op.fields.get("statement", ""))
        return {"revoke": "revoke a key", "rotate": "announce new keys"}.get(
            statement, "record a key statement"
        )
    fields = op.fields if op.kind == "create" else None
    name = labels.of(op.entity, op.entity_id, fields)
    named = f"{noun} {name}" if name else noun
    if op.kind == "create":
        article = _ARTICLES.get(op.entity, f"an {noun}" if noun[0] in "aeiou" else f"a {noun}")
        return f"add {article} {name}".rstrip() if name else f"add {article}"
    if op.kind == "withdraw" or op.fields == {"withdrawn": 1}:
        return f"withdraw {named}"
    if op.fields == {"withdrawn": 0}:
        return f"restore {named}"
    changed = sorted({*op.fields, *op.sealed} - {"withdrawn"})
    if op.entity == "case" and changed and set(changed) <= _RENAMING:
        return f"rename {named}"
    order = list(ENTITIES[op.entity].fields) if op.entity in ENTITIES else changed
    shown = ", ".join(n.replace("_", " ") for n in sorted(changed, key=order.index))
    return f"change {named} ({shown})" if shown else f"change {named}"
