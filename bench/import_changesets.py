"""Importing a bundle of many changesets, beside the floor measured in the same run.

    python -m bench.import_changesets [--changesets 100000] [--repeat 3] [--fresh]
                                      [--profile FILE]

Issue 11's figure: the import of 100,000 changesets (authorization on), median of 3,
printed beside what no import of those changesets can beat on this machine:

  (a) verifying the same 100,000 Ed25519 signatures on both cores (two worker processes,
      already started, fed in batches of 1,000 like `sync.verify_pool`), and
  (b) inserting the same rows in one transaction: every row the import added (changesets,
      records, field state, search index, audit, bookkeeping), taken from an imported copy
      and inserted with `executemany` into a fresh copy of the same workspace, then COMMIT.

The sender's workspace, the receiver's (fresh, knowing the sender) and the bundle are
generated once and cached under bench/out/import-<count>/ (git-ignored); the cache is
rebuilt when the code that writes bundles or the schema changes, or with --fresh. Each
round copies the fresh receiver, imports the bundle into the copy in a child process
(`import_paths`, timed around the call), then measures (a) and (b); rounds are
interleaved so that other work on the machine weighs on all three alike. The load
average is printed with every figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import importlib.util
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.machine import describe
from bench.stats import heading, median, row, secs, verdict

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PASSPHRASE = "bench: scratch workspaces for the import figure"  # noqa: S105
TARGET_S = 20.0
VERIFY_BATCH = 1_000
# What the cached bundle depends on: when the schema or the way bundles are written
# changes, it is generated again (--fresh after changing what a changeset holds).
GENERATOR = "1"  # raise when _child_generate changes what it writes
CACHE_INPUTS = ("sync/export.py", "sync/bundle_format.py", "storage/migrations")
# FTS5 keeps its index in shadow tables; the floor inserts through the virtual table.
FTS_TABLE = "search_index"
# The importer's steps, timed apart: staging (decrypt, parse, decode, check, verify) and
# applying (one transaction).
PHASES = ("stage", "apply_staged")
# The authorization check the importer asks of sync.authority for every changeset (timed
# inside apply_staged, when the tree has it), and the question the bulk path asks instead
# for a changeset that only creates records (counted with it, when the tree has it).
AUTHORITY = "refusal"
AUTHORITY_BULK = "trusts_fully"


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message} (load {_load()})", file=sys.stderr, flush=True)


def _cache_key(count: int) -> str:
    digest = hashlib.sha256(f"{GENERATOR} {count}".encode())
    for name in CACHE_INPUTS:
        path = ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and file.suffix in (".py", ".sql"):
                digest.update(file.relative_to(ROOT).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _open(root: Path) -> Any:
    from storage.workspace import open_workspace

    return open_workspace(root, PASSPHRASE)


# -- generation (once, cached) -------------------------------------------------------------


def _child_generate(spec: dict[str, Any]) -> dict[str, Any]:
    """Two workspaces that know (and have verified) each other; the sender writes `count`
    changesets of one note each in one case (as people do, one edit at a time), shares the
    case and exports it to the receiver."""
    from storage import cases
    from storage.keyfile import FAST_INSECURE_KDF
    from storage.workspace import Draft, create_workspace, new_id
    from sync import peers
    from sync.cards import parse_card
    from sync.export import export_bundle

    sender = create_workspace(
        Path(spec["sender"]), "Sender office", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    receiver = create_workspace(
        Path(spec["receiver"]), "Receiving liaison", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    to_receiver = peers.add_peer(sender, parse_card(peers.card_bytes(receiver)), "liaison")
    to_sender = peers.add_peer(receiver, parse_card(peers.card_bytes(sender)), "office")
    # Fingerprints compared in person: neither side is on probation.
    peers.verify_peer(sender, to_receiver, receiver.fingerprint)
    peers.verify_peer(receiver, to_sender, sender.fingerprint)
    case_id = cases.add_case(sender, "Bundle benchmark case", "one case")
    count, done = int(spec["changesets"]), 1  # the case's own changeset counts
    while done < count:
        with sender.transaction():
            for _ in range(min(2000, count - done)):
                note = {"case_id": case_id, "text": f"note {done}", "class": "open"}
                sender.commit(case_id, [Draft("note", new_id(), "create", note)])
                done += 1
    peers.share_case(sender, case_id, to_receiver)  # a signed grant of the case (liaison)
    result = export_bundle(
        sender, [peers.get_peer(sender, to_receiver.peer_id)], Path(spec["stick"])
    )
    sender.close()
    receiver.close()
    return {"case": case_id, "changesets": result.changesets, "bytes": result.bytes_written}


def ensure_bundle(count: int, fresh: bool) -> dict[str, Any]:
    """The cached sender, fresh receiver and bundle, generated when missing or stale."""
    key = _cache_key(count)
    base = OUT / f"import-{count}"
    meta_path = base / "generated.json"
    if not fresh and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("key") == key:
            return dict(meta)
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    spec = {
        "sender": str(base / "sender"),
        "receiver": str(base / "receiver"),
        "stick": str(base / "stick"),
        "changesets": count,
    }
    _log(f"generating {count:,} changesets and their bundle (once; cached in {base})")
    t0 = time.perf_counter()
    spec.update(_child("generate", spec))
    spec["generation_s"] = time.perf_counter() - t0
    spec["key"] = key
    meta_path.write_text(json.dumps(spec))
    return spec


# -- the import (a child process per round) ------------------------------------------------


def _timed_phases(
    module: Any, names: tuple[str, ...], spent: dict[str, float] | None = None
) -> dict[str, float]:
    """Wrap functions of a module (or methods of a class) so that the seconds spent in each,
    and the CPU seconds of this process in each (workers not counted), are added up (the
    importer calls them through its module globals, so the wrappers are what it calls)."""
    spent = {} if spent is None else spent
    spent.update(dict.fromkeys(names, 0.0) | dict.fromkeys([f"{n} CPU" for n in names], 0.0))
    for name in names:
        inner = getattr(module, name)

        def timed(*args: Any, _inner: Any = inner, _name: str = name, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return _inner(*args, **kwargs)
            finally:
                spent[_name] += time.perf_counter() - t0
                spent[f"{_name} CPU"] += time.process_time() - c0

        setattr(module, name, timed)
    return spent


def _cpu() -> float:
    """CPU seconds (user + system) of this process and of its children that ended (the
    signature worker is joined before staging ends)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _child_import(spec: dict[str, Any]) -> dict[str, Any]:
    from sync import importer
    from sync.importer import import_paths

    phases = _timed_phases(importer, PHASES)
    if importlib.util.find_spec("sync.authority") is not None:
        from sync.authority import Authority

        asked = tuple(name for name in (AUTHORITY, AUTHORITY_BULK) if hasattr(Authority, name))
        _timed_phases(Authority, asked, phases)
    ws = _open(Path(spec["copy"]))
    cpu0 = _cpu()
    profile = spec.get("profile")
    t0 = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        reports = profiler.runcall(import_paths, ws, [Path(spec["stick"])])
        profiler.dump_stats(profile)
    else:
        reports = import_paths(ws, [Path(spec["stick"])])
    seconds = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    ws.close()
    for suffix in ("", " CPU") if AUTHORITY in phases else ():
        phases[AUTHORITY + suffix] += phases.pop(AUTHORITY_BULK + suffix, 0.0)
    report = reports[0]
    if report.status != "imported" or report.quarantined or report.parked:
        raise RuntimeError(f"import: {report.status}: {report.message} {report.to_json()}")
    return {
        "seconds": seconds,
        "changesets": report.changesets,
        "load": _load(),
        "phases": phases,
        "cpu": cpu,
    }


