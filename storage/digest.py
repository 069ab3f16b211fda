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
    ("field_state", "entity, entity_id, field"),
    ("changesets", "id"),
)


def state_digest(conn: Connection) -> str:
    """SHA-256 over every replicated row, in a fixed order."""
    digest = hashlib.sha256()
    for table, order in _REPLICATED:
        columns = [
            row[1] for row in conn.execute(f"PRAGMA table_info({table})") if row[1] != "applied_at"
        ]
        digest.update(f"\x00{table}\x00".encode())
        for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):
            digest.update(
                repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)).encode()
            )
    conflicts = conn.execute(
        "SELECT entity, entity_id, field, shown_op, other_op, status FROM conflicts"
        " ORDER BY entity, entity_id, field, shown_op, other_op"
    )
    for row in conflicts:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
