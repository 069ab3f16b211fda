"""The signed history: list changesets, and check every signature against its origin.

`log` is the history as `valise log` prints it. `incoming` and its companions are the
review a tribunal liaison makes after importing bundles: what other offices changed, in
which case, in words, newest received first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from storage import changesets
from storage.changesets import Changeset, Op
from storage.connection import Connection
from storage.entities import ENTITIES, OPEN
from storage.identity import verify_changeset
from storage.signers import Signers


@dataclass(frozen=True)
class LogEntry:
    """One changeset as shown by `valise log`."""

    id: str
    origin: str
    office: str  # the office on the signer's card (ours for our keys), or "an unknown origin"
    epoch: int
    seq: int
    hlc: str
    author: str  # free text its author typed: shown beside the signer, never instead of it
    case_id: str
    case_reference: str
    ops: list[str]
    signature_ok: bool
    signer: str = ""  # office, role and short fingerprint (storage.signers)

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return dict(self.__dict__)


def log(
    conn: Connection, case_id: str | None = None, limit: int = 50, offset: int = 0
) -> list[LogEntry]:
    """Newest changesets first, with their ops summarized, their signatures checked and
    their signer named as this office knows the key (storage.signers)."""
    sql = (
        "SELECT cs.id, cs.origin, o.office_name, o.signing_public, cs.epoch, cs.seq, cs.hlc,"
        " cs.author, cs.case_id, coalesce(c.reference, ''), cs.body, cs.sig"
        " FROM changesets cs JOIN origins o ON o.origin = cs.origin"
        " LEFT JOIN cases c ON c.id = cs.case_id"
    )
    params: list[object] = []
    if case_id:
        sql += " WHERE cs.case_id = ?"
        params.append(case_id)
    sql += " ORDER BY cs.hlc DESC, cs.id LIMIT ? OFFSET ?"
    params += [limit, offset]
    signers = Signers(conn)
    entries = []
    for row in conn.execute(sql, params):
        body, sig = bytes(row[10]), bytes(row[11])
        decoded = changesets.decode(body)
        summary = [
            f"{op.kind} {op.entity} {op.entity_id}"
            + (f" ({', '.join(sorted(op.fields))})" if op.kind == "update" else "")
            for op in decoded.ops
        ]
        entries.append(
            LogEntry(
                id=row[0],
                origin=row[1],
                office=signers.of(row[1]).name,
                signer=signers.of(row[1]).label,
                epoch=row[4],
                seq=row[5],
                hlc=row[6],
                author=row[7],
                case_id=row[8],
                case_reference=row[9],
                ops=summary,
                signature_ok=verify_changeset(bytes(row[3]), body, sig)
                and changesets.changeset_id(body) == row[0],
            )
        )
    return entries


# -- incoming changes: what other offices sent, for the liaison's review ---------------------

# The audit action sync.importer writes at the end of each bundle import (storage cannot
# import sync; the action names are part of the audit chain's meaning and do not change).
BUNDLE_IMPORTED = "bundle imported"
# Bundles imported one after another belong to one import when the next one started
# applying within this long of the previous one's end: a stick holding bundles of three
# offices is one import to the person who carried it, a bundle imported the next day is not.
SITTING_GAP = dt.timedelta(minutes=5)
# A changeset with more ops than this is summarised by kind ("added 12 persons").
MAX_LISTED_OPS = 4
MAX_LABEL = 40


@dataclass(frozen=True)
class IncomingEntry:
    """One changeset another office made, as the review of incoming changes shows it."""

    id: str
    origin: str
    office: str  # the office on the signer's card, or "an unknown origin" (storage.signers)
    received_at: str  # when it was applied here: ISO 8601, UTC
    hlc: str  # when its author made it, by the author's clock
    author: str
    case_id: str  # empty for statements about keys, which belong to no case
    case_reference: str
    case_title: str
    changes: tuple[str, ...]  # what it did, in words; never a protected value
    signature_ok: bool
    signer: str = ""  # office, role and short fingerprint (storage.signers)

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        doc = dict(self.__dict__)
        doc["changes"] = list(self.changes)
        return doc


@dataclass(frozen=True)
class IncomingOffice:
    """An office whose changesets we hold, and how many of them (in the window asked)."""

    origin: str
    office: str
    changesets: int


@dataclass(frozen=True)
class IncomingTotals:
    """How much came in: changesets, from how many offices, about how many cases."""

    changesets: int
    offices: int
    cases: int


@dataclass(frozen=True)
class LastImport:
    """The most recent import that brought changes: one bundle, or several imported one
    after another (see `SITTING_GAP`).

    `since` is the moment to pass to `incoming(..., since=)` to see exactly what it
    brought: after the end of the import before it, or None when there was none.
    """

    since: dt.datetime | None
    finished_at: dt.datetime
    bundles: int


def _iso(moment: dt.datetime) -> str:
    """A moment in the form `changesets.applied_at` is stored in, so text order is time
    order in SQL (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _incoming_where(
    own_origin: str, origin: str | None, since: dt.datetime | None
) -> tuple[str, list[object]]:
    sql = " WHERE cs.origin != ?"
    params: list[object] = [own_origin]
    if origin is not None:
        sql += " AND cs.origin = ?"
        params.append(origin)
    if since is not None:
        sql += " AND cs.applied_at >= ?"
        params.append(_iso(since))
    return sql, params


def incoming(
    conn: Connection,
    own_origin: str,
    *,
    origin: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[IncomingEntry]:
    """Changesets made by other offices (every origin but `own_origin`), newest received
    first, optionally from one `origin` and received at or after `since`.

    Ordered by when they were applied here, not by their authors' clocks: a liaison asks
    what came in, and an office that was offline for weeks sends old changes today. Each
    row's signature is checked as it is read, and its ops are put in words by
    `describe_changes`.
    """
    where, params = _incoming_where(own_origin, origin, since)
    sql = (
        "SELECT cs.id, cs.origin, o.office_name, o.signing_public, cs.applied_at, cs.hlc,"
        " cs.author, cs.case_id, coalesce(c.reference, ''), coalesce(c.title, ''), cs.body,"
        " cs.sig FROM changesets cs JOIN origins o ON o.origin = cs.origin"
        " LEFT JOIN cases c ON c.id = cs.case_id"
        + where
        # rowid breaks ties in insertion order, and the applied_at index holds it, so
        # neither order needs a sort (migration 0004).
        + " ORDER BY cs.applied_at DESC, cs.rowid DESC LIMIT ? OFFSET ?"
    )
    params += [limit, offset]
    labels = RecordNames(conn)
    signers = Signers(conn)
    entries = []
    for row in conn.execute(sql, params).fetchall():
        body, sig = bytes(row[10]), bytes(row[11])
        try:
            changes = describe_changes(changesets.decode(body), labels)
        except changesets.MalformedChangeset:
            changes = ("(the stored changeset cannot be read)",)
        entries.append(
            IncomingEntry(
                id=row[0],
                origin=row[1],
                office=signers.of(row[1]).name,
                signer=signers.of(row[1]).label,
                received_at=row[4],
                hlc=row[5],
                author=row[6],
                case_id=row[7],
                case_reference=row[8],
                case_title=row[9],
                changes=changes,
                signature_ok=verify_changeset(bytes(row[3]), body, sig)
                and changesets.changeset_id(body) == row[0],
            )
        )
    return entries


def incoming_offices(
    conn: Connection, own_origin: str, *, since: dt.datetime | None = None
) -> list[IncomingOffice]:
    """Every other office whose changesets we hold, by name, with how many we received
    (at or after `since` when given; an office with none then is still listed, so a
    filter on it can stay chosen while the window changes)."""
    rows = conn.execute(
        "SELECT cs.origin, o.office_name, count(*) FROM changesets cs"
        " JOIN origins o ON o.origin = cs.origin WHERE cs.origin != ?"
        " GROUP BY cs.origin ORDER BY o.office_name, cs.origin",
        (own_origin,),
    ).fetchall()
    signers = Signers(conn)
    offices = [
        IncomingOffice(str(row[0]), signers.of(str(row[0])).name, int(row[2])) for row in rows
    ]
    offices.sort(key=lambda office: (office.office, office.origin))
    if since is None:
        return offices
    # Counted office by office on the (origin, applied_at) index: one grouped count over
    # every changeset reads each row for its applied_at (0.24 s at 100,000).
    return [
        IncomingOffice(
            office.origin,
            office.office,
            int(
                conn.execute(
                    "SELECT count(*) FROM changesets WHERE origin = ? AND applied_at >= ?",
                    (office.origin, _iso(since)),
                ).fetchone()[0]
            ),
        )
        for office in offices
    ]


def incoming_totals(
    conn: Connection,
    own_origin: str,
    *,
    origin: str | None = None,
    since: dt.datetime | None = None,
) -> IncomingTotals:
    """How many changesets `incoming` would list with the same filters, from how many
    offices, about how many cases (statements about keys belong to none)."""
    where, params = _incoming_where(own_origin, origin, since)
    row = conn.execute(
        "SELECT count(*), count(DISTINCT cs.origin), count(DISTINCT nullif(cs.case_id, ''))"
        " FROM changesets cs" + where,
        params,
    ).fetchone()
    return IncomingTotals(int(row[0]), int(row[1]), int(row[2]))


def last_import(
    conn: Connection, own_origin: str, *, gap: dt.timedelta | None = None
) -> LastImport | None:
    """The most recent import that brought changes from other offices, or None.

    Each bundle import ends with a `bundle imported` entry in the audit chain, and every
    changeset it applied was applied after the end of the import before it. Neither the
    start of an import nor the bundle a changeset came in is recorded, so an import is
    told from the next by time: the first changeset a bundle applied, against the end of
    the bundle before it. Bundles that started within `gap` of the previous one's end
    are one import (a stick read in one go); `gap` defaults to `SITTING_GAP`. Imports
    that brought nothing (receipts only, duplicates) are skipped at the newest end and
    count as part of a run.
    """
    gap = SITTING_GAP if gap is None else gap
    ends = _import_ends(conn)
    current = next(ends, None)
    start: dt.datetime | None = None
    while current is not None:
        previous = next(ends, None)
        start = _first_received(conn, own_origin, previous, current)
        if start is not None:
            break
        current = previous
    if current is None or start is None:
        return None
    finished_at, bundles = current, 1
    while previous is not None:
        if start - previous > gap:
            return LastImport(_just_after(previous), finished_at, bundles)
        before = next(ends, None)
        start = _first_received(conn, own_origin, before, previous) or previous
        bundles += 1
        previous = before
    return LastImport(None, finished_at, bundles)


def _import_ends(conn: Connection) -> Iterator[dt.datetime]:
    """When each bundle import finished, newest first (audit times are to the ms)."""
    cursor = conn.execute(
        "SELECT at FROM audit WHERE action = ? ORDER BY seq DESC", (BUNDLE_IMPORTED,)
    )
    for (at,) in cursor:
        try:
            yield dt.datetime.fromisoformat(str(at))
        except ValueError:
            continue  # an entry we did not write: the chain's verify names it


def _just_after(end: dt.datetime) -> dt.datetime:
    """The first moment surely after an import that ended at `end`: audit times are cut
    to the millisecond, changeset times are not."""
    return end + dt.timedelta(milliseconds=1)


def _first_received(
    conn: Connection, own_origin: str, after: dt.datetime | None, until: dt.datetime
) -> dt.datetime | None:
    """When the first changeset from another office was applied after the import that
    ended at `after` and up to the end of the one that ended at `until`."""
    sql = "SELECT applied_at FROM changesets WHERE origin != ? AND applied_at < ?"
    params: list[object] = [own_origin, _iso(_just_after(until))]
    if after is not None:
        sql += " AND applied_at >= ?"
        params.append(_iso(_just_after(after)))
    # The applied_at index walked upwards to the first other office's changeset.
    row = conn.execute(sql + " ORDER BY applied_at LIMIT 1", params).fetchone()
    return dt.datetime.fromisoformat(str(row[0])) if row and row[0] else None


# -- ops in words ---------------------------------------------------------------------------

# What each record kind is called, alone and counted.
_NOUNS: dict[str, tuple[str, str]] = {
    "case": ("case", "cases"),
    "person": ("person", "persons"),
    "incident": ("incident", "incidents"),
    "element": ("legal element", "legal elements"),
    "evidence": ("evidence", "evidence items"),
    "link": ("link", "links"),
    "note": ("note", "notes"),
    "custody": ("custody event", "custody events"),
    "trust": ("key statement", "key statements"),
    "grant": ("access grant", "access grants"),
    "release": ("evidence release", "evidence releases"),
    "consent": ("consent statement", "consent statements"),
}


def record_noun(entity: str) -> str:
    """What a record kind is called in a sentence ("legal element")."""
    return _NOUNS[entity][0] if entity in _NOUNS else entity


# The field that names a record to a person. Only open fields may name anything: a label
# is shown to whoever reads the list.
_LABEL_FIELDS = {
    name: label
    for name, label in {
        "case": "reference",
        "person": "pseudonym",
        "incident": "title",
        "element": "charge",
        "evidence": "ern",
    }.items()
    if ENTITIES[name].fields[label].klass == OPEN
}
_QUOTED = {"incident", "element"}  # free-text labels are quoted; codes are not


class RecordNames:
    """Names of records for `describe_changes`: from the op when it carries one, else
    from the record as it stands, read once per record (make one per page of changes)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._known: dict[tuple[str, str], str] = {}

    def of(self, entity: str, entity_id: str, fields: dict[str, object] | None = None) -> str:
        """A short, open name for the record, or '' when it has none."""
        column = _LABEL_FIELDS.get(entity)
        if column is None:
            return ""
        value = (fields or {}).get(column)
        if not isinstance(value, str) or not value:
            key = (entity, entity_id)
            if key not in self._known:
                row = self._conn.execute(
                    f"SELECT {column} FROM {ENTITIES[entity].table} WHERE id = ?", (entity_id,)
                ).fetchone()
                self._known[key] = str(row[0]) if row and row[0] else ""
            value = self._known[key]
        text = " ".join(value.split())
        if len(text) > MAX_LABEL:
            text = text[: MAX_LABEL - 1].rstrip() + "…"
        return f"“{text}”" if text and entity in _QUOTED else text


def describe_changes(cs: Changeset, labels: RecordNames) -> tuple[str, ...]:
    """What a changeset did, in words a person reads: "updated case title, status",
    "added person W-0043", "withdrew note".

    Records are named only by open fields (a pseudonym, an ERN, a reference, a title),
    and changed fields only by name, so no protected or privileged value and no note
    text ever shows. A changeset of many ops is told by kind ("added 12 persons"). This
    wording is for people reviewing; `log()` keeps its terser form for `valise log`.
    """
    if len(cs.ops) > MAX_LISTED_OPS:
        counts: dict[tuple[str, str], int] = {}
        for op in cs.ops:
            key = (_verb(op), op.entity)
            counts[key] = counts.get(key, 0) + 1
        return tuple(
            f"{verb} {count:,} {_NOUNS[entity][1]}" if count > 1 else f"{verb} {_NOUNS[entity][0]}"
            for (verb, entity), count in counts.items()
        )
    return tuple(_describe_op(op, labels) for op in cs.ops)


def _verb(op: Op) -> str:
    if op.kind == "withdraw" or (op.kind == "update" and op.fields == {"withdrawn": 1}):
        return "withdrew"
    if op.kind == "update":
        return "restored" if op.fields == {"withdrawn": 0} else "updated"
    if op.entity == "case":
        return "opened"
    if op.entity == "grant":
        return "removed" if op.fields.get("kind") == "ungrant" else "granted"
    return "recorded" if op.entity in ("custody", "trust", "release", "consent") else "added"


def _describe_op(op: Op, labels: RecordNames) -> str:
    verb, noun = _verb(op), _NOUNS[op.entity][0]
    if op.entity == "case":
        label = ""  # the case is named beside the change
    elif op.entity == "link" and op.kind == "create":
        return f"{verb} link{_link_ends(op, labels)}"
    elif op.entity == "custody":
        event = op.fields.get("event")
        item = labels.of("evidence", str(op.fields.get("evidence_id", "")))
        what = f" “{event}”" if isinstance(event, str) and event else ""
        return f"{verb} custody event{what}" + (f" for evidence {item}" if item else "")
    elif op.entity == "grant":
        office = " ".join(str(op.fields.get("office_name") or "an office").split())[:MAX_LABEL]
        if verb == "removed":
            return f"removed the access of {office}"
        return f"granted {office} access as {op.fields.get('role') or 'a member'}"
    elif op.entity == "trust":
        said = {
            "revoke": " revoking a key",
            "rotate": " announcing new keys",
            "retract": " retracting a revocation",
        }
        return f"{verb} key statement" + said.get(str(op.fields.get("statement")), "")
    else:
        label = labels.of(op.entity, op.entity_id, op.fields if op.kind == "create" else None)
    named = f"{noun} {label}" if label else noun
    if verb != "updated":
        return f"{verb} {named}"
    order = list(ENTITIES[op.entity].fields)
    changed = sorted({*op.fields, *op.sealed}, key=order.index)
    names = ", ".join(name.replace("_", " ") for name in changed)
    return f"{verb} {named} {names}" if op.entity == "case" else f"{verb} {named}: {names}"


def _link_ends(op: Op, labels: RecordNames) -> str:
    """ " between evidence E-1 and person W-2", as far as the ends have names."""
    item = labels.of("evidence", str(op.fields.get("evidence_id", "")))
    kind = str(op.fields.get("target_kind", ""))
    if kind not in _NOUNS:
        return f" from evidence {item}" if item else ""
    target = labels.of(kind, str(op.fields.get("target_id", "")))
    first = f"evidence {item}" if item else "evidence"
    second = f"{_NOUNS[kind][0]} {target}" if target else _NOUNS[kind][0]
    return f" between {first} and {second}"