CHILDREN = {"generate": _child_generate, "import": _child_import}


def _child(step: str, spec: dict[str, Any], code: Path = ROOT) -> dict[str, Any]:
    return run_child(Path(__file__), step, spec, code)


def run_child(
    script_file: Path, step: str, spec: dict[str, Any], code: Path = ROOT
) -> dict[str, Any]:
    """Run `script_file --child step spec` in a child process, with the storage and sync
    packages of `code` (this tree, or an earlier commit's extracted by --against); the
    last line it prints is its JSON answer."""
    script = (
        "import runpy, sys; sys.argv = sys.argv[1:];"
        " runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    argv = [str(script_file.resolve()), "--child", step, json.dumps(spec)]
    proc = subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        cwd=code,
        env={**os.environ, "PYTHONPATH": str(code)},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the {step} child failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout.splitlines()[-1]))


def extract_commit(rev: str) -> Path:
    """The tree of an earlier commit, to import with the code before a change."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = OUT / f"tree-{commit}"
    if not target.exists():
        target.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", commit, "storage", "sync", "bench"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def _copy_receiver(spec: dict[str, Any], name: str) -> Path:
    target = OUT / f"import-{spec['changesets']}" / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(spec["receiver"], target)
    return target


# -- floor (a): the signatures on both cores -----------------------------------------------


def _signed(spec: dict[str, Any]) -> list[tuple[str, bytes, bytes, bytes]]:
    """(id, key, body, signature) of every changeset the bundle carries, read from the
    sender (not timed)."""
    ws = _open(Path(spec["sender"]))
    key = ws.keys.signing_public
    rows = ws.conn.execute("SELECT id, body, sig FROM changesets WHERE origin = ?", (ws.origin,))
    items = [(str(cs_id), key, bytes(body), bytes(sig)) for cs_id, body, sig in rows]
    ws.close()
    return items


def _nothing(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def verify_floor(items: list[tuple[str, bytes, bytes, bytes]]) -> dict[str, float]:
    """Seconds to verify every signature with two started worker processes (batches of
    1,000, as sync.verify_pool sends them), and on one core in this process."""
    from sync.verify_pool import failed_in

    batches = [items[i : i + VERIFY_BATCH] for i in range(0, len(items), VERIFY_BATCH)]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        # Both workers started and imported before the clock starts.
        list(pool.map(_nothing, [0.3, 0.3]))
        list(pool.map(failed_in, [batches[0][:10], batches[0][:10]]))
        t0 = time.perf_counter()
        failed = [cs_id for result in pool.map(failed_in, batches) for cs_id in result]
        two = time.perf_counter() - t0
    if failed:
        raise RuntimeError(f"{len(failed)} signatures failed in the floor")
    t0 = time.perf_counter()
    failed_in(items)
    one = time.perf_counter() - t0
    return {"two cores": two, "one core": one}


# -- floor (b): the same rows in one transaction ------------------------------------------


def _tables(conn: Any) -> list[str]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    shadows = {f"{FTS_TABLE}_{s}" for s in ("data", "idx", "content", "docsize", "config")}
    return [
        str(name) for name, _ in rows if name not in shadows and not str(name).startswith("sqlite_")
    ]


def _rows(conn: Any, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    if table == FTS_TABLE:
        cursor = conn.execute(f"SELECT rowid, * FROM {table}")
        columns = ["rowid"] + [d[0] for d in cursor.description[1:]]
    else:
        cursor = conn.execute(f"SELECT * FROM {table}")
        columns = [d[0] for d in cursor.description]
    return columns, cursor.fetchall()


def added_rows(fresh: Path, imported: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Per table, the rows of `imported` that `fresh` does not hold (what the import added
    or changed), in the order the imported copy holds them."""
    before, after = _open(fresh), _open(imported)
    added: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for table in _tables(after.conn):
        columns, rows = _rows(after.conn, table)
        known = set(_rows(before.conn, table)[1])
        new = [r for r in rows if r not in known]
        if new:
            added[table] = (columns, new)
    before.close()
    after.close()
    return added


