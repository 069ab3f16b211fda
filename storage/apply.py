"""Applying changesets to the current-state tables: the one place where replicated data changes.

Local edits and (later) imported changesets both come through `apply_changeset`, inside a
transaction the caller owns. Applying the same changeset twice changes nothing.

Per field, an op's `prev` names the op whose value its author saw. When that is the op the
field currently holds, the new value simply replaces it. When the incoming op is already an
ancestor of the current one, it is stale and changes nothing. Otherwise the two edits are
concurrent: both values are kept in the conflict queue and the one with the higher
(hlc, origin) is shown, the same on every node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from storage import canonical
from storage.changesets import Changeset, Op, op_ref
from storage.connection import Connection
from storage.entities import ENTITIES, Entity, clean_fields
from storage.errors import InvalidInput, StorageError
from storage.search import reindex

MAX_ANCESTRY_WALK = 10_000
# The field_state row of a record's creating op. Every field starts from it, so a new record
# costs one bookkeeping row instead of one per field; fields get their own row when set.
CREATED = "*"


class ApplyError(StorageError):
    """A changeset cannot be applied to this workspace as it stands."""


class SequenceGap(ApplyError):
    """The changeset does not follow the last one we hold from its origin."""


class ForkDetected(ApplyError):
    """Two different changesets claim the same origin, epoch and sequence number."""


@dataclass
class ApplyResult:
    """What applying one changeset did."""

    duplicate: bool = False
    conflicts: int = 0
    touched: set[tuple[str, str]] = field(default_factory=set)


def apply_changeset(
    conn: Connection, cs: Changeset, cs_id: str, body: bytes, sig: bytes
) -> ApplyResult:
    """Record a verified changeset and apply its ops. The caller holds the transaction."""
    if conn.execute("SELECT 1 FROM changesets WHERE id = ?", (cs_id,)).fetchone():
        return ApplyResult(duplicate=True)
    _check_sequence(conn, cs, cs_id)
    conn.execute(
        "INSERT INTO changesets(id, origin, epoch, seq, prev_hash, hlc, author, case_id, body,"
        " sig, applied_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            cs_id,
            cs.origin,
            cs.epoch,
            cs.seq,
            cs.prev_hash,
            cs.hlc,
            cs.author,
            cs.case_id,
            body,
            sig,
            datetime.now(UTC).isoformat(),
        ),
    )
    result = ApplyResult()
    for index, op in enumerate(cs.ops):
        result.conflicts += _apply_op(conn, cs, op_ref(cs_id, index), op)
        result.touched.add((op.entity, op.entity_id))
    for entity_name, entity_id in result.touched:
        reindex(conn, ENTITIES[entity_name], entity_id)
    return result


def _check_sequence(conn: Connection, cs: Changeset, cs_id: str) -> None:
    same_slot = conn.execute(
        "SELECT id FROM changesets WHERE origin = ? AND epoch = ? AND seq = ?",
        (cs.origin, cs.epoch, cs.seq),
    ).fetchone()
    if same_slot:
        raise ForkDetected(
            f"Two different changesets claim sequence {cs.seq} of origin {cs.origin[:12]}; "
            "the second was refused."
        )
    last = conn.execute(
        "SELECT seq, id FROM changesets WHERE origin = ? AND epoch = ? ORDER BY seq DESC LIMIT 1",
        (cs.origin, cs.epoch),
    ).fetchone()
    if last is None:
        expected_seq = 1
        ok_prev = cs.seq == 1
    else:
        expected_seq = last[0] + 1
        ok_prev = cs.prev_hash == last[1]
    if cs.seq != expected_seq or not ok_prev:
        raise SequenceGap(
            f"Changeset {cs.seq} of origin {cs.origin[:12]} does not follow the last one held "
            f"(expected {expected_seq})."
        )


def _apply_op(conn: Connection, cs: Changeset, ref: str, op: Op) -> int:
    kind = ENTITIES[op.entity]
    exists = _row_exists(conn, kind, op.entity_id)
    fields = dict(op.fields)
    if op.kind == "withdraw":
        fields = {"withdrawn": 1}
    creating = op.kind == "create" and not exists
    try:
        values = clean_fields(kind, fields, creating=creating)
    except InvalidInput as exc:
        raise ApplyError(f"An op on {op.entity} {op.entity_id} is invalid: {exc}") from None
    if creating:
        _check_case_scope(conn, kind, values, cs.case_id, op.entity_id)
        _insert_row(conn, kind, op.entity_id, values, cs.hlc)
        _record_field(conn, op, ref, CREATED, cs)
        return 0
    if not exists:
        raise ApplyError(f"The {op.entity} {op.entity_id} is not known here.")
    if kind.append_only:
        return 0  # the same event recorded again: nothing to change
    conflicts = _check_withdrawal(conn, op, ref, cs)
    for name, value in values.items():
        conflicts += _apply_field(conn, kind, op, ref, name, value, cs)
    conn.execute(
        f"UPDATE {kind.table} SET updated_hlc = max(updated_hlc, ?) WHERE id = ?",
        (cs.hlc, op.entity_id),
    )
    return conflicts


def _row_exists(conn: Connection, kind: Entity, entity_id: str) -> bool:
    row = conn.execute(f"SELECT 1 FROM {kind.table} WHERE id = ?", (entity_id,)).fetchone()
    return row is not None


def _check_case_scope(
    conn: Connection, kind: Entity, values: dict[str, object], case_id: str, entity_id: str
) -> None:
    """Every record belongs to the changeset's case, and points at records of that case."""
    owner = entity_id if kind.name == "case" else values.get("case_id")
    if owner != case_id:
        raise ApplyError(f"A {kind.name} op names a case other than its changeset's.")
    for ref_field, table in (("evidence_id", "evidence"), ("target_id", None)):
        target = values.get(ref_field)
        if target is None:
            continue
        target_table = table or ENTITIES[str(values["target_kind"])].table
        row = conn.execute(f"SELECT case_id FROM {target_table} WHERE id = ?", (target,)).fetchone()
        if row is None or row[0] != case_id:
            raise ApplyError(f"A {kind.name} points at a record that is not in its case.")


