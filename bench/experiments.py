"""Experiments behind the storage changes suggested in bench/README.md.

    python -m bench.experiments write-scaling [--cases 20000] [--notes 300000] [--variants ...]
    python -m bench.experiments search-rank-column [--scale 1] [--over 1000]

Each one measures the current storage code against the same work with one change applied
by monkeypatching (nothing in storage/ is edited), in scratch workspaces under bench/out/.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

from bench.corpus import Vocabulary
from bench.generate import NOTES_PER_CHANGESET, OPS_PER_TX, PASSPHRASE, SEED, folder_for
from bench.stats import median, percentile
from storage.cases import add_case
from storage.keyfile import FAST_INSECURE_KDF
from storage.records import CaseId
from storage.workspace import Draft, Workspace, create_workspace, new_id

OUT = Path(__file__).resolve().parent / "out"


def _scratch(name: str) -> Path:
    path = OUT / "experiments" / name
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# -- 1. write throughput as the workspace grows ---------------------------------------------


def ordered_id() -> str:
    """20 hex digits like new_id, but the first 12 are the time in ms: new rows go to the end
    of every index keyed by id instead of a random page."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(4)}"


@contextlib.contextmanager
def variant(name: str, ws: Workspace | None = None) -> Iterator[None]:
    if name == "ordered-ids":
        with (
            mock.patch("storage.workspace.new_id", ordered_id),
            mock.patch("storage.cases.new_id", ordered_id),
        ):
            yield
    elif name == "no-search-index":
        with mock.patch("storage.apply.reindex", lambda *args: None):
            yield
    elif name.startswith("cache-"):
        mib = int(name.split("-")[1])
        assert ws is not None
        ws.conn.execute(f"PRAGMA cache_size = -{mib * 1024}")
        yield
    else:
        yield


def write_scaling(cases: int, notes: int, variants: list[str]) -> None:
    """Cases then notes (10-25 per changeset, ~2,000 ops per transaction) into a scratch
    workspace; prints the write-path rate in tenths of the run for each variant."""
    results: dict[str, list[tuple[int, float]]] = {}
    sizes: dict[str, int] = {}
    for name in variants:
        vocab = Vocabulary.build(SEED)
        rng = random.Random(SEED)
        root = _scratch(f"write-scaling-{name}")
        ws = create_workspace(root, "Scaling", PASSPHRASE, kdf=FAST_INSECURE_KDF)
        slices: list[tuple[int, float]] = []
        with variant(name, ws):
            ids: list[CaseId] = []
            t0 = time.perf_counter()
            for start in range(0, cases, 1000):
                with ws.transaction():
                    ids.extend(
                        add_case(ws, vocab.case_title(), vocab.text(30))
                        for _ in range(min(1000, cases - start))
                    )
            case_rate = cases / (time.perf_counter() - t0)
            done, spent, pending = 0, 0.0, 0
            mark_done, mark_spent = 0, 0.0
            tx = ws.transaction()
            tx.__enter__()
            while done < notes:
                case_id = rng.choice(ids)
                size = min(rng.randint(1, NOTES_PER_CHANGESET), notes - done)
                drafts = [
                    Draft(
                        "note",
                        new_id() if name != "ordered-ids" else ordered_id(),
                        "create",
                        {"case_id": case_id, "text": vocab.text(40), "class": "open"},
                    )
                    for _ in range(size)
                ]
                t0 = time.perf_counter()
                ws.commit(case_id, drafts)
                pending += size
                if pending >= OPS_PER_TX:
                    tx.__exit__(None, None, None)
                    tx = ws.transaction()
                    tx.__enter__()
                    pending = 0
                spent += time.perf_counter() - t0
                done += size
                if done - mark_done >= notes // 10 or done >= notes:
                    slices.append((done, (done - mark_done) / (spent - mark_spent)))
                    mark_done, mark_spent = done, spent
            tx.__exit__(None, None, None)
        ws.close()
        sizes[name] = (root / "workspace.db").stat().st_size
        results[name] = slices
        print(
            f"  {name}: cases {case_rate:,.0f}/s; notes overall {notes / spent:,.0f} ops/s;"
            f" database {sizes[name] / 1e6:,.0f} MB",
            flush=True,
        )
        shutil.rmtree(root, ignore_errors=True)
    print()
    print(f"write-path notes/s after {cases:,} cases, by tenth of {notes:,} notes:")
    print("  " + "notes so far".ljust(14) + "".join(f"{n:>18}" for n in results))
    for i in range(max(len(s) for s in results.values())):
        upto = next(s[i][0] for s in results.values() if i < len(s))
        cells = "".join(
            f"{results[n][i][1]:>18,.0f}" if i < len(results[n]) else " " * 18 for n in results
        )
        print(f"  {upto:<14,}{cells}")