def insert_floor(
    copy: Path, added: dict[str, tuple[list[str], list[tuple[Any, ...]]]]
) -> tuple[float, float]:
    """Seconds, and CPU seconds, to insert `added` into `copy` (a fresh receiver) in one
    transaction."""
    ws = _open(copy)
    conn = ws.conn
    t0, c0 = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    for table, (columns, rows) in added.items():
        marks = ",".join("?" * len(columns))
        conn.executemany(
            f"INSERT OR REPLACE INTO {table}({','.join(columns)}) VALUES ({marks})", rows
        )
    conn.execute("COMMIT")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    ws.close()
    return seconds, cpu


# -- the run -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) the bundle, run the rounds, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.import_changesets", description=__doc__)
    parser.add_argument("--changesets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="generate the bundle again")
    parser.add_argument("--profile", help="cProfile the first import into this file")
    parser.add_argument("--no-floor", action="store_true", help="imports only")
    parser.add_argument(
        "--against", metavar="REV", help="also import with the code of commit REV, each round"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](json.loads(args.child[1]))))
        return 0

    started = time.perf_counter()
    print(f"Valise: import of a bundle of {args.changesets:,} changesets, beside its floor")
    print(f"  command: python -m bench.import_changesets {' '.join(sys.argv[1:])}")
    OUT.mkdir(parents=True, exist_ok=True)
    for label, value in describe(OUT):
        row(label, value)
    row("load average at start (1, 5, 15 min)", _load())
    spec = ensure_bundle(args.changesets, args.fresh)
    if "generation_s" in spec:
        row("generation (once, cached)", secs(spec["generation_s"]))
    row("bundle", f"{spec['changesets']:,} changesets", f"{spec['bytes']:,} bytes")
    row("authorization", _authorization())

    items: list[tuple[str, bytes, bytes, bytes]] = []
    added: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    rounds: list[dict[str, Any]] = []
    for number in range(1, args.repeat + 1):
        copy = _copy_receiver(spec, "run")
        os.sync()
        _log(f"round {number}/{args.repeat}: import")
        step = dict(spec, copy=str(copy))
        if args.profile and number == 1:
            step["profile"] = args.profile
        imported = _child("import", step)
        result: dict[str, Any] = {
            "import": imported["seconds"],
            "import load": imported["load"],
            "phases": imported["phases"],
            "cpu": imported["cpu"],
        }
        if args.against:
            shutil.rmtree(copy, ignore_errors=True)
            copy = _copy_receiver(spec, "run")
            os.sync()
            _log(f"round {number}/{args.repeat}: import with the code of {args.against}")
            earlier = _child("import", dict(step, profile=None), extract_commit(args.against))
            result["earlier"] = earlier
        if not args.no_floor:
            if not added:
                _log("collecting the rows the import added (not timed)")
                added = added_rows(Path(spec["receiver"]), copy)
                items = _signed(spec)
            _log(f"round {number}/{args.repeat}: floor (a), signatures")
            result.update(verify_floor(items))
            result["verify load"] = _load()
            floor_copy = _copy_receiver(spec, "floor")
            os.sync()
            _log(f"round {number}/{args.repeat}: floor (b), the same rows in one transaction")
            result["insert"], result["insert CPU"] = insert_floor(floor_copy, added)
            result["insert load"] = _load()
            shutil.rmtree(floor_copy, ignore_errors=True)
        shutil.rmtree(copy, ignore_errors=True)
        rounds.append(result)
        _print_round(number, result)

    _print_summary(args, rounds, added)
    row("load average at end", _load())
    row("wall time", secs(time.perf_counter() - started))
    return 0


