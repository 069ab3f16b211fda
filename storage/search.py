"""Full-text search over cases, persons, incidents, elements, evidence and notes (FTS5).

The index holds one row per searchable record; `search_docs` maps its rowid to the record and
its case. Queries are typed by people, so they are turned into FTS5 phrases and never parsed
as FTS5 syntax; ranking is limited so a word in half the notes still answers quickly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.connection import Connection
from storage.entities import Entity
from storage.errors import InvalidInput

MAX_QUERY_CHARS = 500
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchHit:
    """One search result: the record, its case, and a snippet with the match."""

    entity: str
    entity_id: str
    case_id: str
    case_reference: str
    title: str
    snippet: str
    rank: float


def reindex(conn: Connection, kind: Entity, entity_id: str) -> None:
    """Bring the index row of one record up to date (or remove it when withdrawn)."""
    if not (kind.search_title or kind.search_body):
        return
    wanted = (*kind.search_title, *kind.search_body)
    case_column = "id" if kind.name == "case" else "case_id"
    row = conn.execute(
        f"SELECT {case_column}, withdrawn, {', '.join(wanted)} FROM {kind.table} WHERE id = ?",
        (entity_id,),
    ).fetchone()
    existing = conn.execute(
        "SELECT rowid FROM search_docs WHERE entity_id = ?", (entity_id,)
    ).fetchone()
    if existing:
        conn.execute("DELETE FROM search_index WHERE rowid = ?", (existing[0],))
        conn.execute("DELETE FROM search_docs WHERE rowid = ?", (existing[0],))
    if row is None or row[1]:
        return
    values = [str(v) for v in row[2:]]
    title = " ".join(v for v in values[: len(kind.search_title)] if v)
    body = " ".join(v for v in values[len(kind.search_title) :] if v)
    cursor = conn.execute(
        "INSERT INTO search_docs(entity, entity_id, case_id) VALUES (?,?,?)",
        (kind.name, entity_id, row[0]),
    )
    conn.execute(
        "INSERT INTO search_index(rowid, title, body) VALUES (?,?,?)",
        (cursor.lastrowid, title, body),
    )


def to_fts_query(text: str) -> str:
    """Turn what a person typed into an FTS5 query: every word must match, as a prefix."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"The search text is longer than {MAX_QUERY_CHARS} characters.")
    words = _TOKEN.findall(text)
    if not words:
        raise InvalidInput("Type at least one word or number to search for.")
    return " ".join(f'"{word}"*' for word in words[:32])


def search(conn: Connection, text: str, limit: int = 50) -> list[SearchHit]:
    """Ranked hits (best first) for `text`, each with its case."""
    query = to_fts_query(text)
    rows = conn.execute(
        "SELECT d.entity, d.entity_id, d.case_id, coalesce(c.reference, ''), search_index.title,"
        " snippet(search_index, -1, '[', ']', '…', 12), rank"
        " FROM search_index"
        " JOIN search_docs d ON d.rowid = search_index.rowid"
        " LEFT JOIN cases c ON c.id = d.case_id"
        " WHERE search_index MATCH ? ORDER BY rank LIMIT ?",
        (query, max(1, min(limit, 500))),
    ).fetchall()
    return [SearchHit(r[0], r[1], r[2], r[3], r[4], r[5], float(r[6])) for r in rows]
