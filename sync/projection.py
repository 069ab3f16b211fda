"""Projections: what a restricted peer (ngo, defence) receives instead of our raw history.

A raw changeset is forwarded as its author signed it, so whatever it ever said travels
with it: a witness first recorded under her name and given a pseudonym later, a note
written before it became privileged, the legal elements, the links, another office's
internal work. A restricted peer therefore never receives raw history about a case. For
each such peer P this office keeps a *projection stream*: changesets signed by this
office (origin = this office) in an epoch reserved for P, so that P applies them with the
ordinary apply path and the ordinary per-(origin, epoch) sequence, `prev_hash`, parking
and holdings machinery. At every export to P the office computes what P may see of each
case shared with it *now*, compares it with what it projected to P before (kept in
`projected_fields`) and appends one changeset per case with the difference: `create` for
a record P has not seen, `update` for changed fields (each `prev` naming the op that last
projected the field), `withdraw` for a record P may no longer see.

What P may see of a case shared with it, by the role its grant gives it in that case
(sync.case_roles: a peer added here as an office but granted `ngo` in a case gets the NGO
projection of that case):

    the case           its open fields
    persons            open fields (the pseudonym, never a protected field, whatever
                       the record once held: only current values are projected)
    incidents          open fields
    evidence           items released to P (sync.releases) only; the original file name
                       only when the release gives it
    releases           those of these items to P or to P's role (so P's custody shows
                       "released to you by ..." and P may record its receipt)
    custody events     of those items, and of P's own items, except those telling of
                       another partner (a release to it, a bundle it sent or received)
    notes              open notes about nothing, or about a record P sees; their text
                       only when it was written while the note was open
    grants             those naming P

Never: elements, links, privileged or protected notes, other records' history, other
offices' raw changesets. P's own records are not projected: P wrote them, and gets its own
changesets back raw when its holdings show it lacks them. Records are projected under
their own ids, so what P writes about them (a note on a person) applies at the office.

Projection changesets live in `projection_changesets`, never in `changesets`: the office
never applies them itself, never counts them as held (except in the holdings it tells P)
and never sends them to anyone but P. Their author names P (`projection for <origin>`),
so that any other installation they reach (forwarded by P) refuses them, and P never
forwards them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from storage import canonical
from storage.apply import current_op
from storage.changesets import Changeset, Op, changeset_id, decode_verified
from storage.connection import Connection
from storage.entities import ENTITIES, OPEN, RELEASE_EVENTS, Entity, TextCheck
from storage.epochs import fresh_epoch
from storage.identity import sign_changeset
from storage.sealing import SALT_BYTES, commit
from storage.workspace import Workspace
from sync.case_roles import case_roles
from sync.releases import released_evidence, released_with_file_name

RESTRICTED_ROLES = ("ngo", "defence")
PROJECTION_AUTHOR = "projection for "
CREATED = "*"  # the projected_fields row of a record's creating op
MAX_PROJECTED_OPS = 5_000  # ops per projection changeset (a changeset holds at most 10,000)
# Kinds projected, in the order a changeset must create them (targets before pointers).
_KINDS = ("case", "grant", "person", "incident", "evidence", "release", "note", "custody")

Key = tuple[str, str]  # (entity, entity id)


class _Withheld:
    """The value of a field the peer holds withheld (a note's text written while the note
    was protected or privileged): the op seals it under a commitment that is never opened."""

    def __repr__(self) -> str:
        return "WITHHELD"


WITHHELD = _Withheld()


def is_restricted(role: str) -> bool:
    """True for roles that receive a projection rather than raw history."""
    return role in RESTRICTED_ROLES


def projection_author(peer_origin: str) -> str:
    """The author a projection for `peer_origin` is signed under: it names its reader."""
    return f"{PROJECTION_AUTHOR}{peer_origin}"


def projected_for(author: str) -> str | None:
    """The origin a changeset with this author was projected for, or None when it is an
    ordinary changeset."""
    if not author.startswith(PROJECTION_AUTHOR):
        return None
    origin = author.removeprefix(PROJECTION_AUTHOR)
    if len(origin) == 64 and all(c in "0123456789abcdef" for c in origin):
        return origin
    return None


def _digest(value: object) -> str:
    if value is WITHHELD:
        value = ["withheld"]  # no field value is a list: never equal to a real one
    return hashlib.sha256(canonical.encode(value)).hexdigest()


def _op(
    entity: str, entity_id: str, kind: str, values: dict[str, object], prev: dict[str, str]
) -> Op:
    """An op carrying `values`; a withheld field is sealed under a commitment to random
    bytes, never opened: the peer records it withheld, as when it receives no reveal."""
    fields = {name: value for name, value in values.items() if value is not WITHHELD}
    sealed = {
        name: commit(secrets.token_bytes(SALT_BYTES), secrets.token_hex(16))
        for name, value in values.items()
        if value is WITHHELD
    }
    return Op(entity, entity_id, kind, fields, prev, sealed)


# -- what a peer may see ---------------------------------------------------------------------


def _projected_field_names(kind: Entity) -> list[str]:
    """Fields of `kind` that may be projected: the open ones (a visible note is open, so
    its text is too)."""
    names = [name for name, spec in kind.fields.items() if spec.klass == OPEN]
    if kind.name == "note":
        names.append("text")
    return names


def _has_table(conn: Connection, table: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return row is not None


def _rows(
    conn: Connection, kind: Entity, case_id: str, names: Sequence[str], sight: _Sight
) -> Iterable[tuple[str, str, dict[str, object]]]:
    """(id, creating origin, {field: value}) of the records of `kind` in the case; of
    evidence and custody only those about released items or the peer's own (a case may
    hold ten thousand items of which a hundred are released)."""
    key_column = "id" if kind.name == "case" else "case_id"
    columns = ", ".join(f"t.{name}" for name in names)
    only = {"evidence": "t.id", "custody": "t.evidence_id", "release": "t.evidence_id"}.get(
        kind.name
    )
    narrowing = ""
    args: tuple[object, ...] = (kind.name, CREATED, case_id)
    if only:
        narrowing = f" AND ({only} IN (SELECT value FROM json_each(?)) OR f.origin = ?)"
        args += (json.dumps(sorted(sight.released | sight.own)), sight.peer_origin)
    rows = conn.execute(
        f"SELECT t.id, coalesce(f.origin, ''), {columns} FROM {kind.table} t"
        " LEFT JOIN field_state f ON f.entity = ? AND f.entity_id = t.id AND f.field = ?"
        f" WHERE t.{key_column} = ?{narrowing} ORDER BY t.created_hlc, t.id",
        args,
    )
    for row in rows:
        yield str(row[0]), str(row[1]), dict(zip(names, row[2:], strict=True))


def visible_records(
    conn: Connection, case_id: str, peer_origin: str, role: str
) -> dict[Key, dict[str, object]]:
    """What `peer_origin` (of `role`) may see now of case `case_id`, record by record, in
    the order records must be created. Records the peer created itself are left out."""
    # (a set of ids, or ids mapped to whether the file name goes too: either reads as ids)
    sight = _Sight(peer_origin, set(released_evidence(conn, case_id, peer_origin, role)), role)
    named = released_with_file_name(conn, case_id, peer_origin, role)
    visible: dict[Key, dict[str, object]] = {}
    hidden_names: dict[str, list[str]] = {}  # evidence id -> its file name, when not released
    erns: dict[str, str] = {}
    for kind_name in _KINDS:
        kind = ENTITIES.get(kind_name)
        if kind is None or not _has_table(conn, kind.table):
            continue  # a kind this version does not know (grants before they land)
        names = _projected_field_names(kind)
        if kind_name == "custody":  # (evidence came first: the peer's own items are known)
            items = sight.released | sight.own
            sight.others_events = about_other_partners(conn, case_id, peer_origin, role, items)
        for record_id, creator, values in _rows(conn, kind, case_id, names, sight):
            if creator == peer_origin:
                sight.own.add(record_id)  # its own: it holds it, and may see what is about it
                continue
            if not sight.may_see(kind_name, record_id, values):
                continue
            sight.seen.add(record_id)
            if kind_name == "note" and not _text_written_open(conn, record_id):
                values["text"] = WITHHELD  # marked open later, by anyone: its text was not
            if kind_name == "evidence" and record_id not in named:
                hidden_names[record_id] = _name_forms(values.pop("original_name", ""))
                erns[record_id] = str(values.get("ern") or "")
            item = record_id if kind_name == "evidence" else str(values.get("evidence_id", ""))
            if kind_name in ("evidence", "custody") and hidden_names.get(item):
                values = _without_names(kind, values, hidden_names[item], erns[item])
            visible[(kind_name, record_id)] = values
    return visible


HANDOFF_EVENTS = ("sent in bundle", "received in bundle")


def about_other_partners(
    conn: Connection, case_id: str, peer_origin: str, role: str, released: Iterable[str]
) -> set[str]:
    """Ids of the custody events of the `released` items that tell of another partner: a
    release (or its withdrawal) to another peer or role, and a bundle hand-off to, from or
    by another partner of the case. A partner learns of its own releases and receipts,
    never of what other partners were given."""
    others = conn.execute(
        "SELECT grantee, office_name FROM case_grants WHERE case_id = ? AND kind = 'grant'"
        " AND role IN ('ngo', 'defence') AND grantee != ?",
        (case_id, peer_origin),
    ).fetchall()
    other_origins = {str(r[0]) for r in others}
    other_names = {str(r[1]) for r in others if str(r[1]).strip()}
    events = ",".join("?" * len(RELEASE_EVENTS + HANDOFF_EVENTS))
    rows = conn.execute(
        "SELECT t.id, t.event, t.from_holder, t.to_holder, coalesce(f.origin, ''),"
        " coalesce(f.op_ref, '') FROM custody_events t LEFT JOIN field_state f"
        " ON f.entity = 'custody' AND f.entity_id = t.id AND f.field = ?"
        f" WHERE t.case_id = ? AND t.event IN ({events})"
        " AND t.evidence_id IN (SELECT value FROM json_each(?))",
        (CREATED, case_id, *RELEASE_EVENTS, *HANDOFF_EVENTS, json.dumps(sorted(released))),
    )
    hidden: set[str] = set()
    for event_id, event, from_holder, to_holder, creator, op_ref in rows:
        if event in RELEASE_EVENTS:
            if not _release_concerns(conn, str(op_ref), peer_origin, role):
                hidden.add(str(event_id))
        elif creator in other_origins or any(
            name in str(holder) for name in other_names for holder in (from_holder, to_holder)
        ):
            hidden.add(str(event_id))
    return hidden


def _release_concerns(conn: Connection, op_ref: str, peer_origin: str, role: str) -> bool:
    """True when the changeset that recorded a release custody event (`op_ref`) releases,
    or withdraws a release, to `peer_origin` or to every peer of `role`."""
    row = conn.execute("SELECT body FROM changesets WHERE id = ?", (op_ref[:64],)).fetchone()
    if row is None:
        return False
    ids = [op.entity_id for op in decode_verified(bytes(row[0])).ops if op.entity == "release"]
    marks = ",".join("?" * len(ids))
    found = conn.execute(
        f"SELECT 1 FROM evidence_releases WHERE id IN ({marks}) AND (grantee_origin = ?"
        " OR (grantee_origin = '' AND grantee_role = ?)) LIMIT 1",
        (*ids, peer_origin, role),
    ).fetchone()
    return bool(ids) and found is not None


MIN_STEM = 8  # a shorter stem ("photo", "scan_01") says nothing and is a common word


def _name_forms(original: object) -> list[str]:
    """The forms an unreleased file name could appear in: whole, and without its
    extension when that is distinctive (a title is often the file name, a description may
    quote its stem)."""
    name = str(original or "")
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    forms = [name] if name.strip() else []
    if stem != name and len(stem.strip()) >= MIN_STEM:
        forms.append(stem)
    return forms


def _without_names(
    kind: Entity, values: dict[str, object], names: list[str], ern: str
) -> dict[str, object]:
    """`values` with every unreleased file name in a free-text field replaced by the
    item's ERN: the evidence title defaults to the file name, and a custody note may
    quote it. Fields with a fixed set of values (type, event) are left alone."""
    cleaned: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, str) and isinstance(kind.fields[key].check, TextCheck):
            for name in names:
                value = _replace_folded(value, name, ern or "(file name withheld)")
        cleaned[key] = value
    return cleaned


def _replace_folded(text: str, old: str, new: str) -> str:
    """`text` with every case-insensitive occurrence of `old` replaced by `new`."""
    folded, target = text.casefold(), old.casefold()
    if target not in folded or len(folded) != len(text):
        return new if target in folded else text  # lengths differ: replace the whole value
    out, start = [], 0
    while (found := folded.find(target, start)) >= 0:
        out.append(text[start:found] + new)
        start = found + len(old)
    out.append(text[start:])
    return "".join(out)


def _text_written_open(conn: Connection, note_id: str) -> bool:
    """True when the text a note holds now was written while the note was open (in clear
    in its op). Text sealed when it was written (protected or privileged then) stays
    sealed whatever the note's class became since: nobody declassifies by editing the
    class, as sync.redaction decides for raw changesets."""
    held = current_op(conn, "note", note_id, "text")
    if held is None:
        return False
    cs_id, _, index = held[0].partition(":")
    row = conn.execute("SELECT body FROM changesets WHERE id = ?", (cs_id,)).fetchone()
    if row is None or not index.isdigit():
        return False
    ops = decode_verified(bytes(row[0])).ops
    return int(index) < len(ops) and "text" not in ops[int(index)].sealed


@dataclass
class _Sight:
    """What a peer may see of one case, decided record by record in creation order."""

    peer_origin: str
    released: set[str]  # evidence released to it
    role: str = ""  # the partner role it holds in the case (sync.case_roles)
    own: set[str] = field(default_factory=set)  # records it created
    seen: set[str] = field(default_factory=set)  # records projected to it so far
    others_events: set[str] = field(default_factory=set)  # custody about other partners

    def may_see(self, kind: str, record_id: str, values: dict[str, object]) -> bool:
        """True when the peer may see this record (its open fields)."""
        if kind == "evidence":
            return record_id in self.released
        if kind == "release":
            return values.get("evidence_id") in self.released and self._names_it(values)
        if kind == "custody":
            item = values.get("evidence_id")
            if record_id in self.others_events:
                return False
            return item in self.released or item in self.own
        if kind == "note":
            subject = str(values.get("subject_id") or "")
            about_seen = not subject or subject in self.seen or subject in self.own
            return values.get("class") == OPEN and about_seen
        if kind == "grant":
            return values.get("grantee") == self.peer_origin
        return True  # the case, persons and incidents

    def _names_it(self, release: dict[str, object]) -> bool:
        """True when a release is to this peer, or to every peer of its role."""
        grantee = release.get("grantee_origin") or ""
        if grantee:
            return grantee == self.peer_origin
        return release.get("grantee_role") == self.role


# -- what was projected before ---------------------------------------------------------------


@dataclass
class _Projected:
    """What a peer was given of one record: the creating op, and per field the value's
    digest and the op that set it."""

    create_ref: str
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)

    def ref(self, name: str) -> str:
        """The op a new change of field `name` follows."""
        return self.fields[name][1] if name in self.fields else self.create_ref

    @property
    def withdrawn(self) -> bool:
        return name_digest(self.fields, "withdrawn") == _digest(1)


def name_digest(fields: dict[str, tuple[str, str]], name: str) -> str:
    """The digest projected for field `name` ('' when none was)."""
    return fields[name][0] if name in fields else ""


def _projected(conn: Connection, peer_origin: str, case_id: str) -> dict[Key, _Projected]:
    rows = conn.execute(
        "SELECT entity, entity_id, field, value_digest, op_ref FROM projected_fields"
        " WHERE peer_origin = ? AND case_id = ?",
        (peer_origin, case_id),
    ).fetchall()
    out: dict[Key, _Projected] = {}
    for entity, entity_id, name, digest, ref in rows:
        record = out.setdefault((str(entity), str(entity_id)), _Projected(""))
        if name == CREATED:
            record.create_ref = str(ref)
        else:
            record.fields[str(name)] = (str(digest), str(ref))
    return out


# -- the difference, as ops ------------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    """One op of a projection and the field values it projects (for the bookkeeping)."""

    op: Op
    values: dict[str, object]


def _create(key: Key, values: dict[str, object]) -> _Change:
    kind = ENTITIES[key[0]]
    fields = {
        name: value
        for name, value in values.items()
        if name != "withdrawn" and (value != kind.fields[name].default or name in kind.required)
    }
    return _Change(_op(key[0], key[1], "create", fields, {}), dict(values))


def _withdraw(key: Key, before: _Projected) -> _Change:
    kind = ENTITIES[key[0]]
    prev = {name: before.ref(name) for name in kind.fields}  # it saw every value it gave
    return _Change(Op(key[0], key[1], "withdraw", {}, prev), {"withdrawn": 1})


def _update(key: Key, values: dict[str, object], before: _Projected) -> _Change | None:
    kind = ENTITIES[key[0]]
    if kind.append_only:
        return None
    changed = {
        name: value
        for name, value in values.items()
        if kind.fields[name].mutable and name_digest(before.fields, name) != _digest(value)
    }
    if not changed:
        return None
    watched = [*changed, "withdrawn"] if "withdrawn" in kind.fields else list(changed)
    prev = {name: before.ref(name) for name in watched}
    return _Change(_op(key[0], key[1], "update", changed, prev), changed)


def _changes(
    visible: dict[Key, dict[str, object]], projected: dict[Key, _Projected]
) -> list[_Change]:
    """The ops that bring what the peer was given to what it may see now."""
    changes: list[_Change] = []
    for key, values in visible.items():
        before = projected.get(key)
        hidden = values.get("withdrawn") == 1
        if before is None:
            if not hidden:  # a withdrawn record the peer never saw leaves no trace
                changes.append(_create(key, values))
        elif hidden:
            if not before.withdrawn:
                changes.append(_withdraw(key, before))
        elif change := _update(key, values, before):
            changes.append(change)
    for key, before in projected.items():
        if key not in visible and not before.withdrawn and not ENTITIES[key[0]].append_only:
            # No longer released, or no longer open. (Custody events are append-only: the
            # peer keeps those of an item it was given.)
            changes.append(_withdraw(key, before))
    order = {kind: index for index, kind in enumerate(_KINDS)}
    changes.sort(key=lambda change: order.get(change.op.entity, len(order)))
    return changes


# -- the stream ------------------------------------------------------------------------------


def projection_epochs(conn: Connection) -> set[int]:
    """Every epoch this office reserved for a projection, to any peer."""
    return {int(row[0]) for row in conn.execute("SELECT epoch FROM projection_streams")}


def _stream(ws: Workspace, peer_origin: str) -> tuple[int, int, str]:
    """(epoch, next seq, prev hash) of the peer's stream; a new stream when there is none
    yet, when this office has moved to another epoch since (a restore: the restored table
    may be behind what the peer holds, so sequence numbers must not be written twice), or
    when our keys were replaced (a stream has one signer)."""
    conn = ws.conn
    row = conn.execute(
        "SELECT epoch, base_epoch FROM projection_streams WHERE peer_origin = ?"
        " ORDER BY epoch DESC LIMIT 1",
        (peer_origin,),
    ).fetchone()
    if row is not None and int(row[1]) == ws.epoch:
        epoch = int(row[0])
        last = conn.execute(
            "SELECT seq, id, origin FROM projection_changesets WHERE peer_origin = ?"
            " AND epoch = ? ORDER BY seq DESC LIMIT 1",
            (peer_origin, epoch),
        ).fetchone()
        if last is None:
            return epoch, 1, ""
        if str(last[2]) == ws.origin:  # else our keys were replaced: a stream of the new key
            return epoch, int(last[0]) + 1, str(last[1])
    above = max(ws.epoch, int(row[0]) if row else 0)
    epoch = fresh_epoch(above)
    while (
        epoch in projection_epochs(conn)
        or conn.execute(
            "SELECT 1 FROM changesets WHERE origin = ? AND epoch = ? LIMIT 1", (ws.origin, epoch)
        ).fetchone()
    ):
        epoch = fresh_epoch(epoch)
    conn.execute(
        "INSERT INTO projection_streams(peer_origin, epoch, base_epoch, started_at)"
        " VALUES (?,?,?,?)",
        (peer_origin, epoch, ws.epoch, _now()),
    )
    return epoch, 1, ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _case_prev(conn: Connection, peer_origin: str, case_id: str) -> str:
    row = conn.execute(
        "SELECT id FROM projection_changesets WHERE peer_origin = ? AND case_id = ?"
        " ORDER BY epoch DESC, seq DESC LIMIT 1",
        (peer_origin, case_id),
    ).fetchone()
    return str(row[0]) if row else ""


def _write(ws: Workspace, peer_origin: str, case_id: str, changes: list[_Change]) -> str:
    """Sign one projection changeset, keep it and what it projects; returns its id."""
    conn = ws.conn
    epoch, seq, prev_hash = _stream(ws, peer_origin)
    changeset = Changeset(
        origin=ws.origin,
        epoch=epoch,
        seq=seq,
        prev_hash=prev_hash,
        hlc=str(ws.clock.now()),
        author=projection_author(peer_origin),
        case_id=case_id,
        ops=tuple(change.op for change in changes),
    )
    body = changeset.encode()
    cs_id = changeset_id(body)
    conn.execute(
        "INSERT INTO projection_changesets(id, peer_origin, origin, epoch, seq, case_id,"
        " case_prev, body, sig, written_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            cs_id,
            peer_origin,
            ws.origin,
            epoch,
            seq,
            case_id,
            _case_prev(conn, peer_origin, case_id),
            body,
            sign_changeset(ws.keys.signer(), body),
            _now(),
        ),
    )
    rows = []
    for index, change in enumerate(changes):
        ref = f"{cs_id}:{index}"
        op = change.op
        if op.kind == "create":
            rows.append((op.entity, op.entity_id, CREATED, "", ref))
        rows.extend(
            (op.entity, op.entity_id, name, _digest(value), ref)
            for name, value in change.values.items()
        )
    conn.executemany(
        "INSERT OR REPLACE INTO projected_fields(peer_origin, entity, entity_id, field,"
        " case_id, value_digest, op_ref) VALUES (?,?,?,?,?,?,?)",
        [(peer_origin, kind, eid, name, case_id, dig, ref) for kind, eid, name, dig, ref in rows],
    )
    ws.set_meta("hlc", str(ws.clock.last))
    return cs_id


# -- the cases a peer is given ---------------------------------------------------------------


def projected_cases(ws: Workspace, peer_origin: str) -> list[str]:
    """The cases this office projects to the peer: shared with it here and, once grants
    are recorded (`case_grants`), granted to it by this office. A case several offices
    share with the same partner is projected by the one that granted it, so the partner
    never receives two projections of one record."""
    rows = ws.conn.execute(
        "SELECT s.case_id FROM case_shares s JOIN cases c ON c.id = s.case_id"
        " WHERE s.peer_origin = ? ORDER BY s.case_id",
        (peer_origin,),
    ).fetchall()
    cases = [str(r[0]) for r in rows]
    if not _has_table(ws.conn, "case_grants"):
        return cases
    granted = {
        str(r[0])
        for r in ws.conn.execute(
            "SELECT g.case_id FROM case_grants g JOIN field_state f ON f.entity = 'grant'"
            " AND f.entity_id = g.id AND f.field = ? WHERE g.grantee = ? AND f.origin = ?",
            (CREATED, peer_origin, ws.origin),
        )
    }
    return [case_id for case_id in cases if case_id in granted]


def _pending(
    ws: Workspace, peer_origin: str, local_role: str
) -> Iterable[tuple[str, list[_Change]]]:
    """Per case projected to the peer, the changes since its last projection. The role
    that decides what it sees is the one its grant gives it in that case, narrowed by the
    role it was added with here (sync.case_roles); a case where that is not a partner role
    is not projected (the peer receives its raw history)."""
    cases = projected_cases(ws, peer_origin)
    roles = case_roles(ws.conn, peer_origin, local_role, cases)
    for case_id in cases:
        if not is_restricted(roles[case_id]):
            continue
        visible = visible_records(ws.conn, case_id, peer_origin, roles[case_id])
        projected = _projected(ws.conn, peer_origin, case_id)
        case = ("case", case_id)
        if case not in projected and visible.get(case, {}).get("withdrawn") == 1:
            # A case withdrawn before the peer ever saw it: nothing of it goes (its grant
            # alone would wait at the partner for a case that never comes, and be sent
            # again in every bundle). Restored, it is projected whole.
            continue
        changes = _changes(visible, projected)
        if changes:
            yield case_id, changes


def projection_pending(ws: Workspace, peer_origin: str, role: str) -> bool:
    """True when what the peer may see differs from what it was given (nothing written);
    `role` is the one it was added with here."""
    return any(True for _ in _pending(ws, peer_origin, role))


def update_projection(ws: Workspace, peer_origin: str, role: str) -> int:
    """Append to the peer's stream (`role`: the one it was added with here) what changed
    since its last projection, one changeset per case (more when a case changed in more
    than MAX_PROJECTED_OPS records); returns how many were written. One transaction: all
    of it or none."""
    written = 0
    with ws.transaction():
        for case_id, changes in list(_pending(ws, peer_origin, role)):
            for start in range(0, len(changes), MAX_PROJECTED_OPS):
                _write(ws, peer_origin, case_id, changes[start : start + MAX_PROJECTED_OPS])
                written += 1
    return written


# -- reading the stream back -----------------------------------------------------------------


@dataclass(frozen=True)
class StreamEntry:
    """One projection changeset as the export needs it."""

    cs_id: str
    origin: str
    epoch: int
    seq: int
    case_id: str
    case_prev: str


def stream_entries(conn: Connection, peer_origin: str) -> list[StreamEntry]:
    """Every projection changeset written for the peer, in order."""
    rows = conn.execute(
        "SELECT id, origin, epoch, seq, case_id, case_prev FROM projection_changesets"
        " WHERE peer_origin = ? ORDER BY epoch, seq",
        (peer_origin,),
    )
    return [
        StreamEntry(str(r[0]), str(r[1]), int(r[2]), int(r[3]), str(r[4]), str(r[5])) for r in rows
    ]


def stream_changeset(conn: Connection, cs_id: str) -> tuple[bytes, bytes]:
    """(body, signature) of a projection changeset."""
    body, sig = conn.execute(
        "SELECT body, sig FROM projection_changesets WHERE id = ?", (cs_id,)
    ).fetchone()
    return bytes(body), bytes(sig)


def stream_ops(conn: Connection, cs_id: str) -> tuple[Op, ...]:
    """The ops of a projection changeset."""
    return decode_verified(stream_changeset(conn, cs_id)[0]).ops


def is_our_projection(conn: Connection, cs_id: str) -> bool:
    """True when `cs_id` is a projection changeset this office wrote."""
    row = conn.execute("SELECT 1 FROM projection_changesets WHERE id = ?", (cs_id,)).fetchone()
    return row is not None
