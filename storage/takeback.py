"""Taking applied changesets back out of a case, and computing what they touched again.

Why: an ungrant or a revocation can reach an office after it applied changesets that the
ungrant or revocation refuses (the grantee's changesets past its cut, a thief's changesets
past the revocation point). An office that had the ungrant first never applied them. For
every office to agree whatever came first (issue 11: decisions are a function of signed
history, not of arrival order), the late office removes them and computes the records they
touched from the ops that remain, as if they had never been applied.

`take_back` does that inside the caller's transaction:

* the changesets asked for leave `changesets` (and their sealed values); the caller keeps
  them (quarantine), with their bodies, signatures and reveals returned here;
* a record created by a changeset taken back disappears; every remaining changeset that
  builds on a record that disappears (an op on it, a record pointing at it), or names an op
  of such a changeset in its `prev`, leaves too and is returned to be parked, as the
  importer parks a changeset whose record is not known (held back elsewhere);
* every other record touched by a changeset that leaves is computed again: its row, field
  state, field history and conflicts (values and edit-versus-withdrawal flags) are dropped
  and the ops that remain on it are applied again in the order they were first applied,
  through the same `storage.apply` code: the multi-value register gives the result an
  office that never held the removed ops has, whatever order it applied them in;
* grants that disappear make the case's shares what the remaining grants mean; search
  entries follow the records.

Evidence files are not touched: a blob stays in the encrypted blob store (nothing deletes
blobs), and the evidence changeset waits in quarantine, so when a later grant makes it
valid the item comes back with its file.

Rows of tables that refuse deletion (custody, grants, consents: append-only; releases:
withdrawn, never deleted) are removed only when the op that created them is taken back (they
were never valid under the history held now), or, for a release, to be computed again at
once. Their no-delete triggers are lifted for that one statement and put back as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from storage import canonical
from storage.apply import _apply_op
from storage.changesets import Changeset, decode_verified, op_ref
from storage.connection import Connection
from storage.entities import ENTITIES, GRANT, Entity
from storage.grants import derive_shares
from storage.sealing import Reveal
from storage.search import reindex

Record = tuple[str, str]  # (entity, entity id)
Reveals = dict[tuple[int, str], Reveal]
# The fields by which a record points at another record of its case.
_POINTERS = ("evidence_id", "person_id", "target_id")


@dataclass(frozen=True)
class Removed:
    """A changeset that left `changesets`, with what the caller needs to keep it."""

    cs_id: str
    changeset: Changeset
    body: bytes
    sig: bytes
    reveals: Reveals
    needs: tuple[str, ...] = ()  # for a parked one: removed changesets it names in `prev`
    missing: str = ""  # for a parked one: the record it builds on that is gone


@dataclass
class TakeBack:
    """What `take_back` did: the changesets asked for, and those parked because they built
    on a record that disappeared or on a parked changeset."""

    taken: list[Removed] = field(default_factory=list)
    parked: list[Removed] = field(default_factory=list)
    gone: set[Record] = field(default_factory=set)
    recomputed: set[Record] = field(default_factory=set)


@dataclass(frozen=True)
class _Held:
    rowid: int
    cs_id: str
    changeset: Changeset
    body: bytes
    sig: bytes


def take_back(conn: Connection, case_id: str, cs_ids: Iterable[str]) -> TakeBack:
    """Remove the changesets `cs_ids` of the case and compute what they touched again, in
    the caller's transaction (see the module docstring)."""
    wanted = set(cs_ids)
    held = _case_changesets(conn, case_id)
    removed = {cs_id for cs_id in wanted if cs_id in held}
    result = TakeBack()
    if not removed:
        return result
    parked, gone = _spread(held, removed)
    touched = {
        (op.entity, op.entity_id) for cs_id in removed | parked for op in held[cs_id].changeset.ops
    }
    # Rows dropped here are inserted again before the transaction ends.
    conn.execute("PRAGMA defer_foreign_keys = ON")
    for cs_id in sorted(removed | parked):
        if cs_id in parked:
            needs = _parked_needs(held, cs_id, removed | parked, gone)
            result.parked.append(_removed(conn, held[cs_id], needs))
        else:
            result.taken.append(_removed(conn, held[cs_id], None))
        conn.execute("DELETE FROM sealed_values WHERE changeset_id = ?", (cs_id,))
        conn.execute("DELETE FROM changesets WHERE id = ?", (cs_id,))
    again = {record for record in touched - gone if not ENTITIES[record[0]].append_only}
    for record in sorted(gone | again):
        _drop(conn, record)
    _replay(conn, held, removed | parked, again)
    for entity, entity_id in sorted(gone | again):
        reindex(conn, ENTITIES[entity], entity_id)
    if any(entity == GRANT for entity, _ in gone):
        derive_shares(conn, case_id)
    result.gone = gone
    result.recomputed = again
    return result


def _case_changesets(conn: Connection, case_id: str) -> dict[str, _Held]:
    """Every changeset of the case held here, in the order it was applied."""
    rows = conn.execute(
        "SELECT rowid, id, body, sig FROM changesets WHERE case_id = ? ORDER BY rowid", (case_id,)
    )
    found: dict[str, _Held] = {}
    for rowid, cs_id, body, sig in rows:
        body = bytes(body)
        found[str(cs_id)] = _Held(int(rowid), str(cs_id), decode_verified(body), body, bytes(sig))
    return found


