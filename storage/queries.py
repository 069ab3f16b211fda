"""Reading current state: lists and single records, as frozen records, fetched by pages."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from storage.connection import Connection
from storage.entities import is_utf8
from storage.errors import AmbiguousId, AmbiguousReference, NotFound
from storage.records import (
    Case,
    CaseId,
    CustodyEvent,
    Element,
    Evidence,
    Incident,
    Link,
    Note,
    Person,
)
from storage.signers import Signers

R = TypeVar("R")

TABLES: dict[type[Any], tuple[str, str]] = {
    Case: ("cases", "case"),
    Person: ("persons", "person"),
    Incident: ("incidents", "incident"),
    Element: ("elements", "element"),
    Evidence: ("evidence", "evidence item"),
    Link: ("links", "link"),
    Note: ("notes", "note"),
    CustodyEvent: ("custody_events", "custody event"),
}
_RENAMED = {"klass": '"class"', "signer": "''"}  # a signer is looked up, not stored
# Names people type besides ids, and what tells the records apart when one names several
# (two offices, or an office restored from a backup, gave the same reference).
_ALTERNATE_NAMES = {"cases": ("reference", "title"), "evidence": ("ern", "title")}
MAX_CANDIDATES = 20

CASE_SORTS = {
    "reference": "reference",
    "title": "title COLLATE NOCASE",
    "status": "status",
    "updated": "updated_hlc",
    "opened": "opened_on",
    "lead_office": "lead_office",
}
# The field of a `Case` that holds each sort's value.
CASE_SORT_FIELDS = {
    "reference": "reference",
    "title": "title",
    "status": "status",
    "updated": "updated_hlc",
    "opened": "opened_on",
    "lead_office": "lead_office",
}


def _columns(record: type[Any]) -> str:
    names = [f.name for f in dataclasses.fields(record)]
    return ", ".join(f"{_RENAMED[n]} AS {n}" if n in _RENAMED else n for n in names)


def _fetch(conn: Connection, record: type[R], where: str, params: tuple[Any, ...]) -> list[R]:
    table = TABLES[record][0]
    sql = f"SELECT {_columns(record)} FROM {table} WHERE {where}"
    return [record(*row) for row in conn.execute(sql, params)]


def resolve(conn: Connection, record: type[Any], text: str) -> str:
    """Turn what a person typed (a full id, a unique id prefix, a case reference or an ERN)
    into a record id."""
    table, label = TABLES[record]
    text = text.strip()
    if not text or len(text) > 64 or not is_utf8(text):
        raise NotFound(label, text)
    row = conn.execute(f"SELECT id FROM {table} WHERE id = ?", (text,)).fetchone()
    if row:
        return str(row[0])
    alternate = _ALTERNATE_NAMES.get(table)
    if alternate:
        column, shown = alternate
        rows = conn.execute(
            f"SELECT id, {shown} FROM {table} WHERE {column} = ? ORDER BY id LIMIT ?",
            (text, MAX_CANDIDATES),
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if rows:
            raise AmbiguousReference(label, text, [(str(r[0]), str(r[1])) for r in rows])
    if len(text) >= 4 and all(c in "0123456789abcdef" for c in text.lower()):
        prefix = text.lower()
        rows = conn.execute(
            f"SELECT id FROM {table} WHERE id >= ? AND id < ? LIMIT 3", (prefix, prefix + "g")
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if len(rows) > 1:
            raise AmbiguousId(label, text, len(rows))
    raise NotFound(label, text)


# Numbers above this in a reference, pseudonym or evidence number are not followed: a
# mistyped or hostile value from a peer must not make every later number huge.
MAX_FOLLOWED_NUMBER = 999_999


def _series(column: str) -> str:
    return f"rtrim({column}, '0123456789')"


def _number(column: str) -> str:
    return f"CAST(substr({column}, length({_series(column)}) + 1) AS INTEGER)"


def highest_number(conn: Connection, table: str, column: str, series: str) -> int:
    """The highest number N of any value `series` + N in `column` (withdrawn records and
    records from peers included; N up to MAX_FOLLOWED_NUMBER), 0 when there is none: one
    seek in the index of migration 0007."""
    row = conn.execute(
        f"SELECT {_number(column)} AS n FROM {table} WHERE {_series(column)} = ?"
        f" AND {_number(column)} <= ? ORDER BY n DESC LIMIT 1",
        (series, MAX_FOLLOWED_NUMBER),
    ).fetchone()
    return int(row[0]) if row else 0


def highest_series(conn: Connection, table: str, column: str, prefix: str) -> str | None:
    """The highest series (value without its trailing digits) in `column` that is `prefix`
    followed by up to 4 digits and a dash (VAR-KAB-0002- for evidence numbers), or None."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    below = upper
    for _ in range(100):  # a few malformed series sort above the real ones at worst
        row = conn.execute(
            f"SELECT {_series(column)} AS s FROM {table}"
            f" WHERE {_series(column)} >= ? AND {_series(column)} < ? ORDER BY s DESC LIMIT 1",
            (prefix, below),
        ).fetchone()
        if row is None:
            return None
        found = str(row[0])
        middle = found[len(prefix) : -1]
        if found.endswith("-") and middle.isascii() and middle.isdigit() and len(middle) <= 4:
            return found
        below = found
    return None


