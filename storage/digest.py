"""A digest of a workspace's replicated state, to compare workspaces and prove no change.

Two workspaces that hold the same history have the same digest, whatever order they applied
it in; a failed import must leave it unchanged. Local bookkeeping (audit, counters, the time a
changeset arrived) is left out.
"""

from __future__ import annotations

import hashlib

from storage.connection import Connection

_REPLICATED = (
    ("cases", "id"),
    ("persons", "id"),
    ("incidents", "id"),
    ("elements", "id"),
    ("evidence", "id"),
    ("links", "id"),
    ("notes", "id"),
    ("custody_events", "id"),
    ("trust_statements", "id"),
    ("case_grants", "id"),
    ("evidence_releases", "id"),
    ("person_consents", "id"),
    ("field_state", "entity, entity_id, field"),
    ("changesets", "id"),
)


# Values that by design never leave the office that wrote them: the text of privileged
# notes. Workspaces that hold the same history agree on everything else.
_OWN_ONLY = {("notes", "text"): "CASE WHEN class = 'privileged' THEN '' ELSE text END"}


def state_digest(conn: Connection) -> str:
    """SHA-256 over every replicated row, in a fixed order."""
    digest = hashlib.sha256()
    for table, order in _REPLICATED:
        columns = [
            _OWN_ONLY.get((table, str(row[1])), str(row[1]))
            for row in conn.execute(f"PRAGMA table_info({table})")
            if row[1] != "applied_at"
        ]
        digest.update(f"\x00{table}\x00".encode())
        for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):
            digest.update(
                repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)).encode()
            )
    # The open conflicts between field values (a multi-value register) are the same
    # whatever the order ops arrived in; settled ones and edit-versus-withdrawal entries can
    # differ in their bookkeeping between nodes, so they are left out.
    conflicts = conn.execute(
        "SELECT entity, entity_id, field, shown_op, other_op FROM conflicts"
        " WHERE status = 'open' AND field != '(withdrawal)'"
        " ORDER BY entity, entity_id, field, shown_op, other_op"
    )
    for row in conflicts:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