def _insert_row(
    conn: Connection, kind: Entity, entity_id: str, values: dict[str, object], hlc: str
) -> None:
    row = {name: spec.default for name, spec in kind.fields.items()}
    row.update(values)
    columns = ["id", *row.keys(), "created_hlc", "updated_hlc"]
    placeholders = ",".join("?" * len(columns))
    conn.execute(
        f"INSERT INTO {kind.table}({','.join(columns)}) VALUES ({placeholders})",
        (entity_id, *row.values(), hlc, hlc),
    )


def _record_field(conn: Connection, op: Op, ref: str, name: str, cs: Changeset) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO field_state(entity, entity_id, field, op_ref, hlc, origin)"
        " VALUES (?,?,?,?,?,?)",
        (op.entity, op.entity_id, name, ref, cs.hlc, cs.origin),
    )
    if name == CREATED:
        return  # a creating op is where every field's history starts: nothing before it
    conn.execute(
        "INSERT OR IGNORE INTO field_history(op_ref, field, entity, entity_id, prev_ref)"
        " VALUES (?,?,?,?,?)",
        (ref, name, op.entity, op.entity_id, op.prev.get(name)),
    )


def current_op(
    conn: Connection, entity: str, entity_id: str, name: str
) -> tuple[str, str, str] | None:
    """The op whose value field `name` holds now (op_ref, hlc, origin): the last op that set
    it, else the op that created the record."""
    row = conn.execute(
        "SELECT op_ref, hlc, origin FROM field_state WHERE entity = ? AND entity_id = ?"
        " AND field IN (?, ?) ORDER BY field = ? LIMIT 1",
        (entity, entity_id, name, CREATED, CREATED),
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def _current(conn: Connection, op: Op, name: str) -> tuple[str, str, str] | None:
    return current_op(conn, op.entity, op.entity_id, name)


def _is_ancestor(conn: Connection, candidate: str, start: str, name: str) -> bool:
    """True when `candidate` lies on the prev-chain of `start` for this field."""
    ref: str | None = start
    for _ in range(MAX_ANCESTRY_WALK):
        if ref is None:
            return False
        if ref == candidate:
            return True
        row = conn.execute(
            "SELECT prev_ref FROM field_history WHERE op_ref = ? AND field = ?", (ref, name)
        ).fetchone()
        ref = row[0] if row else None
    return False


def _apply_field(
    conn: Connection, kind: Entity, op: Op, ref: str, name: str, value: object, cs: Changeset
) -> int:
    current = _current(conn, op, name)
    if current is None or current[0] == op.prev.get(name):
        _set_value(conn, kind, op.entity_id, name, value)
        _record_field(conn, op, ref, name, cs)
        return 0
    if _is_ancestor(conn, ref, current[0], name):
        return 0
    # Concurrent edits: keep both, show the deterministic winner.
    current_value = conn.execute(
        f"SELECT {name} FROM {kind.table} WHERE id = ?", (op.entity_id,)
    ).fetchone()[0]
    incoming_wins = (cs.hlc, cs.origin) > (current[1], current[2])
    if incoming_wins:
        _set_value(conn, kind, op.entity_id, name, value)
        _record_field(conn, op, ref, name, cs)
        shown, other = (ref, value), (current[0], current_value)
    else:
        conn.execute(
            "INSERT OR IGNORE INTO field_history(op_ref, field, entity, entity_id, prev_ref)"
            " VALUES (?,?,?,?,?)",
            (ref, name, op.entity, op.entity_id, op.prev.get(name)),
        )
        shown, other = (current[0], current_value), (ref, value)
    _record_conflict(conn, op, name, shown, other, cs)
    return 1


def _check_withdrawal(conn: Connection, op: Op, ref: str, cs: Changeset) -> int:
    """An edit made without seeing a withdrawal of the same record is a conflict."""
    if op.kind == "withdraw":
        return 0
    current = _current(conn, op, "withdrawn")
    if current is None or current[0] == op.prev.get("withdrawn"):
        return 0
    kind = ENTITIES[op.entity]
    withdrawn = conn.execute(
        f"SELECT withdrawn FROM {kind.table} WHERE id = ?", (op.entity_id,)
    ).fetchone()[0]
    if not withdrawn or _is_ancestor(conn, current[0], op.prev.get("withdrawn") or "", "withdrawn"):
        return 0
    _record_conflict(conn, op, "withdrawn", (current[0], 1), (ref, op.fields), cs)
    return 1


def _set_value(conn: Connection, kind: Entity, entity_id: str, name: str, value: object) -> None:
    if name not in kind.fields:
        raise ApplyError(f"A {kind.name} has no field {name!r}.")
    conn.execute(f"UPDATE {kind.table} SET {name} = ? WHERE id = ?", (value, entity_id))


def _record_conflict(
    conn: Connection,
    op: Op,
    name: str,
    shown: tuple[str, object],
    other: tuple[str, object],
    cs: Changeset,
) -> None:
    conn.execute(
        "INSERT INTO conflicts(case_id, entity, entity_id, field, shown_op, shown_value,"
        " other_op, other_value, created_hlc) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            cs.case_id,
            op.entity,
            op.entity_id,
            name,
            shown[0],
            canonical.encode(shown[1]).decode(),
            other[0],
            canonical.encode(other[1]).decode(),
            cs.hlc,
        ),
    )