def get(conn: Connection, record: type[R], ident: str) -> R:
    """One record by id (or by what `resolve` accepts)."""
    found = _fetch(conn, record, "id = ?", (resolve(conn, record, ident),))
    return found[0]


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a list shows: any combination of a status, an act category (cases
    hold a comma-separated list) and a lead office; None means any. `withdrawn` shows
    only withdrawn cases instead (to find one to restore)."""

    status: str | None = None
    category: str | None = None
    lead_office: str | None = None
    withdrawn: bool = False


def count_cases(
    conn: Connection,
    status: str | None = None,
    include_withdrawn: bool = False,
    *,
    where: CaseFilter | None = None,
) -> int:
    """How many cases a list would show."""
    clause, params = _case_filter(where or CaseFilter(status=status), include_withdrawn)
    return int(conn.execute(f"SELECT count(*) FROM cases WHERE {clause}", params).fetchone()[0])


def _case_filter(
    wanted: CaseFilter, include_withdrawn: bool, *, listing: bool = False
) -> tuple[str, tuple[Any, ...]]:
    clauses, params = ["1=1"], []
    if wanted.withdrawn:
        # Few cases are withdrawn: the index on `withdrawn` finds them, for a page too.
        clauses.append("withdrawn = 1")
    elif not include_withdrawn:
        # A count reads the small index on `withdrawn`. A page must not: nearly every case
        # is not withdrawn, and reading them by that index then sorting took 25-200 ms a
        # page at 100,000 cases, where the index of the order takes 1-10 ms. The unary
        # plus keeps the planner off it for pages.
        clauses.append("+withdrawn = 0" if listing else "withdrawn = 0")
    if wanted.status:
        clauses.append("status = ?")
        params.append(wanted.status)
    if wanted.category:
        clauses.append("(',' || replace(categories, ', ', ',') || ',') LIKE ?")
        params.append(f"%,{wanted.category},%")
    if wanted.lead_office:
        clauses.append("lead_office = ?")
        params.append(wanted.lead_office)
    return " AND ".join(clauses), tuple(params)


def case_sort_key(case: Case, sort: str) -> tuple[str, str]:
    """What `list_cases` needs to continue after `case` in the order `sort`."""
    return str(getattr(case, CASE_SORT_FIELDS.get(sort, "updated_hlc"))), str(case.id)


def list_cases(
    conn: Connection,
    *,
    status: str | None = None,
    sort: str = "updated",
    descending: bool = True,
    offset: int = 0,
    limit: int = 200,
    include_withdrawn: bool = False,
    where: CaseFilter | None = None,
    after: tuple[str, str] | None = None,
) -> list[Case]:
    """A page of cases in the order of an indexed column, then of the case id.

    To read the next page, give `after`: the sort's value and the id of the last case of
    the page before (see `case_sort_key`). The database then seeks straight to it through
    the index, where an `offset` walks every row before the page (0.2-0.5 s at the end of
    100,000 cases).
    """
    order = CASE_SORTS.get(sort, "updated_hlc")
    clause, params = _case_filter(
        where or CaseFilter(status=status), include_withdrawn, listing=True
    )
    direction = "DESC" if descending else "ASC"
    if after is not None:
        clause += f" AND ({order}, id) {'<' if descending else '>'} (?, ?)"
        params = (*params, *after)
    return _fetch(
        conn,
        Case,
        f"{clause} ORDER BY {order} {direction}, id {direction} LIMIT ? OFFSET ?",
        (*params, max(0, limit), max(0, offset)),
    )


def lead_offices(conn: Connection) -> list[str]:
    """The lead offices named by cases here, for a filter's choices."""
    rows = conn.execute(
        "SELECT DISTINCT lead_office FROM cases WHERE withdrawn = 0 AND lead_office != ''"
        " ORDER BY lead_office"
    )
    return [str(row[0]) for row in rows]


