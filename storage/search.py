"""Full-text search over cases, persons, incidents, elements, evidence and notes (FTS5).

The index holds one row per searchable record; `search_docs` maps its rowid to the record and
its case. Queries are typed by people, so they are turned into FTS5 phrases and never parsed
as FTS5 syntax. Ranking is bounded so that a word found in half the notes still answers in
milliseconds: see `search_results`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from storage.connection import Connection
from storage.entities import PROTECTED, Entity
from storage.errors import InvalidInput

MAX_QUERY_CHARS = 500
MAX_WORDS = 32
RANK_LIMIT = 1000  # matches beyond this are shown newest first instead of ranked
MIN_PREFIX = 3  # a last word this long also matches longer words it starts
_TOKEN = re.compile(r"\w+", re.UNICODE)
# English and French function words: in almost every note, never what is looked for.
# fmt: off
FUNCTION_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
    "into", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were",
    "with", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "un", "une",
})
# fmt: on


# Where FTS5 marks a matched word in a snippet: control characters no typed text holds.
# A record whose text holds them anyway gets no marks (see `snippet_parts`): its words
# must never decide what is shown as a match.
MATCH_START, MATCH_END = "\x02", "\x03"

SnippetParts = tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class SearchHit:
    """One search result: the record, its case, and a snippet with the match.

    `snippet` marks the matched words with brackets, for a terminal; `parts` is the same
    snippet as (text, matched) pieces, for a view that highlights them (no brackets, so a
    bracket in the record is never taken for a mark).
    """

    entity: str
    entity_id: str
    case_id: str
    case_reference: str
    title: str
    snippet: str
    rank: float
    parts: SnippetParts = ()


def snippet_parts(marked: str, plain: str) -> SnippetParts:
    """The snippet as (text, matched) pieces, from FTS5's snippet with the matches between
    MATCH_START and MATCH_END (`marked`) and without marks (`plain`). When the record's
    own text holds a mark character, the marks cannot be told from the text: the snippet
    is then one unmatched piece."""
    if not plain:
        return ()
    if MATCH_START in plain or MATCH_END in plain:
        return ((plain, False),)
    parts: list[tuple[str, bool]] = []
    for number, piece in enumerate(marked.split(MATCH_START)):
        matched, _, rest = piece.partition(MATCH_END) if number else ("", "", piece)
        parts.extend(p for p in ((matched, True), (rest, False)) if p[0])
    return tuple(parts)


def bracketed(parts: SnippetParts) -> str:
    """The snippet with its matched words in brackets: `[market] shelling`."""
    return "".join(f"[{text}]" if matched else text for text, matched in parts)


def reindex(conn: Connection, kind: Entity, entity_id: str, *, new: bool = False) -> None:
    """Bring the index row of one record up to date (or remove it when withdrawn); `new`
    says the record was just created, so it has no row yet."""
    if not (kind.search_title or kind.search_body):
        return
    wanted = _indexed_columns(kind)
    case_column = "id" if kind.name == "case" else "case_id"
    protection = "protection" if kind.name == "person" else "'none'"
    row = conn.execute(
        f"SELECT {case_column}, withdrawn, {protection}, {', '.join(wanted)}"
        f" FROM {kind.table} WHERE id = ?",
        (entity_id,),
    ).fetchone()
    existing = (
        None
        if new
        else conn.execute(
            "SELECT rowid FROM search_docs WHERE entity_id = ?", (entity_id,)
        ).fetchone()
    )
    if existing:
        conn.execute("DELETE FROM search_index WHERE rowid = ?", (existing[0],))
        conn.execute("DELETE FROM search_docs WHERE rowid = ?", (existing[0],))
    if row is None or row[1]:
        return
    _add_to_index(conn, kind, entity_id, str(row[0]), str(row[2]), row[3:])


def index_new(conn: Connection, kind: Entity, entity_id: str, row: dict[str, object]) -> None:
    """Index a record just inserted with the column values `row` (every field of `kind`):
    the index row `reindex(..., new=True)` writes, without reading back the row just
    written (an import of 100,000 records spares as many look-ups)."""
    entry = new_index_entry(kind, entity_id, row)
    if entry is not None:
        _write_entry(conn, entry)


IndexEntry = tuple[str, str, str, str, str]  # entity, entity_id, case_id, title, body


def new_index_entry(kind: Entity, entity_id: str, row: dict[str, object]) -> IndexEntry | None:
    """The index row of a record just created with the column values `row` (every field
    of `kind`), None when it has none: what `index_new` writes, for a caller that writes
    many at once (`add_index_entries`)."""
    if not (kind.search_title or kind.search_body) or row["withdrawn"]:
        return None
    case_id = str(entity_id if kind.name == "case" else row["case_id"])
    protection = str(row["protection"]) if kind.name == "person" else "none"
    if protection != "none":
        values = [row[name] for name in _indexed_columns(kind)]
        return _entry(kind, entity_id, case_id, protection, values)
    # What `_entry` writes for a record whose fields are all shown, in fewer steps.
    title = " ".join(dict.fromkeys(text for name in kind.search_title if (text := str(row[name]))))
    body = " ".join(text for name in kind.search_body if (text := str(row[name])))
    return (kind.name, entity_id, case_id, title, body)


def add_index_entries(conn: Connection, entries: Sequence[IndexEntry]) -> None:
    """Write many index rows at once, with the rowids one `INSERT` each would have been
    given (the next above the largest), in order: the same rows as `index_new` per record."""
    if not entries:
        return
    last = int(conn.execute("SELECT coalesce(max(rowid), 0) FROM search_docs").fetchone()[0])
    numbered = list(enumerate(entries, start=last + 1))
    conn.executemany(
        "INSERT INTO search_docs(rowid, entity, entity_id, case_id) VALUES (?,?,?,?)",
        [
            (rowid, entity, entity_id, case_id)
            for rowid, (entity, entity_id, case_id, _, _) in numbered
        ],
    )
    conn.executemany(
        "INSERT INTO search_index(rowid, title, body) VALUES (?,?,?)",
        [(rowid, title, body) for rowid, (_, _, _, title, body) in numbered],
    )


def _indexed_columns(kind: Entity) -> tuple[str, ...]:
    return (*kind.search_title, *kind.search_body)


def _add_to_index(
    conn: Connection,
    kind: Entity,
    entity_id: str,
    case_id: str,
    protection: str,
    values: Sequence[object],
) -> None:
    _write_entry(conn, _entry(kind, entity_id, case_id, protection, values))


def _entry(
    kind: Entity, entity_id: str, case_id: str, protection: str, values: Sequence[object]
) -> IndexEntry:
    # A protected person's identity stays searchable (is this witness already in another
    # case?) but out of the title, and their hits show no snippet: a hit must never show
    # whom a pseudonym hides, which only the audited reveal may.
    protected = protection != "none"
    fields = dict(zip(_indexed_columns(kind), (str(value) for value in values), strict=True))

    def shown(name: str) -> bool:
        return not (protected and kind.fields[name].klass == PROTECTED)

    title_fields = [n for n in kind.search_title if shown(n)]
    body_fields = [n for n in kind.search_title if not shown(n)] + list(kind.search_body)
    title = " ".join(dict.fromkeys(fields[n] for n in title_fields if fields[n]))
    body = " ".join(fields[n] for n in body_fields if fields[n])
    return (kind.name, entity_id, case_id, title, body)


def _write_entry(conn: Connection, entry: IndexEntry) -> None:
    cursor = conn.execute(
        "INSERT INTO search_docs(entity, entity_id, case_id) VALUES (?,?,?)", entry[:3]
    )
    conn.execute(
        "INSERT INTO search_index(rowid, title, body) VALUES (?,?,?)",
        (cursor.lastrowid, entry[3], entry[4]),
    )


def _words(text: str) -> list[str]:
    """The words to look for: function words ('of', 'the', 'de') are left out when other
    words remain, since they match nearly every record and only slow the search down."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"The search text is longer than {MAX_QUERY_CHARS} characters.")
    words = _TOKEN.findall(text)
    if not words:
        raise InvalidInput("Type at least one word or number to search for.")
    meaningful = [word for word in words if word.lower() not in FUNCTION_WORDS]
    return (meaningful or words)[:MAX_WORDS]


