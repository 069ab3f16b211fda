"""Rekey of a big workspace in MB/s, beside `cp` of the same files (issue 13's figure).

A rekey (`storage.rekey`) re-encrypts the SQLCipher database under a new key with
`sqlcipher_export` and rewrites the key file and the audit anchor. The evidence files in
`blobs/` are NOT rewritten: their per-file keys live in the database and are re-encrypted
with it. So the time of a rekey follows the size of the database, not of the workspace,
and two workspaces are measured:

(a) one whose database is big (`--db-mb`, 2,048 by default): cases and notes written
    through `Workspace.commit` in transactions of ~2,000 ops, as `bench.generate` does;
(b) one of about the same total size (`--evidence-mb`) that is mostly evidence: a small
    database and a few big random files added with `evidence.add_evidence`.

Both are built once and cached in `bench/out/rekey-*/` (git-ignored; `--fresh` rebuilds).
The workspaces' passphrase slot uses `keyfile.FAST_INSECURE_KDF` (64 KiB, 1 pass) and is
opened under the matching policy, so Argon2id (0.1-1 s at the standard costs, measured by
`bench.kdf`) does not weigh on the figure; the open is timed apart anyway.

Each round copies the cached workspace to a fresh folder and runs `sync`, then times
`open_workspace` + `rekey(ws, sealed_for_every_user(ws))` up to the new files in place
(the renames are inside `rekey`), checks the rekeyed workspace opens, and in the same
round times `cp -r` of the rekeyed folder and `cp` of its database alone, each followed by
`sync` (and each starting after a `sync`, so none waits on the write-back of another).
The order of the two copies alternates between rounds: on this virtual disk the second
big write of a round is often several times slower than the first, so the summary gives
cp's median for each place apart.
Figures, never pass/fail; the load average is printed on every line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.corpus import Vocabulary
from bench.machine import describe
from bench.stats import heading, row
from storage import cases as case_api
from storage import evidence as evidence_api
from storage import kdf_policy
from storage import rekey as rekey_api
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Draft, Workspace, create_workspace, new_id, open_workspace

VERSION = 1
OUT = Path(__file__).resolve().parent / "out"
PASSPHRASE = "bench: a rekey over the long grey causeway 2026"  # noqa: S105
USER = "Amina"
SEED = 20261208
CASES = 2_000
NOTES_PER_CHANGESET = 25
OPS_PER_TX = 2_000
NOTE_WORDS = 300  # mean; bigger notes than bench.generate's 40 fill the database faster
EVIDENCE_FILE_MB = 256
MB = 1_000_000
MIB = 1024 * 1024

Log = Callable[[str], None]


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _log(text: str) -> None:
    print(text, flush=True)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _database_bytes(root: Path) -> int:
    return sum(
        p.stat().st_size for p in (root / "workspace.db", root / "workspace.db-wal") if p.exists()
    )


def _manifest(folder: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest of a complete cached workspace built with `wanted`, else None."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if not manifest.get("complete") or manifest.get("wanted") != wanted:
        return None
    if not (folder / "workspace" / "workspace.db").exists():
        return None
    return dict(manifest)


def _new_workspace(folder: Path) -> Workspace:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return create_workspace(
        folder / "workspace", "Rekey Bench", PASSPHRASE, user=USER, kdf=FAST_INSECURE_KDF
    )


def _add_cases(ws: Workspace, vocab: Vocabulary, count: int) -> list[str]:
    with ws.transaction():
        return [case_api.add_case(ws, vocab.case_title(), vocab.text(30)) for _ in range(count)]


def _add_notes(
    ws: Workspace, vocab: Vocabulary, case_ids: list[str], db_bytes: int, log: Log
) -> int:
    """Notes in changesets of NOTES_PER_CHANGESET, transactions of OPS_PER_TX ops, until
    the database (with its log) holds `db_bytes`. The number of notes written."""
    rng = random.Random(SEED + 1)
    root = ws.paths.root
    notes, started, next_report = 0, time.perf_counter(), 0.1
    while _database_bytes(root) < db_bytes:
        with ws.transaction():
            for _ in range(OPS_PER_TX // NOTES_PER_CHANGESET):
                case_id = rng.choice(case_ids)
                drafts = [
                    Draft(
                        "note",
                        new_id(),
                        "create",
                        {
                            "case_id": case_id,
                            "text": vocab.text(NOTE_WORDS),
                            "class": "open",
                            "subject_id": "",
                        },
                    )
                    for _ in range(NOTES_PER_CHANGESET)
                ]
                ws.commit(case_id, drafts)
                notes += NOTES_PER_CHANGESET
        size = _database_bytes(root)
        if size >= db_bytes * next_report:
            seconds = time.perf_counter() - started
            log(
                f"  {notes:,} notes, database {size / MB:,.0f} MB in {seconds:,.0f} s"
                f" ({size / MB / seconds:.1f} MB/s; load {_load()})"
            )
            while next_report <= size / db_bytes:
                next_report += 0.1
    return notes


def build_database_heavy(folder: Path, db_mb: int, log: Log) -> dict[str, Any]:
    """Workspace (a): a database of about `db_mb` MB, written through the signed path."""
    log(f"building a workspace with a {db_mb:,} MB database in {folder} (once)")
    started = time.perf_counter()
    vocab = Vocabulary.build(SEED)
    ws = _new_workspace(folder)
    try:
        case_ids = _add_cases(ws, vocab, CASES)
        notes = _add_notes(ws, vocab, case_ids, db_mb * MB, log)
    finally:
        ws.close()
    seconds = time.perf_counter() - started
    return {"cases": CASES, "notes": notes, "build_seconds": seconds}


def build_evidence_heavy(folder: Path, evidence_mb: int, log: Log) -> dict[str, Any]:
    """Workspace (b): a small database and `evidence_mb` MB of evidence in files of
    EVIDENCE_FILE_MB MB (random bytes), added with `add_evidence`."""
    log(f"building a workspace with {evidence_mb:,} MB of evidence in {folder} (once)")
    started = time.perf_counter()
    vocab = Vocabulary.build(SEED)
    ws = _new_workspace(folder)
    staging = folder / "sources"
    staging.mkdir()
    files = max(1, round(evidence_mb / EVIDENCE_FILE_MB))
    try:
        case_ids = _add_cases(ws, vocab, 100)
        _add_notes(ws, vocab, case_ids, 20 * MB, lambda _text: None)
        for n in range(files):
            source = staging / f"VID_20261208_{n:04d}.mp4"
            with source.open("wb") as out:
                for _ in range(EVIDENCE_FILE_MB * MB // MIB):
                    out.write(os.urandom(MIB))
            evidence_api.add_evidence(
                ws, case_ids[n % len(case_ids)], source, description=vocab.text(15)
            )
            source.unlink()
            log(f"  evidence file {n + 1}/{files} added (load {_load()})")
    finally:
        ws.close()
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    return {"evidence_files": files, "build_seconds": seconds}


def cached(
    name: str, wanted: dict[str, Any], build: Callable[[Path], dict[str, Any]], fresh: bool
) -> tuple[Path, dict[str, Any]]:
    """The cached workspace `bench/out/<name>/workspace`, built when missing or stale."""
    folder = OUT / name
    manifest = None if fresh else _manifest(folder, wanted)
    if manifest is None:
        made = build(folder)
        root = folder / "workspace"
        manifest = {
            "version": VERSION,
            "wanted": wanted,
            "complete": True,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database_bytes": (root / "workspace.db").stat().st_size,
            "workspace_bytes": _folder_bytes(root),
            **made,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder / "workspace", manifest


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True)


def _timed_copy(*cmd: str) -> float:
    """Seconds of `cmd` and a `sync` after it, started after a `sync`."""
    os.sync()
    t0 = time.perf_counter()
    _run(*cmd)
    os.sync()
    return time.perf_counter() - t0


@contextlib.contextmanager
def _timing(module: Any, name: str) -> Iterator[list[float]]:
    """Time each call of `module.name` (a step inside the rekey) while in the block."""
    original = getattr(module, name)
    seconds: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - t0)

    setattr(module, name, timed)
    try:
        yield seconds
    finally:
        setattr(module, name, original)


def one_round(source: Path, scratch: Path, first_cp_all: bool) -> dict[str, Any]:
    """Copy `source` to a fresh folder, time its rekey, then `cp -r` and `cp` of the
    database of the same (rekeyed) folder, each with a `sync`."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    root = scratch / "workspace"
    _run("cp", "-r", str(source), str(root))
    os.sync()
    db_bytes = (root / "workspace.db").stat().st_size
    ws_bytes = _folder_bytes(root)
    load = _load()
    os.sync()
    t0, cpu0 = time.perf_counter(), time.process_time()
    ws = open_workspace(root, PASSPHRASE, user=USER, costs=kdf_policy.TEST_POLICY)
    t_open = time.perf_counter() - t0
    inode = (root / "workspace.db").stat().st_ino
    with _timing(rekey_api, "export_copy") as t_export, _timing(rekey_api, "fsync_path") as t_fsync:
        rekey_api.rekey(ws, rekey_api.sealed_for_every_user(ws))
    t_rekey, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    # The rekey did happen: a new database file, which opens, and says so in its chain.
    after = open_workspace(root, PASSPHRASE, user=USER, costs=kdf_policy.TEST_POLICY)
    try:
        last = after.conn.execute("SELECT action FROM audit ORDER BY rowid DESC").fetchone()
        replaced = (root / "workspace.db").stat().st_ino != inode
        if not replaced or last[0] != "database key changed":
            raise RuntimeError(f"the rekey did not happen ({replaced=}, last entry {last})")
    finally:
        after.close()
    copy_all = scratch / "copy"
    copy_db = scratch / "copy.db"
    # The order alternates between rounds: on this virtual disk the second of two big
    # writes in a row is often the slower.
    if first_cp_all:
        t_cp = _timed_copy("cp", "-r", str(root), str(copy_all))
        t_cp_db = _timed_copy("cp", str(root / "workspace.db"), str(copy_db))
    else:
        t_cp_db = _timed_copy("cp", str(root / "workspace.db"), str(copy_db))
        t_cp = _timed_copy("cp", "-r", str(root), str(copy_all))
    shutil.rmtree(scratch)
    return {
        "load": load,
        "db_bytes": db_bytes,
        "ws_bytes": ws_bytes,
        "open": t_open,
        "rekey": t_rekey,
        "cp": t_cp,
        "cp_db": t_cp_db,
        "cp_all_first": first_cp_all,
        "export": sum(t_export),
        "cpu": cpu,
        "fsync": sum(t_fsync),
    }


