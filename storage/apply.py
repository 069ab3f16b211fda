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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage import canonical, key_trust
from storage.changesets import Changeset, Op, decode_verified, op_ref
from storage.connection import Connection
from storage.entities import ENTITIES, GRANT, OPEN, PROTECTED, TRUST, Entity, clean_fields
from storage.errors import InvalidInput, StorageError
from storage.grants import cases_of, derive_shares
from storage.history import record_noun
from storage.hlc import Stamp, system_clock_ms
from storage.identity import origin_of
from storage.sealing import BY_RECORD, Reveal, field_class, strictest
from storage.search import IndexEntry, add_index_entries, index_new, new_index_entry, reindex

MAX_ANCESTRY_WALK = 10_000
# The field_state row of a record's creating op. Every field starts from it, so a new record
# costs one bookkeeping row instead of one per field; fields get their own row when set.
CREATED = "*"


class ApplyError(StorageError):
    """A changeset cannot be applied to this workspace as it stands."""


class MissingRecord(ApplyError):
    """An op needs a record that has not arrived yet (its changeset can wait for it)."""


class SequenceGap(ApplyError):
    """The changeset does not follow the last one we hold from its origin."""


class ForkDetected(ApplyError):
    """Two different changesets claim the same origin, epoch and sequence number."""


class ValueInClear(ApplyError):
    """An op carries a protected or privileged value in the signed body instead of sealed:
    whoever forwards that body would hand the value to every peer, restricted ones too."""


class ClockAhead(ApplyError):
    """The changeset's clock stamp lies further ahead of our clock than `ALLOWED_DRIFT_MS`.

    Refused for now, not for good: the importer keeps it in quarantine marked `HELD_FOR`,
    offers it again on later imports, and it applies once our clock has caught up to within
    the allowed drift of its stamp."""

    HELD_FOR = "clock ahead"  # quarantine.held_for: offered again, like a missing grant


# How far ahead of our clock a peer's stamp may be. Stamps decide which of two concurrent
# edits is shown, so a clock ahead by D wins every conflict made within D of it: ten minutes
# bounds that, and is far above what an unsynchronised laptop clock drifts between syncs
# (seconds a day). A clock set hours wrong is refused rather than clamped: its changesets
# wait (nothing is lost) until our clock reaches their stamp, or its owner corrects it.
ALLOWED_DRIFT_MS = 10 * 60 * 1000


@dataclass
class ApplyResult:
    """What applying one changeset did."""

    duplicate: bool = False
    conflicts: int = 0
    touched: set[tuple[str, str]] = field(default_factory=set)


Reveals = dict[tuple[int, str], Reveal]


def apply_changeset(
    conn: Connection,
    cs: Changeset,
    cs_id: str,
    body: bytes,
    sig: bytes,
    reveals: Reveals | None = None,
    *,
    own: bool = False,
    now_ms: int | None = None,
    cases_here: set[str] | None = None,
) -> ApplyResult:
    """Record a verified changeset and apply its ops. The caller holds the transaction.

    `reveals` holds the values of sealed fields that we may see, keyed by (op index,
    field); a sealed field without one is stored withheld (its default). Our own
    changesets (`own`) must follow our last one exactly; another origin's may arrive with
    gaps, because a peer receives only the cases shared with it, but never two different
    changesets in one (origin, epoch, seq) slot.

    Another origin's changeset is refused (`ApplyError`, so the importer quarantines it)
    when an op carries a protected or privileged value in clear (`ValueInClear`), or when
    its clock stamp lies beyond `ALLOWED_DRIFT_MS` ahead of `now_ms` (our wall clock, the
    system's when not given; `ClockAhead`).

    `cases_here`, when given, remembers the cases found in the database so that the
    changesets after this one skip the look-up (an import of 100,000 notes in one case
    asks once): the caller must empty it whenever it rolls back to a savepoint.
    """
    holder = conn.execute(
        "SELECT id FROM changesets WHERE origin = ? AND epoch = ? AND seq = ?",
        (cs.origin, cs.epoch, cs.seq),
    ).fetchone()
    if holder is not None:
        if holder[0] == cs_id:
            return ApplyResult(duplicate=True)
        raise ForkDetected(
            f"Two different changesets claim sequence {cs.seq} of origin {cs.origin[:12]}; "
            "the second was refused."
        )
    reveals = reveals or {}
    _check_reveals(cs, reveals)
    if own:
        _check_sequence(conn, cs)
    else:
        _refuse_clock_ahead(cs, system_clock_ms() if now_ms is None else now_ms)
    _refuse_values_in_clear(conn, cs)
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
    # Records this changeset creates, with the row written (None once a later op of the
    # same changeset changed it): their index rows are written from it, not read back.
    created: dict[tuple[str, str], dict[str, object] | None] = {}
    for index, op in enumerate(cs.ops):
        revealed = {
            name: reveals[(index, name)].value for name in op.sealed if (index, name) in reveals
        }
        ref = op_ref(cs_id, index)
        result.conflicts += _apply_op(conn, cs, ref, op, revealed, created, cases_here)
        result.touched.add((op.entity, op.entity_id))
    _store_reveals(conn, cs, cs_id, reveals)
    for entity_name, entity_id in result.touched:
        key = (entity_name, entity_id)
        row = created.get(key)
        if row is not None:
            index_new(conn, ENTITIES[entity_name], entity_id, row)
        else:
            reindex(conn, ENTITIES[entity_name], entity_id, new=key in created)
    return result


# What a changeset applied by `BulkCreates` may create: records whose creation does
# nothing beyond their own rows (a case, a grant or a key statement changes who may do
# what, and later changesets are decided by it).
_BULK_ENTITIES = frozenset(name for name in ENTITIES if name not in ("case", GRANT, TRUST))
_CHUNK = 500  # ids per look-up (far under SQLite's limit of bound values)


