"""Receipts a peer sends back: accepted only for bundles we wrote for it, in a fixed form.

A receipt says what an office did with one of our bundles. It is audited, and it tells a
restored workspace that a peer answered a bundle written after the restore, so a receipt
that answers a bundle we never wrote (or wrote for somebody else), or that carries anything
beyond the fixed fields, is refused with a sentence and not recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from storage import key_trust
from storage.text_rules import one_line
from storage.workspace import Workspace
from sync.peers import PEER_ID_LENGTH, Peer

MAX_TIME_TEXT = 64
COUNTS = ("changesets", "duplicates", "evidence", "parked", "quarantined")
FIELDS = frozenset({"bundle_id", "imported_at", *COUNTS})


@dataclass
class ReceiptCheck:
    """The receipts of one bundle: those accepted, and a sentence per one refused."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def shape_problem(receipt: object) -> str:
    """What is wrong with a receipt's form ('' when nothing is): exactly the fixed keys,
    a 32-digit bundle id, a short time text and whole counts."""
    if not isinstance(receipt, dict):
        return "it is not a receipt at all"
    extra = sorted(str(key) for key in receipt if key not in FIELDS)
    if extra:
        return f"it carries fields a receipt does not have ({one_line(', '.join(extra), 80)})"
    missing = sorted(FIELDS - set(receipt))
    if missing:
        return f"it lacks {', '.join(missing)}"
    bundle_id = receipt["bundle_id"]
    if not (
        isinstance(bundle_id, str)
        and len(bundle_id) == 32
        and all(c in "0123456789abcdef" for c in bundle_id)
    ):
        return "its bundle id is not 32 hexadecimal digits"
    stamp = receipt["imported_at"]
    if (
        not isinstance(stamp, str)
        or not 0 < len(stamp) <= MAX_TIME_TEXT
        or one_line(stamp, MAX_TIME_TEXT) != stamp
    ):
        return "its time is not a plain time"
    for name in COUNTS:
        value = receipt[name]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
            return f"its {name} is not a whole count"
    return ""


def accepted_receipts(
    ws: Workspace, sender: Peer, endorsed_from: str, receipts: list[Any]
) -> ReceiptCheck:
    """Sort a bundle's receipts into those we record and those refused, with why."""
    check = ReceiptCheck()
    who = f"{one_line(sender.office_name, 80)} ({sender.origin[:8]}…)"
    senders = _ids_of(ws, sender, endorsed_from)
    for receipt in receipts:
        problem = shape_problem(receipt)
        if not problem:
            problem = _addressing_problem(ws, str(receipt["bundle_id"]), senders)
        if problem:
            check.refused.append(f"A receipt from {who} was refused and not recorded: {problem}.")
        else:
            check.accepted.append(dict(receipt))
    return check


def _ids_of(ws: Workspace, sender: Peer, endorsed_from: str) -> set[str]:
    """The peer ids the sender had: now, and before key rotations that count here."""
    earlier = key_trust.current(ws.conn).honoured_rotations
    ids = {sender.peer_id}
    origin = endorsed_from or sender.origin
    seen: set[str] = set()
    while origin and origin not in seen:
        seen.add(origin)
        ids.add(origin[:PEER_ID_LENGTH])
        origin = earlier.get(origin, "")
    return ids


def _addressing_problem(ws: Workspace, bundle_id: str, senders: set[str]) -> str:
    row = ws.conn.execute(
        "SELECT recipients FROM bundles_out WHERE bundle_id = ?", (bundle_id,)
    ).fetchone()
    if row is None:
        return f"it answers bundle {bundle_id[:12]}…, which this office never wrote"
    if not senders & {str(r) for r in json.loads(row[0])}:
        return f"it answers bundle {bundle_id[:12]}…, which this office wrote for others"
    return ""