def _line(label: str, r: dict[str, Any]) -> None:
    rekey_ws = r["ws_bytes"] / MB / r["rekey"]
    rekey_db = r["db_bytes"] / MB / r["rekey"]
    cp_ws = r["ws_bytes"] / MB / r["cp"]
    cp_db = r["db_bytes"] / MB / r["cp_db"]
    print(
        f"  {label:<8} {r['rekey']:7.2f} s (open {r['open']:.2f}, export {r['export']:.1f},"
        f" fsync {r['fsync']:.1f}; CPU {r['cpu']:.1f})"
        f" {rekey_ws:8,.0f} {rekey_db:8,.0f}"
        f" | cp -r {r['cp']:6.2f} s {cp_ws:7,.0f}"
        f" | cp db {r['cp_db']:6.2f} s {cp_db:7,.0f}"
        f" | {cp_ws / rekey_ws:5.1f}x {cp_db / rekey_db:5.1f}x   load {r['load']}",
        flush=True,
    )


def measure(title: str, source: Path, manifest: dict[str, Any], repeat: int) -> None:
    heading(title)
    row("database", f"{manifest['database_bytes'] / MB:,.0f} MB")
    row("whole workspace", f"{manifest['workspace_bytes'] / MB:,.0f} MB")
    built = {k: v for k, v in manifest.items() if k not in ("wanted", "complete", "version")}
    row("built", json.dumps(built))
    print(
        "  columns: rekey time (open + rekey + renames; of which sqlcipher_export of the"
        " database, the fsync of the new one, and the CPU time of the process), MB/s of"
        " the workspace, MB/s of the database | cp -r + sync of the folder, MB/s | cp +"
        " sync of the database alone, MB/s | how many times faster cp is (workspace,"
        " database)"
    )
    rounds = []
    for n in range(repeat):
        r = one_round(source, OUT / "rekey-scratch", first_cp_all=n % 2 == 0)
        rounds.append(r)
        _line(f"round {n + 1}", r)
    med = {
        key: statistics.median(r[key] for r in rounds)
        for key in (
            "open",
            "export",
            "fsync",
            "cpu",
            "rekey",
            "cp",
            "cp_db",
            "db_bytes",
            "ws_bytes",
        )
    }
    med["load"] = _load()
    _line("median", med)
    # cp of the same bytes, split by its place in the round (which alternates).
    first = [_cp_rate(r, r["cp_all_first"]) for r in rounds]
    second = [_cp_rate(r, not r["cp_all_first"]) for r in rounds]
    rekey_db = med["db_bytes"] / MB / med["rekey"]
    rekey_ws = med["ws_bytes"] / MB / med["rekey"]
    row(
        "rekey, median",
        f"{rekey_db:,.0f} MB/s of database, {rekey_ws:,.0f} MB/s of workspace"
        f" ({med['rekey']:.2f} s; CPU {med['cpu']:.1f} s)",
    )
    row(
        "cp + sync, first copy of its round",
        f"median {statistics.median(first):,.0f} MB/s (rekey of the database is"
        f" {statistics.median(first) / rekey_db:.1f}x slower)",
    )
    row(
        "cp + sync, second copy of its round",
        f"median {statistics.median(second):,.0f} MB/s (rekey of the database is"
        f" {statistics.median(second) / rekey_db:.1f}x slower)",
    )