def _authorization() -> str:
    if importlib.util.find_spec("sync.authority") is None:
        return "OFF: sync.authority is not in this tree (issue 11 grants not merged)"
    return "on (sync.authority)"


def _print_phases(phases: dict[str, float]) -> None:
    for phase in PHASES:
        row(
            f"  in {phase}", secs(phases[phase]), f"main process CPU {secs(phases[phase + ' CPU'])}"
        )
    if AUTHORITY in phases:
        row(
            "    of which sync.authority (Authority.refusal, trusts_fully)",
            secs(phases[AUTHORITY]),
            f"CPU {secs(phases[AUTHORITY + ' CPU'])}",
        )


def _print_round(number: int, result: dict[str, Any]) -> None:
    heading(f"Round {number}")
    row("import", secs(result["import"]), f"load {result['import load']}")
    row("  CPU (all its processes)", secs(result["cpu"]))
    _print_phases(result["phases"])
    if "earlier" in result:
        earlier = result["earlier"]
        row("import with the earlier code", secs(earlier["seconds"]), f"load {earlier['load']}")
        row("  CPU (all its processes)", secs(earlier["cpu"]))
        _print_phases(earlier["phases"])
    if "insert" in result:
        row(
            "floor (a): signatures, two cores",
            secs(result["two cores"]),
            f"load {result['verify load']}",
        )
        row("  the same on one core", secs(result["one core"]))
        row(
            "floor (b): the same rows, one transaction",
            secs(result["insert"]),
            f"CPU {secs(result['insert CPU'])}; load {result['insert load']}",
        )