def to_fts_query(text: str, *, prefix_last: bool = False) -> str:
    """Turn what a person typed into an FTS5 query: every word must match; with
    `prefix_last`, the last word may be the start of a longer one."""
    words = _words(text)
    terms = [f'"{word}"' for word in words]
    if prefix_last:
        terms[-1] += "*"
    return " ".join(terms)


@dataclass(frozen=True)
class SearchResults:
    """Hits for a query, and whether they are ranked by relevance or are the newest of many."""

    hits: list[SearchHit]
    ranked: bool
    matches: int  # exact up to RANK_LIMIT; above it, "more than RANK_LIMIT"

    @property
    def many(self) -> bool:
        """True when there were too many matches to rank them all quickly."""
        return self.matches > RANK_LIMIT


def search(conn: Connection, text: str, limit: int = 50) -> list[SearchHit]:
    """Best hits first for `text`, each with its case (see `search_results`)."""
    return search_results(conn, text, limit).hits


def search_results(conn: Connection, text: str, limit: int = 50) -> SearchResults:
    """Hits for `text`: whole words first, then the last word as a prefix to fill up.

    Ranking (bm25) must score every match, which for a word found in half a million notes
    takes seconds. So up to RANK_LIMIT matches are ranked by relevance; beyond that the most
    recently changed records come first, and the caller can say so and suggest more words.
    """
    limit = max(1, min(limit, 500))
    exact = to_fts_query(text)
    results = _ranked_or_recent(conn, exact, limit)
    last_word = _words(text)[-1]
    if len(results.hits) < limit and len(last_word) >= MIN_PREFIX:
        more = _ranked_or_recent(conn, to_fts_query(text, prefix_last=True), limit)
        seen = {hit.entity_id for hit in results.hits}
        extra = [hit for hit in more.hits if hit.entity_id not in seen]
        results = SearchResults(
            results.hits + extra[: limit - len(results.hits)],
            results.ranked and more.ranked,
            max(results.matches, more.matches),
        )
    return results


