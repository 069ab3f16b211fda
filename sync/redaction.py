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
from storage.entities import ENTITIES, OPEN, PRIVILEGED, PROTECTED
from storage.sealing import field_class, strictest

FULL_TRUST_ROLES = ("office", "liaison")
CLASSES = (OPEN, PROTECTED, PRIVILEGED)


def may_receive(role: str, klass: str) -> bool:
    """True when a peer of `role` may hold values of class `klass`."""
    if klass == OPEN:
        return True
    if klass == PROTECTED:
        return role in FULL_TRUST_ROLES
    return False


def sight(role: str) -> frozenset[str]:
    """The classes of values a peer of `role` may receive. A bundle is redacted once for all
    its readers, so only peers with the same sight may share one."""
    return frozenset(klass for klass in CLASSES if may_receive(role, klass))


def sight_words(role: str) -> str:
    """What a peer of `role` sees of protected people, in a few words for a summary."""
    return "full identities" if may_receive(role, PROTECTED) else "pseudonyms only"


def _note_class(conn: Connection, note_id: str) -> str | None:
    row = conn.execute("SELECT class FROM notes WHERE id = ?", (note_id,)).fetchone()
    return str(row[0]) if row else None  # unknown: field_class fails closed


def _class_when_written(ops: Sequence[Op], index: int) -> str | None:
    """The class a note's text in op `index` was sealed under, when the changeset shows it.

    The class kept beside a sealed value is the note's class after its whole changeset was
    applied. When another op of the same changeset changed the note's class (text written
    while privileged, then the class lowered, in one commit), that is not the class the
    text was written under: the op's own class says it, and without one it is unknown, so
    the text is treated as privileged (fail closed). None when nothing in the changeset
    changed the note's class (the kept class is then the one it was written under).
    """
    op = ops[index]
    if op.entity != "note":
        return None
    own = op.fields.get("class")
    if own is not None:
        return str(own)
    for other_index, other in enumerate(ops):
        if (
            other_index != index
            and other.entity == "note"
            and other.entity_id == op.entity_id
            and "class" in other.fields
        ):
            return PRIVILEGED
    return None


def releasable_reveals(
    conn: Connection, cs_id: str, ops: Sequence[Op], roles: Sequence[str]
) -> list[list[Any]]:
    """The reveals of changeset `cs_id` that every recipient (by role) may receive, as
    [op index, field, salt hex, value]. A note's text follows the strictest of its class
    when the text was written (as kept, and as its changeset shows) and its class now."""
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
        # The strictest of the class then and now: nobody can declassify by editing.
        klass = strictest(str(stored_class), field_class(kind, name, record_class))
        written = _class_when_written(ops, index)
        if written is not None:
            klass = strictest(klass, written)
        if all(may_receive(role, klass) for role in roles):
            released.append([index, name, bytes(salt).hex(), canonical.decode(value.encode())])
    return released