def _print_summary(
    args: argparse.Namespace,
    rounds: list[dict[str, Any]],
    added: dict[str, tuple[list[str], list[tuple[Any, ...]]]],
) -> None:
    heading(f"Median of {len(rounds)}")
    took = median([r["import"] for r in rounds])
    if args.against:
        row(
            f"import with the code of {args.against}",
            secs(median([r["earlier"]["seconds"] for r in rounds])),
            f"CPU {secs(median([r['earlier']['cpu'] for r in rounds]))}",
        )
        row(
            "import with this code",
            secs(took),
            f"CPU {secs(median([r['cpu'] for r in rounds]))}",
        )
    row(
        f"import of {args.changesets:,} changesets",
        secs(took),
        "all: " + ", ".join(secs(r["import"]) for r in rounds),
    )
    if added:
        verify = median([r["two cores"] for r in rounds])
        one = median([r["one core"] for r in rounds])
        insert = median([r["insert"] for r in rounds])
        row("floor (a): verify signatures, two cores", secs(verify), f"one core: {secs(one)}")
        row(
            "floor (b): insert the same rows, one transaction",
            secs(insert),
            f"CPU {secs(median([r['insert CPU'] for r in rounds]))}",
        )
        row(
            "import: main process CPU applying (median)",
            secs(median([r["phases"]["apply_staged CPU"] for r in rounds])),
        )
    if AUTHORITY in rounds[0]["phases"]:
        row(
            "import: in sync.authority (median)",
            secs(median([r["phases"][AUTHORITY] for r in rounds])),
            f"CPU {secs(median([r['phases'][AUTHORITY + ' CPU'] for r in rounds]))}",
        )
    if added:
        row("floor (a) + (b)", secs(verify + insert))
        row("import / (a + b)", f"{took / (verify + insert):.2f}")
        total = sum(len(rows) for _, rows in added.values())
        detail = ", ".join(
            f"{t} {len(r):,}" for t, (_, r) in sorted(added.items(), key=lambda x: -len(x[1][1]))
        )
        row("rows inserted in (b)", f"{total:,}", detail)
    heading("Target from issue 11")
    row(
        f"import of {args.changesets:,} changesets, median",
        secs(took),
        f"≤ 20 s: {verdict(took <= TARGET_S)}",
    )


if __name__ == "__main__":
    sys.exit(main())