def _ranked_or_recent(conn: Connection, query: str, limit: int) -> SearchResults:
    matches = int(
        conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM search_index WHERE search_index MATCH ? LIMIT ?)",
            (query, RANK_LIMIT + 1),
        ).fetchone()[0]
    )
    if matches == 0:
        return SearchResults([], True, 0)
    ranked = matches <= RANK_LIMIT
    order = "rank" if ranked else "search_index.rowid DESC"
    rows = conn.execute(
        "SELECT d.entity, d.entity_id, d.case_id, coalesce(c.reference, ''), search_index.title,"
        " snippet(search_index, -1, char(2), char(3), '…', 12), rank,"
        " coalesce(p.protection, 'none'), snippet(search_index, -1, '', '', '…', 12)"
        " FROM search_index"
        " JOIN search_docs d ON d.rowid = search_index.rowid"
        " LEFT JOIN cases c ON c.id = d.case_id"
        " LEFT JOIN persons p ON d.entity = 'person' AND p.id = d.entity_id"
        f" WHERE search_index MATCH ? ORDER BY {order} LIMIT ?",
        (query, limit),
    ).fetchall()
    hits = []
    for r in rows:
        # A protected person's snippet could quote the identity the search matched.
        parts = () if r[7] != "none" else snippet_parts(r[5], r[8])
        hits.append(SearchHit(r[0], r[1], r[2], r[3], r[4], bracketed(parts), float(r[6]), parts))
    return SearchResults(hits, ranked, matches)