def _creates(cs: Changeset) -> set[Record]:
    return {(op.entity, op.entity_id) for op in cs.ops if op.kind == "create"}


def _builds_on(cs: Changeset) -> set[Record]:
    """The records an op of `cs` changes or points at."""
    found: set[Record] = set()
    for op in cs.ops:
        found.add((op.entity, op.entity_id))
        for name in _POINTERS:
            target = op.fields.get(name)
            if target is None:
                continue
            kind = {"evidence_id": "evidence", "person_id": "person"}.get(name)
            found.add((kind or str(op.fields.get("target_kind", "")), str(target)))
    return found


def _prev_changesets(cs: Changeset) -> set[str]:
    named: set[str] = set()
    for op in cs.ops:
        for refs in op.prev.values():
            named.update(ref.split(":", 1)[0] for ref in (refs or "").split())
    return named


def _spread(held: dict[str, _Held], removed: set[str]) -> tuple[set[str], set[Record]]:
    """The changesets that must leave with `removed` (parked) and the records that
    disappear, until nothing more follows."""
    parked: set[str] = set()
    while True:
        leaving = removed | parked
        created_by_remaining = {
            record
            for cs_id, item in held.items()
            if cs_id not in leaving
            for record in _creates(item.changeset)
        }
        gone = {
            record for cs_id in leaving for record in _creates(held[cs_id].changeset)
        } - created_by_remaining
        more = {
            cs_id
            for cs_id, item in held.items()
            if cs_id not in leaving
            and (_builds_on(item.changeset) & gone or _prev_changesets(item.changeset) & parked)
        }
        if not more:
            return parked, gone
        parked |= more


def _parked_needs(
    held: dict[str, _Held], cs_id: str, leaving: set[str], gone: set[Record]
) -> tuple[tuple[str, ...], str]:
    """What a parked changeset waits for: the removed changesets its `prev` names that are
    parked too, or else the record it builds on that is gone."""
    cs = held[cs_id].changeset
    waits = tuple(sorted((_prev_changesets(cs) & leaving) - {cs_id}))
    missing = sorted((_builds_on(cs) - _creates(cs)) & gone) or sorted(_builds_on(cs) & gone)
    words = f"The {missing[0][0]} {missing[0][1]} is not known here." if missing else ""
    return waits, words


def _removed(
    conn: Connection, item: _Held, parked_needs: tuple[tuple[str, ...], str] | None
) -> Removed:
    reveals: Reveals = {
        (int(index), str(name)): Reveal(bytes(salt), canonical.decode(str(value).encode()))
        for index, name, salt, value in conn.execute(
            "SELECT op_index, field, salt, value FROM sealed_values WHERE changeset_id = ?",
            (item.cs_id,),
        )
    }
    needs, missing = parked_needs if parked_needs is not None else ((), "")
    return Removed(item.cs_id, item.changeset, item.body, item.sig, reveals, needs, missing)


def _drop(conn: Connection, record: Record) -> None:
    """Forget a record's row and everything derived from the ops on it."""
    entity, entity_id = record
    kind = ENTITIES[entity]
    with _deletion_allowed(conn, kind):
        conn.execute(f"DELETE FROM {kind.table} WHERE id = ?", (entity_id,))
    for table in ("field_state", "field_history"):
        conn.execute(f"DELETE FROM {table} WHERE entity = ? AND entity_id = ?", record)
    conn.execute("DELETE FROM conflicts WHERE entity = ? AND entity_id = ?", record)


@contextmanager
def _deletion_allowed(conn: Connection, kind: Entity) -> Iterator[None]:
    """Lift the no-delete trigger of a table (custody, grants, releases, consents) for one
    statement (in the caller's transaction), and put it back exactly as it was."""
    triggers = [
        (str(name), str(sql))
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?"
            " AND sql LIKE '%BEFORE DELETE%'",
            (kind.table,),
        )
    ]
    for name, _ in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    try:
        yield
    finally:
        for _, sql in triggers:
            conn.execute(sql)


def _replay(
    conn: Connection, held: dict[str, _Held], leaving: set[str], again: set[Record]
) -> None:
    """Apply the remaining ops on the records computed again, in the order their
    changesets were first applied (a causal order: each arrived after what it built on)."""
    if not again:
        return
    sealed: dict[tuple[str, int, str], object] = {}
    for item in sorted(held.values(), key=lambda held_item: held_item.rowid):
        if item.cs_id in leaving:
            continue
        cs = item.changeset
        if not any((op.entity, op.entity_id) in again for op in cs.ops):
            continue
        if any(op.sealed for op in cs.ops):
            sealed = {
                (item.cs_id, int(index), str(name)): canonical.decode(str(value).encode())
                for index, name, value in conn.execute(
                    "SELECT op_index, field, value FROM sealed_values WHERE changeset_id = ?",
                    (item.cs_id,),
                )
            }
        created: dict[Record, dict[str, object] | None] = {}  # (indexed afterwards)
        for index, op in enumerate(cs.ops):
            if (op.entity, op.entity_id) not in again:
                continue
            revealed = {
                name: sealed[(item.cs_id, index, name)]
                for name in op.sealed
                if (item.cs_id, index, name) in sealed
            }
            _apply_op(conn, cs, op_ref(item.cs_id, index), op, revealed, created)
