"""How much of an import's writing could move before its signatures are all verified.

    python -m bench.import_write_split [--changesets 100000] [--repeat 2]

Issue 11 asks for the import of 100,000 changesets in 20 s, beside a floor of about 5.7 s
(the signatures on two cores) + 12 s (the same rows in one transaction). The quality bar
says a bundle is verified fully before anything is applied, so the writes cannot overlap
the verification; what could overlap it is everything that only reads: decoding, the
checks, and binding the rows. This measures, with the rows a real import added (taken as
bench.import_changesets takes them for its floor (b)), in a fresh copy of the receiver:

  (1) the rows written as the bulk path writes them: per batch of 500 changesets, one
      `executemany` per table, then COMMIT;
  (2) the same rows first bound into in-memory TEMP tables (work a plan made while the
      signatures are verified could do: it writes nothing to the workspace), and then,
      timed apart as what must follow the verification, one INSERT ... SELECT per table,
      then COMMIT.

It prints the figures and the budget they leave; it changes nothing in storage/ or sync/.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.import_changesets import (
    TARGET_S,
    _child,
    _copy_receiver,
    _load,
    _log,
    _open,
    added_rows,
    ensure_bundle,
)
from bench.machine import describe
from bench.stats import heading, median, row, secs

BATCH = 500  # changesets per savepoint in sync.importer._Applier
# The tables that grow with the number of changesets, in the order the bulk path fills them.
GROWING = ("changesets", "notes", "field_state", "search_docs", "search_index")

Rows = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def _insert(conn: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    marks = ",".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table}({','.join(columns)}) VALUES ({marks})", rows)


def _fixed_rows(conn: Any, added: Rows) -> None:
    """The few rows that do not grow with the bundle (the case, the peer, bookkeeping)."""
    for table, (columns, rows) in added.items():
        if table not in GROWING:
            marks = ",".join("?" * len(columns))
            conn.executemany(
                f"INSERT OR REPLACE INTO {table}({','.join(columns)}) VALUES ({marks})", rows
            )


def written_in_batches(copy: Path, added: Rows) -> dict[str, float]:
    """(1): seconds and CPU seconds to write `added` as the bulk path does."""
    ws = _open(copy)
    conn = ws.conn
    t0, c0 = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    _fixed_rows(conn, added)
    count = len(added["changesets"][1])
    for start in range(0, count, BATCH):
        for table in GROWING:
            columns, rows = added[table]
            if part := rows[start : start + BATCH]:
                _insert(conn, table, columns, part)
    t1 = time.perf_counter()
    conn.execute("COMMIT")
    result = {
        "seconds": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "commit": time.perf_counter() - t1,
    }
    ws.close()
    return result


def planned_then_written(copy: Path, added: Rows) -> dict[str, float]:
    """(2): seconds to bind `added` into TEMP tables, then seconds to copy them in."""
    ws = _open(copy)
    conn = ws.conn
    t0 = time.perf_counter()
    for table in GROWING:
        columns, rows = added[table]
        conn.execute(f"CREATE TEMP TABLE planned_{table}({','.join(columns)})")
        _insert(conn, f"planned_{table}", columns, rows)
    bound = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    _fixed_rows(conn, added)
    for table in GROWING:
        listed = ",".join(added[table][0])
        conn.execute(f"INSERT INTO main.{table}({listed}) SELECT {listed} FROM planned_{table}")
    t1 = time.perf_counter()
    conn.execute("COMMIT")
    result = {
        "bound": bound,
        "seconds": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "commit": time.perf_counter() - t1,
    }
    ws.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """Import once (to learn the rows), then measure both ways of writing them."""
    parser = argparse.ArgumentParser(prog="python -m bench.import_write_split", description=__doc__)
    parser.add_argument("--changesets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"Valise: writing the rows of an import of {args.changesets:,} changesets, two ways")
    print(
        f"  command: python -m bench.import_write_split --changesets {args.changesets}"
        f" --repeat {args.repeat}"
    )
    for label, value in describe(Path(__file__).resolve().parent / "out"):
        row(label, value)
    spec = ensure_bundle(args.changesets, False)
    copy = _copy_receiver(spec, "split-imported")
    _log("importing once to learn the rows it adds (not timed here)")
    imported = _child("import", dict(spec, copy=str(copy)))
    row("that import (for reference)", secs(imported["seconds"]), f"load {imported['load']}")
    added = added_rows(Path(spec["receiver"]), copy)
    batches, planned = [], []
    for number in range(1, args.repeat + 1):
        _log(f"round {number}/{args.repeat}: (1) in batches of {BATCH}")
        batches.append(written_in_batches(_copy_receiver(spec, "split-floor"), added))
        _log(f"round {number}/{args.repeat}: (2) planned, then copied in")
        planned.append(planned_then_written(_copy_receiver(spec, "split-floor"), added))
        heading(f"Round {number}")
        print(json.dumps({"batches": batches[-1], "planned": planned[-1]}, indent=1))
    heading(f"Median of {args.repeat}")
    one = median([r["seconds"] for r in batches])
    bound = median([r["bound"] for r in planned])
    after = median([r["seconds"] for r in planned])
    row(
        f"(1) written in batches of {BATCH}, with COMMIT",
        secs(one),
        f"COMMIT {secs(median([r['commit'] for r in batches]))}",
    )
    row("(2) bound into TEMP tables (could overlap verifying)", secs(bound))
    row(
        "(2) then copied in, with COMMIT (after verifying)",
        secs(after),
        f"COMMIT {secs(median([r['commit'] for r in planned]))}",
    )
    row(
        "what the writes leave of the target",
        secs(TARGET_S - after),
        f"for verifying, decoding, checking and binding {args.changesets:,} changesets",
    )
    row("load average at end", _load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