def _cp_rate(r: dict[str, Any], of_folder: bool) -> float:
    """MB/s of `cp -r` of the folder (`of_folder`) or of `cp` of the database."""
    if of_folder:
        return float(r["ws_bytes"] / MB / r["cp"])
    return float(r["db_bytes"] / MB / r["cp_db"])


def main(argv: list[str] | None = None) -> int:
    """Print the machine, then the rekey and cp figures of both workspaces."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db-mb", type=int, default=2048, help="database of workspace (a)")
    parser.add_argument("--evidence-mb", type=int, default=2048, help="evidence of (b)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached workspaces")
    parser.add_argument("--only", choices=("database", "evidence"), default=None)
    args = parser.parse_args(argv)
    heading("Machine")
    for label, value in describe(OUT.parent):
        row(label, value)
    row("load average at start", _load())
    row("started", datetime.now(UTC).isoformat(timespec="seconds"))
    row("passphrase slot", "FAST_INSECURE_KDF (64 KiB, 1 pass): Argon2id is not in the figure")
    OUT.mkdir(exist_ok=True)
    if args.only in (None, "database"):
        source, manifest = cached(
            f"rekey-db-{args.db_mb}",
            {"version": VERSION, "db_mb": args.db_mb, "note_words": NOTE_WORDS},
            lambda folder: build_database_heavy(folder, args.db_mb, _log),
            args.fresh,
        )
        measure("(a) a workspace whose database is big", source, manifest, args.repeat)
    if args.only in (None, "evidence"):
        source, manifest = cached(
            f"rekey-evidence-{args.evidence_mb}",
            {"version": VERSION, "evidence_mb": args.evidence_mb},
            lambda folder: build_evidence_heavy(folder, args.evidence_mb, _log),
            args.fresh,
        )
        measure(
            "(b) a workspace that is mostly evidence (blobs/ is not rewritten by a rekey)",
            source,
            manifest,
            args.repeat,
        )
    row("load average at end", _load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