def only_creates_plain_records(cs: Changeset) -> bool:
    """True when every op of `cs` creates a record of a kind `BulkCreates` may write."""
    return cs.case_id != "" and all(
        op.kind == "create" and op.entity in _BULK_ENTITIES for op in cs.ops
    )


class BulkCreates:
    """Applies changesets that only create new records many at a time, with the rows
    `apply_changeset` would write one statement at a time: an import of 100,000 notes
    costs a few `executemany` per batch instead of seven statements per changeset.

    `add` answers every check `apply_changeset` makes from what it remembers (the slots
    and records looked up per batch by `look_ahead`, those added since, the cases found)
    and keeps the rows; `flush` writes them. The caller flushes before anything else
    reads or writes the database (another changeset applied one at a time, the end of
    its batch) and calls `noted_applied` for each changeset it applied with
    `apply_changeset` meanwhile, so what is remembered stays true. A changeset `add`
    cannot take (not only new records, a check that fails) is left to `apply_changeset`,
    which refuses it with its sentence or applies it; nothing is remembered of it."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._slots: dict[tuple[str, int, int], str | None] = {}  # holder, when looked up
        self._records: dict[tuple[str, str], bool] = {}  # (table, id): is it here
        # id -> the indexed kind it names here (None: none), for ids looked up or added
        self._id_kinds: dict[str, str | None] = {}
        self._cases: dict[tuple[str, str], str] = {}  # (table, id) -> case, not written yet
        self._changesets: list[tuple[object, ...]] = []
        self._rows: dict[tuple[str, tuple[str, ...]], list[tuple[object, ...]]] = {}
        self._field_state: list[tuple[str, str, str, str, str, str]] = []
        self._index: list[IndexEntry] = []
        self._order: dict[str, int] | None = None

    def look_ahead(self, changesets: Iterable[Changeset]) -> None:
        """Look up at once, for the changesets about to be offered, who holds their
        (origin, epoch, seq) slots and which records they create are here already."""
        self.discard()
        seqs: dict[tuple[str, int], list[int]] = {}
        ids: dict[str, list[str]] = {}
        for cs in changesets:
            if not only_creates_plain_records(cs):
                continue
            seqs.setdefault((cs.origin, cs.epoch), []).append(cs.seq)
            for op in cs.ops:
                ids.setdefault(ENTITIES[op.entity].table, []).append(op.entity_id)
        for (origin, epoch), numbers in seqs.items():
            for chunk in _chunks(numbers):
                self._slots.update(((origin, epoch, seq), None) for seq in chunk)
                rows = self._conn.execute(
                    f"SELECT seq, id FROM changesets WHERE origin = ? AND epoch = ?"
                    f" AND seq IN ({','.join('?' * len(chunk))})",
                    (origin, epoch, *chunk),
                )
                self._slots.update(((origin, epoch, int(seq)), str(id_)) for seq, id_ in rows)
        for table, entity_ids in ids.items():
            for chunk in _chunks(entity_ids):
                self._records.update(((table, entity_id), False) for entity_id in chunk)
                rows = self._conn.execute(
                    f"SELECT id FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
                )
                self._records.update(((table, str(row[0])), True) for row in rows)
        self._look_up_id_kinds(
            [i for t, found in ids.items() if t in _INDEXED_VALUES for i in found]
        )

    def _look_up_id_kinds(self, entity_ids: list[str]) -> None:
        """Which indexed kind each id names here, if any (one query per kind and chunk)."""
        self._id_kinds.update(dict.fromkeys(entity_ids))
        for kind_name, table in INDEXED_TABLES.items():
            for chunk in _chunks(entity_ids):
                rows = self._conn.execute(
                    f"SELECT id FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
                )
                self._id_kinds.update((str(row[0]), kind_name) for row in rows)

    def _named_otherwise(self, kind: Entity, entity_id: str) -> bool:
        """True when the id already names a record of another indexed kind (here, or
        among those waiting to be written): `apply_changeset` refuses it."""
        if kind.name not in INDEXED_TABLES:
            return False
        if entity_id not in self._id_kinds:
            self._look_up_id_kinds([entity_id])
        named = self._id_kinds[entity_id]
        return named is not None and named != kind.name

    def noted_applied(self, cs: Changeset, cs_id: str, touched: Iterable[tuple[str, str]]) -> None:
        """`cs` was applied by `apply_changeset`: its slot and its records are here now."""
        self._slots[(cs.origin, cs.epoch, cs.seq)] = cs_id
        for entity, entity_id in touched:
            self._records[(ENTITIES[entity].table, entity_id)] = True
            if entity in INDEXED_TABLES:
                self._id_kinds[entity_id] = entity

    def add(
        self,
        cs: Changeset,
        cs_id: str,
        body: bytes,
        sig: bytes,
        reveals: Reveals | None = None,
        *,
        cases_here: set[str] | None = None,
        now_ms: int | None = None,
    ) -> bool:
        """Take `cs` (another origin's) to be written by `flush`, when it only creates
        records new here and `apply_changeset` would apply it; False leaves it to
        `apply_changeset` (a duplicate, a fork, an update, reveals to keep, a refusal)."""
        if reveals or not only_creates_plain_records(cs) or self._holder(cs) is not None:
            return False
        try:
            _refuse_clock_ahead(cs, system_clock_ms() if now_ms is None else now_ms)
            _refuse_values_in_clear(self._conn, cs)
        except ApplyError:
            return False
        rows: list[tuple[tuple[str, tuple[str, ...]], tuple[object, ...]]] = []
        entries: list[IndexEntry | None] = []
        written: list[tuple[str, str]] = []  # what its later ops may point at
        for index, op in enumerate(cs.ops):
            kind = ENTITIES[op.entity]
            key = (kind.table, op.entity_id)
            if (
                self._here(key)
                or self._named_otherwise(kind, op.entity_id)
                or (op.sealed and not op.sealed.keys() <= kind.fields.keys())
            ):
                self._forget(written)
                return False
            fields = {name: kind.fields[name].default for name in op.sealed}
            fields.update(op.fields)
            try:
                values = clean_fields(kind, fields, creating=True, present=op.sealed.keys())
                _check_case_scope(
                    self._conn, kind, values, cs.case_id, op.entity_id, cases_here, self._cases
                )
            except (InvalidInput, ApplyError):
                self._forget(written)
                return False
            row = dict(_defaults(kind))
            row.update(values)
            columns = ("id", *row, "created_hlc", "updated_hlc")
            rows.append(((kind.table, columns), (op.entity_id, *row.values(), cs.hlc, cs.hlc)))
            self._cases[key] = cs.case_id
            written.append(key)
            if kind.name in INDEXED_TABLES:
                self._id_kinds[op.entity_id] = kind.name
            self._field_state.append(
                (op.entity, op.entity_id, CREATED, op_ref(cs_id, index), cs.hlc, cs.origin)
            )
            entries.append(new_index_entry(kind, op.entity_id, row))
        changeset = (cs_id, cs.origin, cs.epoch, cs.seq, cs.prev_hash, cs.hlc, cs.author)
        self._changesets.append((*changeset, cs.case_id, body, sig))
        for table_columns, values_row in rows:
            self._rows.setdefault(table_columns, []).append(values_row)
        if len(entries) == 1:
            if entries[0] is not None:
                self._index.append(entries[0])
        else:  # in the order apply_changeset indexes the records a changeset touched
            by_record = {
                (op.entity, op.entity_id): e for op, e in zip(cs.ops, entries, strict=True)
            }
            touched = {(op.entity, op.entity_id) for op in cs.ops}
            self._index.extend(e for key in touched if (e := by_record[key]) is not None)
        self._slots[(cs.origin, cs.epoch, cs.seq)] = cs_id
        return True

    def flush(self) -> None:
        """Write the rows of the changesets taken since the last flush."""
        if not self._changesets:
            return
        applied_at = (datetime.now(UTC).isoformat(),)
        self._conn.executemany(
            "INSERT INTO changesets(id, origin, epoch, seq, prev_hash, hlc, author, case_id,"
            " body, sig, applied_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [row + applied_at for row in self._changesets],
        )
        # A record's row goes in after the rows it points at (foreign keys are checked at
        # once): a custody event after the evidence item created earlier in the run.
        rank = self._parents_first()
        for (table, columns), rows in sorted(self._rows.items(), key=lambda i: rank[i[0][0]]):
            self._conn.executemany(
                f"INSERT INTO {table}({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                rows,
            )
        self._conn.executemany(
            "INSERT OR REPLACE INTO field_state(entity, entity_id, field, op_ref, hlc, origin)"
            " VALUES (?,?,?,?,?,?)",
            self._field_state,
        )
        add_index_entries(self._conn, self._index)
        self._records.update(dict.fromkeys(self._cases, True))
        self._forget_rows()

    def _parents_first(self) -> dict[str, int]:
        """The record tables in an order where every table comes after the tables its
        foreign keys point at (read from the schema once)."""
        if self._order is None:
            tables = {kind.table for kind in ENTITIES.values()}
            parents = {
                table: {
                    str(row[2])
                    for row in self._conn.execute(f"PRAGMA foreign_key_list({table})")
                    if str(row[2]) in tables and str(row[2]) != table
                }
                for table in tables
            }
            order: list[str] = []
            while parents:
                ready = sorted(t for t, needs in parents.items() if needs <= set(order))
                if not ready:
                    raise StorageError("The record tables' foreign keys form a cycle.")
                order.extend(ready)
                for table in ready:
                    del parents[table]
            self._order = {table: rank for rank, table in enumerate(order)}
        return self._order

    def discard(self) -> None:
        """Forget the rows not written and all that was looked up (the batch is rolled
        back, taking with it what was applied meanwhile)."""
        self._forget_rows()
        self._slots.clear()
        self._records.clear()
        self._id_kinds.clear()

    def _forget_rows(self) -> None:
        self._changesets.clear()
        self._rows.clear()
        self._field_state.clear()
        self._index.clear()
        self._cases.clear()

    def _forget(self, written: list[tuple[str, str]]) -> None:
        """Undo what `add` kept of a changeset it then left to `apply_changeset`."""
        for key in written:
            del self._cases[key]
        if written:
            del self._field_state[-len(written) :]

    def _holder(self, cs: Changeset) -> str | None:
        slot = (cs.origin, cs.epoch, cs.seq)
        if slot not in self._slots:
            row = self._conn.execute(
                "SELECT id FROM changesets WHERE origin = ? AND epoch = ? AND seq = ?", slot
            ).fetchone()
            self._slots[slot] = str(row[0]) if row else None
        return self._slots[slot]

    def _here(self, key: tuple[str, str]) -> bool:
        """True when the record (table, id) is in the database or waits to be written."""
        if key in self._cases:
            return True
        if key not in self._records:
            row = self._conn.execute(f"SELECT 1 FROM {key[0]} WHERE id = ?", (key[1],))
            self._records[key] = row.fetchone() is not None
        return self._records[key]


_DEFAULTS: dict[str, dict[str, object]] = {}


def _defaults(kind: Entity) -> dict[str, object]:
    """Every field of `kind` with its default, in the order of its columns."""
    found = _DEFAULTS.get(kind.name)
    if found is None:
        found = _DEFAULTS[kind.name] = {name: spec.default for name, spec in kind.fields.items()}
    return found


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _check_reveals(cs: Changeset, reveals: Reveals) -> None:
    """Every reveal must answer a sealed field of this changeset and match its commitment."""
    for (index, name), reveal in reveals.items():
        if not 0 <= index < len(cs.ops) or name not in cs.ops[index].sealed:
            raise ApplyError("A revealed value answers no sealed field of its changeset.")
        if reveal.commitment() != cs.ops[index].sealed[name]:
            raise ApplyError(
                f"A revealed value of {cs.ops[index].entity} field {name!r} does not match "
                "what its author signed."
            )


def _refuse_clock_ahead(cs: Changeset, now_ms: int) -> None:
    """Refuse a stamp from further in our future than the allowed drift (`ClockAhead`)."""
    ahead = Stamp.parse(cs.hlc).wall_ms - now_ms
    if ahead > ALLOWED_DRIFT_MS:
        raise ClockAhead(
            f"Its clock stamp is {_duration(ahead)} ahead of this computer's clock, more than"
            f" the {_duration(ALLOWED_DRIFT_MS)} allowed, so it could win every conflict; it"
            " is offered again on later imports and applies once the clocks agree. Ask the"
            " sending office to check its computer's date and time."
        )


def _duration(ms: int) -> str:
    """A length of time in words, to the minute ("3 days 4 hours", "10 minutes")."""
    minutes = ms // 60_000
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{count} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if count
    ]
    return " ".join(parts[:2]) or "less than a minute"


def _refuse_values_in_clear(conn: Connection, cs: Changeset) -> None:
    """Refuse an op that carries a protected or privileged field's value in clear: the
    signed body travels to every peer of the case, so such values must travel sealed
    (storage.sealing), as the local write path always seals them. The value itself is
    never put in the sentence."""
    given: dict[str, str] = {}  # note id -> the class an op of this changeset gives it
    for op in cs.ops:
        kind = ENTITIES[op.entity]
        if op.entity == "note" and "class" in op.fields:
            given[op.entity_id] = str(op.fields["class"])
        for name in op.fields:
            klass = _class_in_clear(conn, kind, op, name, given.get(op.entity_id))
            if klass != OPEN:
                raise ValueInClear(
                    f"It carries the {klass} {kind.name} field “{name.replace('_', ' ')}”"
                    f" in clear instead of sealed; {klass} values travel only sealed, so"
                    " whoever forwarded it would hand the value to every peer."
                )


def _class_in_clear(conn: Connection, kind: Entity, op: Op, name: str, given: str | None) -> str:
    """The class a field sent in clear must be judged by. A note's text takes the class
    its changeset gives the note (`given`), else the class it was created with while it still has
    a restricted one: both are fixed by signed history, so every office decides alike,
    and an edit made before a concurrent raise of the class (its author saw the note
    open) is not refused."""
    spec = kind.fields.get(name)
    if spec is None or spec.klass != BY_RECORD:
        return spec.klass if spec is not None else OPEN
    if given is not None:
        return field_class(kind, name, given)
    created = current_op(conn, op.entity, op.entity_id, CREATED)
    creating_op = _op_at(conn, created[0]) if created else None
    if creating_op is None:
        return OPEN  # not known here yet: the importer parks it until the note arrives
    at_creation = field_class(kind, name, str(creating_op.fields.get("class", OPEN)))
    row = conn.execute("SELECT class FROM notes WHERE id = ?", (op.entity_id,)).fetchone()
    now = field_class(kind, name, str(row[0])) if row else OPEN
    return OPEN if OPEN in (at_creation, now) else strictest(at_creation, now)


def _store_reveals(conn: Connection, cs: Changeset, cs_id: str, reveals: Reveals) -> None:
    """Keep reveals so the values can be passed on to peers allowed to see them, with the
    field's class as it is now: a later change of a note's class (by anyone) cannot make a
    value sealed as privileged travel."""
    if not reveals:
        return
    rows = []
    for (index, name), reveal in reveals.items():
        op = cs.ops[index]
        klass = sealed_class(conn, op.entity, op.entity_id, name)
        value = canonical.encode(reveal.value).decode()
        rows.append((cs_id, index, name, reveal.salt, value, klass))
    conn.executemany(
        "INSERT OR IGNORE INTO sealed_values(changeset_id, op_index, field, salt, value, klass)"
        " VALUES (?,?,?,?,?,?)",
        rows,
    )


def sealed_class(conn: Connection, entity: str, entity_id: str, name: str) -> str:
    """The class of a sealed field of a record now: protected at least (it was sealed)."""
    kind = ENTITIES[entity]
    record_class = None
    if entity == "note":
        row = conn.execute("SELECT class FROM notes WHERE id = ?", (entity_id,)).fetchone()
        record_class = str(row[0]) if row else None
    return strictest(PROTECTED, field_class(kind, name, record_class))


def _check_sequence(conn: Connection, cs: Changeset) -> None:
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


def _apply_op(
    conn: Connection,
    cs: Changeset,
    ref: str,
    op: Op,
    revealed: dict[str, object],
    created: dict[tuple[str, str], dict[str, object] | None],
    cases_here: set[str] | None = None,
) -> int:
    """Apply one op; records it creates are added to `created` with the row written.
    Returns new conflicts."""
    kind = ENTITIES[op.entity]
    if (op.entity, op.entity_id) in created:
        created[(op.entity, op.entity_id)] = None  # changed again: read back to index
    exists = _row_exists(conn, kind, op.entity_id)
    # A sealed field we may not see is stored withheld: its default value.
    fields = {name: revealed.get(name, kind.fields[name].default) for name in op.sealed}
    fields.update(op.fields)
    if op.kind == "withdraw":
        fields = {"withdrawn": 1}
    creating = op.kind == "create" and not exists
    try:
        values = clean_fields(kind, fields, creating=creating, present=set(op.sealed))
    except InvalidInput as exc:
        raise ApplyError(f"An op on {op.entity} {op.entity_id} is invalid: {exc}") from None
    if creating:
        _refuse_id_of_another_record(conn, kind, op.entity_id)
        _check_case_scope(conn, kind, values, cs.case_id, op.entity_id, cases_here)
        created[(op.entity, op.entity_id)] = _insert_row(conn, kind, op.entity_id, values, cs.hlc)
        _record_field(conn, op, ref, CREATED, cs)
        if kind.name == TRUST:
            _apply_trust(conn, op.entity_id, values, cs)
        elif kind.name == GRANT:
            _apply_grant(conn, values, cs)
        return 0
    if not exists:
        raise MissingRecord(f"The {op.entity} {op.entity_id} is not known here.")
    if kind.append_only:
        return 0  # the same event recorded again: nothing to change
    conflicts = _check_withdrawal(conn, op, ref, cs)
    for name, value in values.items():
        conflicts += _apply_field(conn, kind, op, ref, name, value, cs)
    if op.kind not in ("create", "withdraw") and "withdrawn" in kind.fields:
        _unflag_edits_a_withdrawal_saw(conn, op.entity, op.entity_id)
    conn.execute(
        f"UPDATE {kind.table} SET updated_hlc = max(updated_hlc, ?) WHERE id = ?",
        (cs.hlc, op.entity_id),
    )
    return conflicts


def _apply_trust(
    conn: Connection, statement_id: str, values: dict[str, object], cs: Changeset
) -> None:
    """Check a key statement's shape, make a rotation's new key known as an origin, then
    derive the revocations again from every statement held (storage.key_trust): who signed
    what decides whether it counts, not the order statements arrive in."""
    subject = str(values["subject"])
    if values["statement"] == key_trust.ROTATE:
        if subject != cs.origin:
            raise ApplyError("Only a key's own holder can announce its replacement.")
        new_signing = bytes.fromhex(str(values.get("new_signing_public") or ""))
        if len(new_signing) != 32 or not values.get("new_encryption_public"):
            raise ApplyError("A key rotation must name the new keys.")
        conn.execute(
            "INSERT OR IGNORE INTO origins(origin, signing_public, office_name) VALUES (?,?,?)",
            (origin_of(new_signing), new_signing, str(values.get("office_name") or "")),
        )
    elif values["statement"] == key_trust.RETRACT and not values.get("retracts"):
        raise ApplyError(
            f"The key statement {statement_id} retracts nothing: it names no revocation."
        )
    trust = key_trust.recompute(conn)
    # A rotation that counts makes the new key the same member of the old key's cases; one
    # that stops counting (a revocation arrived) undoes it: derive those cases' shares again.
    affected = {subject, *(new for new, old in trust.honoured_rotations.items() if old == subject)}
    for origin in sorted(affected):
        for case_id in cases_of(conn, origin):
            derive_shares(conn, case_id)


def _apply_grant(conn: Connection, values: dict[str, object], cs: Changeset) -> None:
    """Check a grant names a key that matches its origin and a role, then make the case's
    shares what its grants mean now. (Whether its signer may grant is sync.authority's.)"""
    if values["kind"] == "grant":
        signing = bytes.fromhex(str(values.get("signing_public") or ""))
        if len(signing) != 32 or origin_of(signing) != values["grantee"]:
            raise ApplyError("A grant must name the grantee's signing key.")
        if not values.get("role") or not values.get("encryption_public"):
            raise ApplyError("A grant must name the grantee's role and encryption key.")
    derive_shares(conn, cs.case_id)


def revoked_after(conn: Connection, origin: str) -> tuple[int, int, str] | None:
    """(epoch, seq, reason) after which changesets of `origin` are refused, if revoked."""
    row = conn.execute(
        "SELECT epoch, after_seq, reason FROM revocations WHERE origin = ?", (origin,)
    ).fetchone()
    return (int(row[0]), int(row[1]), str(row[2])) if row else None


# The record kinds the search index holds, by table: one row each, by id alone, so an id
# may name one of them only (a record of another kind under a taken id would break the
# index, and with it every later import).
INDEXED_TABLES = {
    kind.name: kind.table for kind in ENTITIES.values() if kind.search_title or kind.search_body
}
_INDEXED_VALUES = frozenset(INDEXED_TABLES.values())


def _refuse_id_of_another_record(conn: Connection, kind: Entity, entity_id: str) -> None:
    """Refuse a new record whose id already names a record of another indexed kind here.
    Ids are random (80 bits): only a hostile peer reuses one, e.g. the id of a legal
    element it was never sent, to break the importing office's search index."""
    if kind.name not in INDEXED_TABLES:
        return
    for other, table in INDEXED_TABLES.items():
        if other == kind.name:
            continue
        if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (entity_id,)).fetchone():
            raise ApplyError(id_taken_sentence(kind.name, entity_id, other))


def id_taken_sentence(entity: str, entity_id: str, other: str) -> str:
    """Why a record under another record's id is refused."""
    return (
        f"It creates a {record_noun(entity)} under the id {entity_id}, which already names a"
        f" {record_noun(other)} here; one id names one record, so it is not applied."
    )


def _row_exists(conn: Connection, kind: Entity, entity_id: str) -> bool:
    row = conn.execute(f"SELECT 1 FROM {kind.table} WHERE id = ?", (entity_id,)).fetchone()
    return row is not None


def _case_here(conn: Connection, case_id: str, cases_here: set[str] | None) -> bool:
    """True when the case is in the database (remembered in `cases_here` once found)."""
    if cases_here is not None and case_id in cases_here:
        return True
    if not conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone():
        return False
    if cases_here is not None:
        cases_here.add(case_id)
    return True


def _check_case_scope(
    conn: Connection,
    kind: Entity,
    values: dict[str, object],
    case_id: str,
    entity_id: str,
    cases_here: set[str] | None = None,
    written: Mapping[tuple[str, str], str] | None = None,
) -> None:
    """Every record belongs to the changeset's case, and points at records of that case;
    trust statements belong to no case. `written` holds the case of records created but
    not written to the database yet, by (table, id) (`BulkCreates`)."""
    if (kind.name == TRUST) != (case_id == ""):
        raise ApplyError("Statements about keys travel alone, outside any case.")
    if kind.name == TRUST:
        return
    owner = entity_id if kind.name == "case" else values.get("case_id")
    if owner != case_id:
        raise ApplyError(f"A {kind.name} op names a case other than its changeset's.")
    if kind.name != "case" and not _case_here(conn, case_id, cases_here):
        raise MissingRecord(f"A {kind.name} belongs to a case that is not known here.")
    for ref_field, table in (
        ("evidence_id", "evidence"),
        ("person_id", "persons"),
        ("target_id", None),
    ):
        target = values.get(ref_field)
        if target is None:
            continue
        target_table = table or ENTITIES[str(values["target_kind"])].table
        target_case = written.get((target_table, str(target))) if written else None
        if target_case is None:
            row = conn.execute(
                f"SELECT case_id FROM {target_table} WHERE id = ?", (target,)
            ).fetchone()
            if row is None:
                raise MissingRecord(f"A {kind.name} points at a record that is not known here.")
            target_case = row[0]
        if target_case != case_id:
            raise ApplyError(f"A {kind.name} points at a record that is not in its case.")


def _insert_row(
    conn: Connection, kind: Entity, entity_id: str, values: dict[str, object], hlc: str
) -> dict[str, object]:
    """Insert a new record; the row written (every field)."""
    row = {name: spec.default for name, spec in kind.fields.items()}
    row.update(values)
    columns = ["id", *row.keys(), "created_hlc", "updated_hlc"]
    placeholders = ",".join("?" * len(columns))
    conn.execute(
        f"INSERT INTO {kind.table}({','.join(columns)}) VALUES ({placeholders})",
        (entity_id, *row.values(), hlc, hlc),
    )
    return row


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


def waiting_ops(conn: Connection, entity: str, entity_id: str, name: str) -> list[str]:
    """Ops whose values for a field wait in the conflict queue beside the shown one."""
    rows = conn.execute(
        "SELECT other_op FROM conflicts WHERE status = 'open' AND entity = ?"
        " AND entity_id = ? AND field = ?",
        (entity, entity_id, name),
    )
    return [str(row[0]) for row in rows]


def _current(conn: Connection, op: Op, name: str) -> tuple[str, str, str] | None:
    return current_op(conn, op.entity, op.entity_id, name)


def prev_refs(prev: str | None) -> list[str]:
    """The ops a `prev` entry names: usually one, several when a resolution saw them all."""
    return prev.split() if prev else []


def _is_ancestor(conn: Connection, candidate: str, start: str, name: str) -> bool:
    """True when `candidate` is `start` (one ref or several) or lies behind it on the
    field's history, which branches where a resolution merged concurrent values."""
    frontier = prev_refs(start)
    visited: set[str] = set()
    while frontier and len(visited) < MAX_ANCESTRY_WALK:
        ref = frontier.pop()
        if ref == candidate:
            return True
        if ref in visited:
            continue
        visited.add(ref)
        row = conn.execute(
            "SELECT prev_ref FROM field_history WHERE op_ref = ? AND field = ?", (ref, name)
        ).fetchone()
        if row:
            frontier.extend(prev_refs(row[0]))
    return False


@dataclass(frozen=True)
class _Head:
    """One op whose value for a field no later op has overwritten."""

    ref: str
    hlc: str
    origin: str
    value: object
    conflict_id: int | None = None  # its row in the conflict queue, when it is not shown

    @property
    def rank(self) -> tuple[str, str]:
        return (self.hlc, self.origin)


def _heads(conn: Connection, kind: Entity, op: Op, name: str) -> list[_Head]:
    """The shown op of a field and the concurrent ops waiting beside it in the queue."""
    current = _current(conn, op, name)
    if current is None:
        return []
    shown_value = conn.execute(
        f"SELECT {name} FROM {kind.table} WHERE id = ?", (op.entity_id,)
    ).fetchone()[0]
    heads = [_Head(current[0], current[1], current[2], shown_value)]
    rows = conn.execute(
        "SELECT id, other_op, other_value, other_hlc, other_origin FROM conflicts"
        " WHERE status = 'open' AND entity = ? AND entity_id = ? AND field = ?"
        " ORDER BY id",
        (op.entity, op.entity_id, name),
    )
    for conflict_id, ref, value, hlc, origin in rows:
        decoded = canonical.decode(str(value).encode()) if value is not None else None
        heads.append(_Head(str(ref), str(hlc), str(origin), decoded, int(conflict_id)))
    return heads


def _apply_field(
    conn: Connection, kind: Entity, op: Op, ref: str, name: str, value: object, cs: Changeset
) -> int:
    """Merge one field as a multi-value register: the heads are the ops no other op has
    overwritten; the one with the highest (hlc, origin) is shown and the others wait in the
    conflict queue. The result does not depend on the order ops arrive in."""
    heads = _heads(conn, kind, op, name)
    if not heads:
        _set_value(conn, kind, op.entity_id, name, value)
        _record_field(conn, op, ref, name, cs)
        return 0
    seen = op.prev.get(name)
    if any(_is_ancestor(conn, ref, head.ref, name) for head in heads):
        # Already overwritten by something we hold (it arrived after its descendant):
        # history only, but its link completes the ancestry that descendant saw.
        return _settle_stale(conn, kind, op, ref, name, heads, seen)
    superseded = [head for head in heads if seen and _is_ancestor(conn, head.ref, seen, name)]
    remaining = [head for head in heads if head not in superseded]
    incoming = _Head(ref, cs.hlc, cs.origin, value)
    winner = max([*remaining, incoming], key=lambda head: head.rank)
    _set_value(conn, kind, op.entity_id, name, winner.value)
    conn.execute(
        "INSERT OR IGNORE INTO field_history(op_ref, field, entity, entity_id, prev_ref)"
        " VALUES (?,?,?,?,?)",
        (ref, name, op.entity, op.entity_id, seen),
    )
    conn.execute(
        "INSERT OR REPLACE INTO field_state(entity, entity_id, field, op_ref, hlc, origin)"
        " VALUES (?,?,?,?,?,?)",
        (op.entity, op.entity_id, name, winner.ref, winner.hlc, winner.origin),
    )
    return _requeue(conn, op, name, winner, superseded, remaining, incoming, cs)


def _settle_stale(
    conn: Connection,
    kind: Entity,
    op: Op,
    ref: str,
    name: str,
    heads: list[_Head],
    seen: str | None,
) -> int:
    """An op that a head already overwrote arrives late (a held-back changeset applied
    after one built on it, say). Record its place in the field's history, as it would be
    had it arrived first, and drop the heads it had seen: they were overwritten too, by
    the head that saw this op. The heads are then what they are in the other order."""
    conn.execute(
        "INSERT OR IGNORE INTO field_history(op_ref, field, entity, entity_id, prev_ref)"
        " VALUES (?,?,?,?,?)",
        (ref, name, op.entity, op.entity_id, seen),
    )
    superseded = [head for head in heads if seen and _is_ancestor(conn, head.ref, seen, name)]
    if not superseded:
        return 0
    remaining = [head for head in heads if head not in superseded]
    winner = max(remaining, key=lambda head: head.rank)
    _set_value(conn, kind, op.entity_id, name, winner.value)
    conn.execute(
        "INSERT OR REPLACE INTO field_state(entity, entity_id, field, op_ref, hlc, origin)"
        " VALUES (?,?,?,?,?,?)",
        (op.entity, op.entity_id, name, winner.ref, winner.hlc, winner.origin),
    )
    for head in superseded:
        if head.conflict_id is not None:
            conn.execute(
                "UPDATE conflicts SET status = 'resolved', resolved_by = ? WHERE id = ?",
                (ref, head.conflict_id),
            )
        if name == "withdrawn":  # flags against a withdrawal that was overwritten
            conn.execute(
                "UPDATE conflicts SET status = 'resolved', resolved_by = ? WHERE status = 'open'"
                " AND entity = ? AND entity_id = ? AND field = ? AND shown_op = ?",
                (ref, op.entity, op.entity_id, WITHDRAWAL, head.ref),
            )
    for head in remaining:
        if head is winner and head.conflict_id is not None:
            conn.execute("DELETE FROM conflicts WHERE id = ?", (head.conflict_id,))
        elif head is not winner:
            conn.execute(
                "UPDATE conflicts SET shown_op = ?, shown_value = ? WHERE id = ?",
                (winner.ref, canonical.encode(winner.value).decode(), head.conflict_id),
            )
    return 0


def _requeue(
    conn: Connection,
    op: Op,
    name: str,
    winner: _Head,
    superseded: list[_Head],
    remaining: list[_Head],
    incoming: _Head,
    cs: Changeset,
) -> int:
    """Bring the conflict queue of a field in line with its heads; returns new conflicts."""
    for head in superseded:
        if head.conflict_id is not None:
            conn.execute(
                "UPDATE conflicts SET status = 'resolved', resolved_by = ? WHERE id = ?",
                (incoming.ref, head.conflict_id),
            )
        if name == "withdrawn":  # a restore or a new withdrawal that saw the old one
            conn.execute(
                "UPDATE conflicts SET status = 'resolved', resolved_by = ? WHERE status = 'open'"
                " AND entity = ? AND entity_id = ? AND field = ? AND shown_op = ?",
                (incoming.ref, op.entity, op.entity_id, WITHDRAWAL, head.ref),
            )
    created = 0
    for head in [*remaining, incoming]:
        if head is winner:
            if head.conflict_id is not None:
                conn.execute("DELETE FROM conflicts WHERE id = ?", (head.conflict_id,))
            continue
        if head.conflict_id is None:
            _record_conflict(conn, op, name, (winner.ref, winner.value), head, cs)
            created += 1
        else:
            conn.execute(
                "UPDATE conflicts SET shown_op = ?, shown_value = ? WHERE id = ?",
                (winner.ref, canonical.encode(winner.value).decode(), head.conflict_id),
            )
    if not remaining:
        # The incoming op overwrote every value it competed with: a plain edit.
        return 0
    return created


WITHDRAWAL = "(withdrawal)"  # the conflict queue's field name for an edit vs a withdrawal


def _check_withdrawal(conn: Connection, op: Op, ref: str, cs: Changeset) -> int:
    """An edit made without seeing a withdrawal of the same record, by someone who saw the
    record in use, is flagged against that withdrawal, whichever of the two arrives first:

        flag(E, W)  when  W is a withdrawal, E an edit, E's author had not seen W nor any
                          other withdrawal standing, and W's author had not seen E.

    A later decision about the withdrawal (a restore, or keeping it withdrawn) settles the
    flags against the withdrawals it saw."""
    if op.kind == "withdraw":
        return _edits_unseen_by_withdrawal(conn, op, ref, cs)
    edited = [name for name in (*op.fields, *op.sealed) if name != "withdrawn"]
    if not edited:
        # It only sets `withdrawn` (a restore, or a decision on a conflict over it): a
        # decision about withdrawals, which competes with them on that field, never an
        # edit made without seeing one. (A withdrawal arriving after it walks the other
        # fields only, so it finds no edit there either.)
        return 0
    if "withdrawn" not in ENTITIES[op.entity].fields or _saw_withdrawn(conn, op):
        return 0
    seen = op.prev.get("withdrawn") or ""
    edit = _Head(ref, cs.hlc, cs.origin, op.fields)
    flagged = 0
    heads = _withdrawn_heads(conn, op.entity, op.entity_id)
    for head in heads:
        if _is_ancestor(conn, head, seen, "withdrawn"):
            continue
        withdrawal = _op_at(conn, head)
        if withdrawal is None or withdrawal.kind != "withdraw":
            continue
        if _withdrawal_saw(conn, withdrawal, ref, edited):
            continue
        flagged += _flag(conn, op, head, edit, cs)
    return flagged


def _unflag_edits_a_withdrawal_saw(conn: Connection, entity: str, entity_id: str) -> None:
    """Drop flags of edits that a withdrawal is now known to have seen. An op that arrives
    after one built on it (a held-back changeset released late) completes the history the
    withdrawal named in its `prev`; in causal order that edit was never flagged."""
    rows = conn.execute(
        "SELECT id, shown_op, other_op FROM conflicts WHERE status = 'open' AND entity = ?"
        " AND entity_id = ? AND field = ?",
        (entity, entity_id, WITHDRAWAL),
    ).fetchall()
    for conflict_id, withdrawal_ref, edit_ref in rows:
        withdrawal, edit = _op_at(conn, str(withdrawal_ref)), _op_at(conn, str(edit_ref))
        if withdrawal is None or edit is None:
            continue
        if _withdrawal_saw(conn, withdrawal, str(edit_ref), [*edit.fields, *edit.sealed]):
            conn.execute("DELETE FROM conflicts WHERE id = ?", (conflict_id,))


def _withdrawn_heads(conn: Connection, entity: str, entity_id: str) -> list[str]:
    current = current_op(conn, entity, entity_id, "withdrawn")
    if current is None:
        return []
    return [current[0], *waiting_ops(conn, entity, entity_id, "withdrawn")]


def _op_at(conn: Connection, ref: str) -> Op | None:
    """The op a reference names, from the exact stored changeset."""
    cs_id, _, index = ref.partition(":")
    row = conn.execute("SELECT body FROM changesets WHERE id = ?", (cs_id,)).fetchone()
    if row is None or not index.isdigit():
        return None
    ops = decode_verified(bytes(row[0])).ops
    return ops[int(index)] if int(index) < len(ops) else None


def _saw_withdrawn(conn: Connection, op: Op) -> bool:
    """True when the op's author edited a record they saw withdrawn (knowingly)."""
    for seen in prev_refs(op.prev.get("withdrawn")):
        earlier = _op_at(conn, seen)
        if earlier is not None and (
            earlier.kind == "withdraw" or earlier.fields.get("withdrawn") == 1
        ):
            return True
    return False


def _withdrawal_saw(conn: Connection, withdrawal: Op, edit_ref: str, fields: list[str]) -> bool:
    """True when the withdrawal's author had seen the edit (it names it in its `prev`)."""
    return any(
        _is_ancestor(conn, edit_ref, withdrawal.prev.get(name) or "", name)
        for name in fields
        if name != "withdrawn"
    )


def _flag(conn: Connection, op: Op, withdrawal_ref: str, edit: _Head, cs: Changeset) -> int:
    """Queue flag(edit, withdrawal) once."""
    known = conn.execute(
        "SELECT 1 FROM conflicts WHERE entity = ? AND entity_id = ? AND field = ?"
        " AND shown_op = ? AND other_op = ?",
        (op.entity, op.entity_id, WITHDRAWAL, withdrawal_ref, edit.ref),
    ).fetchone()
    if known:
        return 0
    _record_conflict(conn, op, WITHDRAWAL, (withdrawal_ref, 1), edit, cs)
    return 1


def _edits_unseen_by_withdrawal(conn: Connection, op: Op, ref: str, cs: Changeset) -> int:
    """Edits we hold that the author of an incoming withdrawal had not seen: every op in a
    field's history that its `prev` does not cover, not only the values standing now."""
    kind = ENTITIES[op.entity]
    unseen: set[str] = set()
    for name in kind.fields:
        if name == "withdrawn":
            continue
        current = _current(conn, op, name)
        if current is None:
            continue
        seen = op.prev.get(name) or ""
        frontier = [current[0], *waiting_ops(conn, op.entity, op.entity_id, name)]
        visited: set[str] = set()
        while frontier and len(visited) < MAX_ANCESTRY_WALK:
            edit_ref = frontier.pop()
            if edit_ref in visited or _is_ancestor(conn, edit_ref, seen, name):
                continue
            visited.add(edit_ref)
            unseen.add(edit_ref)
            row = conn.execute(
                "SELECT prev_ref FROM field_history WHERE op_ref = ? AND field = ?",
                (edit_ref, name),
            ).fetchone()
            if row:
                frontier.extend(prev_refs(row[0]))
    flagged = 0
    for edit_ref in sorted(unseen):
        edit = _op_at(conn, edit_ref)
        if edit is None or edit.kind == "withdraw" or _saw_withdrawn(conn, edit):
            continue
        row = conn.execute(
            "SELECT hlc, origin FROM changesets WHERE id = ?", (edit_ref.split(":", 1)[0],)
        ).fetchone()
        flagged += _flag(conn, op, ref, _Head(edit_ref, str(row[0]), str(row[1]), edit.fields), cs)
    return flagged


def _set_value(conn: Connection, kind: Entity, entity_id: str, name: str, value: object) -> None:
    if name not in kind.fields:
        raise ApplyError(f"A {kind.name} has no field {name!r}.")
    conn.execute(f"UPDATE {kind.table} SET {name} = ? WHERE id = ?", (value, entity_id))


def _record_conflict(
    conn: Connection,
    op: Op,
    name: str,
    shown: tuple[str, object],
    other: _Head,
    cs: Changeset,
) -> None:
    conn.execute(
        "INSERT INTO conflicts(case_id, entity, entity_id, field, shown_op, shown_value,"
        " other_op, other_value, other_hlc, other_origin, created_hlc)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            cs.case_id,
            op.entity,
            op.entity_id,
            name,
            shown[0],
            canonical.encode(shown[1]).decode(),
            other.ref,
            canonical.encode(other.value).decode(),
            other.hlc,
            other.origin,
            cs.hlc,
        ),
    )
