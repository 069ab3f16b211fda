"""Measurements on the big workspace: unlock, the signed write path, the case list, search."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path
from typing import Any

from bench.corpus import Vocabulary
from bench.stats import median, percentile
from storage import keyfile, queries
from storage.connection import Connection, open_database
from storage.passphrase import encode_passphrase
from storage.paths import WorkspacePaths
from storage.search import search
from storage.workspace import Draft, Workspace, new_id, open_workspace

# -- unlock --------------------------------------------------------------------------------


def measure_unlock(root: Path, passphrase: str, runs: int) -> dict[str, Any]:
    """open_workspace (Argon2id + database open + checks + unlock housekeeping) `runs` times,
    plus each part on its own so the total can be explained."""
    totals, closes = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        ws = open_workspace(root, passphrase)
        t1 = time.perf_counter()
        ws.close()
        totals.append(t1 - t0)
        closes.append(time.perf_counter() - t1)
    paths = WorkspacePaths(root)
    sealed = keyfile.read(paths.keyfile)
    secret = encode_passphrase(passphrase)
    kdf, db_open = [], []
    key = b""
    for _ in range(runs):
        t0 = time.perf_counter()
        key = keyfile.unseal(sealed, secret)
        kdf.append(time.perf_counter() - t0)
    for _ in range(runs):
        t0 = time.perf_counter()
        conn = open_database(paths.database, key)
        conn.execute("SELECT value FROM meta WHERE key = 'workspace_id'").fetchone()
        db_open.append(time.perf_counter() - t0)
        conn.close()
    blob_files = 0
    if paths.blobs.exists():
        blob_files = sum(1 for sub in paths.blobs.iterdir() for _ in sub.iterdir())
    return {
        "runs": totals,
        "median": median(totals),
        "close_median": median(closes),
        "kdf_median": median(kdf),
        "db_open_median": median(db_open),
        "kdf": sealed.kdf,
        "blob_files": blob_files,
    }


# -- the write path ------------------------------------------------------------------------


def _note(case_id: str, vocab: Vocabulary) -> Draft:
    fields = {"case_id": case_id, "text": vocab.text(40), "class": "open", "subject_id": ""}
    return Draft("note", new_id(), "create", fields)


WRITE_SCENARIOS = (
    # label, changesets, ops per changeset, kind, all in one transaction
    ("add 1 note per changeset, one transaction each", 200, 1, "note", False),
    ("add 10 notes per changeset, one transaction each", 50, 10, "note", False),
    ("edit 1 case field per changeset, one transaction each", 100, 1, "update", False),
    ("add 1 note per changeset, 500 in one transaction", 500, 1, "note", True),
    ("add 10 notes per changeset, 100 in one transaction", 100, 10, "note", True),
)


def measure_writes(ws: Workspace, vocab: Vocabulary, seed: int) -> list[dict[str, Any]]:
    """Changesets/s and ops/s through Workspace.commit (stamping, signing, applying, search
    indexing, audit) on the big workspace. Drafts (and their text) are made before the clock
    starts. Each changeset goes to a random case, as edits do."""
    rng = random.Random(seed)
    case_ids = [row[0] for row in ws.conn.execute("SELECT id FROM cases")]
    results = []
    for label, count, size, kind, batched in WRITE_SCENARIOS:
        work = []
        for _ in range(count):
            case_id = rng.choice(case_ids)
            if kind == "note":
                drafts = [_note(case_id, vocab) for _ in range(size)]
            else:
                drafts = [Draft("case", case_id, "update", {"summary": vocab.text(30)})]
            work.append((case_id, drafts))
        commit_time = 0.0  # inside Workspace.commit
        sql_commit_time = 0.0  # the SQL COMMIT (WAL write and fsync)
        started = time.perf_counter()
        if batched:
            with ws.transaction():
                for case_id, drafts in work:
                    ws.commit(case_id, drafts)
                t_inner = time.perf_counter()
            total = time.perf_counter() - started
            commit_time = t_inner - started
            sql_commit_time = total - commit_time
        else:
            for case_id, drafts in work:
                tx = ws.transaction()
                tx.__enter__()
                t0 = time.perf_counter()
                try:
                    ws.commit(case_id, drafts)
                except BaseException as exc:
                    tx.__exit__(type(exc), exc, exc.__traceback__)
                    raise
                t1 = time.perf_counter()
                tx.__exit__(None, None, None)
                commit_time += t1 - t0
                sql_commit_time += time.perf_counter() - t1
            total = time.perf_counter() - started
        results.append(
            {
                "label": label,
                "changesets": count,
                "ops": count * size,
                "seconds": total,
                "changesets_per_s": count / total,
                "ops_per_s": count * size / total,
                "commit_seconds": commit_time,
                "sql_commit_seconds": sql_commit_time,
            }
        )
    return results


def measure_case_list(conn: Connection, runs: int = 5) -> dict[str, float]:
    """What the main window does first: count the cases and fetch the first page."""
    counts, pages = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        queries.count_cases(conn)
        t1 = time.perf_counter()
        queries.list_cases(conn, sort="updated", limit=200)
        pages.append(time.perf_counter() - t1)
        counts.append(t1 - t0)
    return {"count_median": median(counts), "page_median": median(pages)}


# -- search --------------------------------------------------------------------------------

# The baseline: storage.search as it was when this benchmark was first run (commit 8ce2ab0):
# every typed word an FTS5 prefix term, every match ranked by bm25. Kept here, self-contained,
# so each run shows the current code beside it on the same workspace.
_TOKEN = re.compile(r"\w+", re.UNICODE)
BASELINE_SQL = (
    "SELECT d.entity, d.entity_id, d.case_id, coalesce(c.reference, ''), search_index.title,"
    " snippet(search_index, -1, '[', ']', '…', 12), rank"
    " FROM search_index"
    " JOIN search_docs d ON d.rowid = search_index.rowid"
    " LEFT JOIN cases c ON c.id = d.case_id"
    " WHERE search_index MATCH ? ORDER BY rank LIMIT ?"
)


def baseline_query(text: str) -> str:
    """The FTS5 query the baseline made: every word a prefix term."""
    return " ".join(f'"{word}"*' for word in _TOKEN.findall(text)[:32])


def baseline_search(conn: Connection, text: str, limit: int) -> list[tuple[Any, ...]]:
    return conn.execute(BASELINE_SQL, (baseline_query(text), limit)).fetchall()


def _exact_query(text: str) -> str:
    return " ".join(f'"{word}"' for word in _TOKEN.findall(text)[:32])


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def measure_search(
    conn: Connection,
    vocab: Vocabulary,
    count: int,
    seed: int,
    limit: int = 20,
    *,
    baseline: bool = True,
) -> dict[str, Any]:
    """Time storage.search over `count` queries (one pass after 10 warm-up queries); then run
    the same queries again through storage.search, then through the baseline."""
    for _, text in vocab.queries(10, seed + 1000):
        search(conn, text, limit=limit)
    asked = vocab.queries(count, seed)
    first: list[dict[str, Any]] = []
    for category, text in asked:
        seconds, hits = _timed(search, conn, text, limit)
        first.append({"category": category, "text": text, "seconds": seconds, "hits": hits})
    for item in first:
        # Records holding every word (whole words): how big the query is, whatever the code.
        item["matches"] = conn.execute(
            "SELECT count(*) FROM search_index WHERE search_index MATCH ?",
            (_exact_query(item["text"]),),
        ).fetchone()[0]
    for item in first:
        item["again"], _ = _timed(search, conn, item["text"], limit)
    if baseline:  # after, not interleaved: its big scans would evict storage.search's pages
        for item in first:
            item["baseline"], _ = _timed(baseline_search, conn, item["text"], limit)
    return {"queries": first}


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
    }