def in_case(
    conn: Connection, record: type[R], case_id: CaseId, include_withdrawn: bool = False
) -> list[R]:
    """Every record of one kind in a case, oldest first."""
    where = "case_id = ?" + ("" if include_withdrawn else " AND withdrawn = 0")
    return _fetch(conn, record, f"{where} ORDER BY created_hlc, id", (case_id,))


def custody_of(conn: Connection, evidence_id: str) -> list[CustodyEvent]:
    """An item's chain of custody in the order its events reached this workspace, each with
    the office whose key signed it (storage.signers).

    Not by clock stamp: a peer chooses its stamp, and a back-dated one would put its event
    before ours. Arrival order here keeps each origin's events in their sequence (a later
    changeset of an origin never applies before an earlier one it builds on)."""
    events = _fetch(conn, CustodyEvent, "evidence_id = ?", (evidence_id,))
    arrivals = {
        str(row[0]): (int(row[1]), str(row[2]))
        for row in conn.execute(
            "SELECT ce.id, cs.rowid, cs.origin FROM custody_events ce"
            " JOIN field_state fs ON fs.entity = 'custody' AND fs.entity_id = ce.id"
            " AND fs.field = '*'"
            " JOIN changesets cs ON cs.id = substr(fs.op_ref, 1, instr(fs.op_ref, ':') - 1)"
            " WHERE ce.evidence_id = ?",
            (evidence_id,),
        )
    }
    signers = Signers(conn)
    unknown = (2**63, "")
    ordered = sorted(events, key=lambda e: (arrivals.get(e.id, unknown)[0], e.id))
    return [
        dataclasses.replace(e, signer=signers.of(arrivals[e.id][1]).label)
        if e.id in arrivals
        else e
        for e in ordered
    ]


def links_of(conn: Connection, ident: str) -> list[Link]:
    """Links from or to a record."""
    return _fetch(
        conn,
        Link,
        "(evidence_id = ? OR target_id = ?) AND withdrawn = 0 ORDER BY created_hlc",
        (ident, ident),
    )


def case_counts(conn: Connection, case_id: CaseId) -> dict[str, int]:
    """How many records of each kind a case holds."""
    counts = {}
    for record in (Person, Incident, Element, Evidence, Note):
        table = TABLES[record][0]
        counts[table] = int(
            conn.execute(
                f"SELECT count(*) FROM {table} WHERE case_id = ? AND withdrawn = 0", (case_id,)
            ).fetchone()[0]
        )
    return counts
