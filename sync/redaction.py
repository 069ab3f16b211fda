"""The one place that decides which sealed values a peer may receive.

A changeset's body never holds protected or privileged values (storage.sealing); what a
bundle adds beside it is decided here, from the field's class and the recipient's role:

    open        every peer
    protected   offices and tribunal liaisons; NGOs and defence see the pseudonym only
    privileged  nobody: work product never leaves the office
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage import canonical
from storage.changesets import Op
from storage.connection import Connection
from storage.entities import ENTITIES, OPEN, PROTECTED
from storage.sealing import field_class, strictest

FULL_TRUST_ROLES = ("office", "liaison")


def may_receive(role: str, klass: str) -> bool:
    """True when a peer of `role` may hold values of class `klass`."""
    if klass == OPEN:
        return True
    if klass == PROTECTED:
        return role in FULL_TRUST_ROLES
    return False


def _note_class(conn: Connection, note_id: str) -> str | None:
    row = conn.execute("SELECT class FROM notes WHERE id = ?", (note_id,)).fetchone()
    return str(row[0]) if row else None  # unknown: field_class fails closed


def releasable_reveals(
    conn: Connection, cs_id: str, ops: Sequence[Op], roles: Sequence[str]
) -> list[list[Any]]:
    """The reveals of changeset `cs_id` that every recipient (by role) may receive, as
    [op index, field, salt hex, value]. A note's text follows the stricter of its class
    when the text was written and its class now."""
    if not any(op.sealed for op in ops):
        return []
    rows = conn.execute(
        "SELECT op_index, field, salt, value, klass FROM sealed_values WHERE changeset_id = ?"
        " ORDER BY op_index, field",
        (cs_id,),
    ).fetchall()
    released: list[list[Any]] = []
    for index, name, salt, value, stored_class in rows:
        op = ops[index]
        kind = ENTITIES[op.entity]
        record_class = _note_class(conn, op.entity_id) if op.entity == "note" else None
        # The stricter of the class then and now: nobody can declassify by editing.
        klass = strictest(str(stored_class), field_class(kind, name, record_class))
        if all(may_receive(role, klass) for role in roles):
            released.append([index, name, bytes(salt).hex(), canonical.decode(value.encode())])
    return released