# -- 2. search: the rank column on the newest-first path ----------------------------------

NEWEST_SQL = (
    "SELECT d.entity, d.entity_id, d.case_id, coalesce(c.reference, ''), search_index.title,"
    " snippet(search_index, -1, '[', ']', '…', 12), {rank}"
    " FROM search_index"
    " JOIN search_docs d ON d.rowid = search_index.rowid"
    " LEFT JOIN cases c ON c.id = d.case_id"
    " WHERE search_index MATCH ? ORDER BY search_index.rowid DESC LIMIT ?"
)


def search_rank_column(scale: float, over: int) -> None:
    """For queries with more than `over` matches (which storage.search shows newest first),
    the newest-first statement with `rank` selected, as storage.search does, and without.
    Selecting `rank` makes bm25 count the documents holding each term: a pass over every
    posting list, although nothing is ranked."""
    from storage.workspace import open_workspace

    ws = open_workspace(folder_for(OUT, scale) / "workspace", PASSPHRASE)
    try:
        texts = dict.fromkeys(
            t for _, t in Vocabulary.build(SEED).queries(200, SEED + 11) if " " not in t
        )
        rows = []
        for text in texts:
            query = f'"{text}"'
            matches = ws.conn.execute(
                "SELECT count(*) FROM search_index WHERE search_index MATCH ?", (query,)
            ).fetchone()[0]
            if matches <= over:
                continue
            timing = {}
            for label, rank in (("with rank", "rank"), ("without", "0.0")):
                sql = NEWEST_SQL.format(rank=rank)
                best = float("inf")
                for _ in range(3):
                    t0 = time.perf_counter()
                    ws.conn.execute(sql, (query, 20)).fetchall()
                    best = min(best, time.perf_counter() - t0)
                timing[label] = best
            rows.append((matches, text, timing))
        print(
            f"newest 20 matches, best of 3, for the {len(rows)} single-word benchmark queries"
            f" with > {over:,} matches (the 12 biggest shown)"
        )
        print(f"  {'word':<14}{'matches':>10}{'with rank':>12}{'without':>12}")
        for matches, text, timing in sorted(rows, reverse=True)[:12]:
            print(
                f"  {text:<14}{matches:>10,}{timing['with rank'] * 1000:>10.1f}ms"
                f"{timing['without'] * 1000:>10.1f}ms"
            )
        if rows:
            with_rank = [r[2]["with rank"] for r in rows]
            without = [r[2]["without"] for r in rows]
            print(
                f"  median {median(with_rank) * 1000:.1f} ms with rank,"
                f" {median(without) * 1000:.1f} ms without;"
                f" p95 {percentile(with_rank, 95) * 1000:.1f}"
                f" / {percentile(without, 95) * 1000:.1f} ms"
            )
    finally:
        ws.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.experiments")
    sub = parser.add_subparsers(dest="name", required=True)
    p = sub.add_parser("write-scaling")
    p.add_argument("--cases", type=int, default=20_000)
    p.add_argument("--notes", type=int, default=300_000)
    p.add_argument(
        "--variants",
        default="as-is,ordered-ids,cache-512,no-search-index",
        help="comma-separated: as-is, ordered-ids, cache-<MiB>, no-search-index",
    )
    p = sub.add_parser("search-rank-column")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--over", type=int, default=1000)
    args = parser.parse_args(argv)
    os.chdir(Path(__file__).resolve().parent.parent)
    if args.name == "write-scaling":
        write_scaling(args.cases, args.notes, [v for v in args.variants.split(",") if v])
    else:
        search_rank_column(args.scale, args.over)
    return 0


if __name__ == "__main__":
    sys.exit(main())
