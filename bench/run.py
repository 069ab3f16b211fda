"""Valise benchmarks: `python -m bench.run [--scale 0.01] [--fresh] [--evidence-mb N] ...`

Prints figures (never pass/fail): workspace generation, unlock, signed write throughput,
case list, search latency, evidence import/export beside cp, sha256sum and age, and peak
memory of the import. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import evidence as evidence_bench
from bench import generate, measure
from bench.corpus import Vocabulary
from bench.machine import describe
from bench.stats import heading, mbps, median, ms, row, secs, verdict
from storage.workspace import open_workspace

SECTIONS = ("unlock", "write", "search", "evidence")
TARGET_UNLOCK_S = 1.0
TARGET_SEARCH_P95_S = 0.050
TARGET_IMPORT_VS_AGE = 0.5
TARGET_RSS_MB = 150


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of 100,000 cases / 1,000,000 notes / 10,000 evidence (default 1)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="regenerate the cached workspace and test file"
    )
    parser.add_argument(
        "--evidence-mb",
        type=int,
        default=1024,
        help="size of the evidence test file in MiB (default 1024 = 1 GiB)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the file tools (3)")
    parser.add_argument("--unlock-runs", type=int, default=5, help="unlocks to time (5)")
    parser.add_argument("--queries", type=int, default=200, help="search queries (200)")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip running the search queries through the baseline (slow) search as well",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run, of {', '.join(SECTIONS)} (default all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "out",
        help="cache folder (default bench/out)",
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    if args.scale <= 0 or args.evidence_mb <= 0 or args.repeat <= 0:
        parser.error("--scale, --evidence-mb and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print("Valise benchmarks")
    print(
        f"  run at {datetime.now(UTC).isoformat(timespec='seconds')}, command:"
        f" python -m bench.run {' '.join(sys.argv[1:] if argv is None else argv)}"
    )
    heading("Machine")
    for label, value in describe(args.out):
        row(label, value)
    row("load average at start (1, 5, 15 min)", _load())
    summary: list[tuple[str, str, str, str]] = []

    needs_workspace = any(s in args.sections for s in ("unlock", "write", "search"))
    folder = generate.folder_for(args.out, args.scale)
    manifest = None
    if needs_workspace:
        manifest = generate.load_manifest(folder)
        if manifest is None or args.fresh:
            manifest = generate.build(folder, args.scale, log)
            built_now = True
        else:
            built_now = False
            log(f"using the cached workspace in {folder} (--fresh to rebuild)")
        print_generation(manifest, built_now)
    root = folder / "workspace"
    vocab = Vocabulary.build(generate.SEED)

    if "unlock" in args.sections:
        log("unlock")
        summary.append(section_unlock(root, args.unlock_runs))
    if "write" in args.sections or "search" in args.sections:
        ws = open_workspace(root, generate.PASSPHRASE)
        try:
            print_contents(ws, folder)
            if "write" in args.sections:
                log("writes")
                section_writes(ws, vocab)
            if "search" in args.sections:
                log("search")
                summary.append(section_search(ws, vocab, args.queries, not args.no_baseline))
        finally:
            ws.close()
    if "evidence" in args.sections:
        log("evidence")
        summary.extend(section_evidence(args))

    heading("Targets from the issue")
    for label, figure, target, result in summary:
        row(label, figure, f"target {target}: {result}")
    print()
    row("load average at end (1, 5, 15 min)", _load())
    row("benchmark wall time", secs(time.perf_counter() - started))
    return 0


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


# -- generation ----------------------------------------------------------------------------


def print_generation(manifest: dict[str, Any], built_now: bool) -> None:
    counts = manifest["counts"]
    heading(
        f"Generated workspace (scale {manifest['scale']:g}: {counts['cases']:,} cases,"
        f" {counts['notes']:,} notes, {counts['evidence']:,} evidence records)"
    )
    when = "now" if built_now else f"at {manifest['built_at']} (cached; --fresh to rebuild)"
    row("generated", when)
    grouping = manifest["note_grouping"]
    print(
        "  Everything is written through the signed path. Cases: add_case, one changeset\n"
        "  each. Notes: Workspace.commit, the notes of one case grouped into changesets of\n"
        f"  at most {grouping['max_notes_per_changeset']} notes"
        f" ({grouping['changesets']:,} changesets, mean {grouping['mean_ops']:.1f},"
        f" median {grouping['median_ops']} notes; busiest case\n"
        f"  {grouping['max_notes_in_a_case']:,} notes). Evidence: add_evidence of small"
        " random files (1-64 KiB). Changesets are\n"
        f"  grouped into transactions of about {manifest['ops_per_transaction']:,} ops."
    )
    seconds = manifest["seconds"]
    row("total generation time", secs(seconds["total"]))
    row("  create workspace (Argon2id + schema)", secs(seconds["create_workspace"]))
    for name, phase in manifest["phases"].items():
        row(
            f"  {name}: {phase['records']:,} records, {phase['changesets']:,} changesets",
            secs(phase["seconds"]),
            f"{phase['changesets_per_s']:,.0f} changesets/s, {phase['ops_per_s']:,.0f} ops/s",
        )
        row(
            "    time inside storage calls (text generation excluded)",
            secs(phase["write_seconds"]),
            f"{phase['write_changesets_per_s']:,.0f} changesets/s,"
            f" {phase['write_ops_per_s']:,.0f} ops/s",
        )
        slices = phase["slices"]
        if len(slices) >= 4:
            picks = [slices[0], slices[len(slices) // 2], slices[-1]]
            trend = ", ".join(f"{s['write_ops_per_s']:,.0f} at {s['upto']:,}" for s in picks)
            row("    write-path ops/s as the workspace grows", trend)
    row("  close (audit anchor + WAL checkpoint)", secs(seconds["close_and_checkpoint"]))
    row("database size after generation", f"{manifest['database_bytes'] / 1e6:,.0f} MB")
    row(
        "evidence store",
        f"{manifest['blob_files']:,} files, {manifest['blob_bytes'] / 1e6:,.0f} MB",
    )


def print_contents(ws: Any, folder: Path) -> None:
    counts = {
        table: ws.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("cases", "notes", "evidence", "changesets", "audit", "search_docs")
    }
    db = ws.paths.database.stat().st_size
    row(
        "workspace now holds",
        f"{counts['cases']:,} cases, {counts['notes']:,} notes, {counts['evidence']:,} evidence,",
    )
    row(
        "",
        f"{counts['changesets']:,} changesets, {counts['audit']:,} audit entries,"
        f" {counts['search_docs']:,} indexed records; database {db / 1e6:,.0f} MB",
    )
    per_run = sum(c * n for _, c, n, kind, _ in measure.WRITE_SCENARIOS if kind == "note")
    row("", f"(each run's write test adds {per_run:,} notes to the cached workspace)")


# -- unlock --------------------------------------------------------------------------------


def section_unlock(root: Path, runs: int) -> tuple[str, str, str, str]:
    result = measure.measure_unlock(root, generate.PASSPHRASE, runs)
    kdf = result["kdf"]
    heading(
        f"Unlock: open_workspace on the big workspace (Argon2id {kdf.memory_kib // 1024} MiB,"
        f" t={kdf.iterations}, p={kdf.lanes})"
    )
    row("runs", ", ".join(f"{t:.3f}" for t in result["runs"]) + " s")
    row(f"median of {runs}", secs(result["median"]))
    row("  of which Argon2id key derivation (median, alone)", secs(result["kdf_median"]))
    row(
        "  of which database open + key check + pragmas (median, alone)",
        secs(result["db_open_median"]),
    )
    rest = result["median"] - result["kdf_median"] - result["db_open_median"]
    row(
        "  rest: schema check, identity, housekeeping (difference)",
        secs(max(rest, 0.0)),
        f"(lists {result['blob_files']:,} evidence files for orphans)",
    )
    row("lock (close: audit anchor + WAL checkpoint), median", secs(result["close_median"]))
    return (
        "unlock, median",
        secs(result["median"]),
        f"≤ {TARGET_UNLOCK_S:g} s",
        verdict(result["median"] <= TARGET_UNLOCK_S),
    )


# -- writes --------------------------------------------------------------------------------


def section_writes(ws: Any, vocab: Vocabulary) -> None:
    heading("Changeset write throughput through Workspace.commit (signing included)")
    print(
        "  Each changeset is stamped, signed (Ed25519), applied, indexed for search and\n"
        "  audited. Notes are ~40-word texts; changesets go to random cases. 'one\n"
        "  transaction each' is how the application saves an edit (synchronous=FULL: one\n"
        "  WAL fsync per changeset); 'in one transaction' is a bulk import."
    )
    for r in measure.measure_writes(ws, vocab, seed=generate.SEED + 7):
        row(
            f"{r['label']} ({r['changesets']:,} changesets)",
            f"{r['changesets_per_s']:,.0f} changesets/s, {r['ops_per_s']:,.0f} ops/s",
        )
        row(
            "  time in Workspace.commit / in the SQL COMMIT",
            f"{r['commit_seconds'] / r['changesets'] * 1000:.2f} ms /"
            f" {r['sql_commit_seconds'] / r['changesets'] * 1000:.2f} ms per changeset",
        )
    heading("Case list (what the main window shows first)")
    listed = measure.measure_case_list(ws.conn)
    row("count of open cases (median of 5)", ms(listed["count_median"]))
    row("first page: 200 cases by last update (median of 5)", ms(listed["page_median"]))


# -- search --------------------------------------------------------------------------------


def section_search(
    ws: Any, vocab: Vocabulary, count: int, baseline: bool
) -> tuple[str, str, str, str]:
    result = measure.measure_search(
        ws.conn, vocab, count, seed=generate.SEED + 11, baseline=baseline
    )
    items = result["queries"]
    heading(f"Search: storage.search(conn, text, limit=20) over {len(items)} queries")
    print(
        "  Queries are drawn from the generated vocabulary: common and mid-frequency domain\n"
        "  words, rare words, person names, places, two-word mixes and short phrases with\n"
        "  'of the'/'in the'. One pass on a freshly unlocked workspace after 10 warm-up\n"
        "  queries. 'matches' = records holding every word of the query as a whole word."
    )
    overall = measure.summarize([q["seconds"] for q in items])
    row("p50", ms(overall["p50"]))
    row("p95", ms(overall["p95"]))
    row("p99 / max", f"{ms(overall['p99'])} / {ms(overall['max'])}")
    print()
    print(f"  {'category':<14}{'n':>4}{'p50':>10}{'p95':>10}{'max':>10}   matches (median)")
    for category in dict.fromkeys(q["category"] for q in items):
        group = [q for q in items if q["category"] == category]
        s = measure.summarize([q["seconds"] for q in group])
        matches = median([q["matches"] for q in group])
        print(
            f"  {category:<14}{len(group):>4}{s['p50'] * 1000:>8.1f}ms{s['p95'] * 1000:>8.1f}ms"
            f"{s['max'] * 1000:>8.1f}ms   {matches:,.0f}"
        )
    print()
    print("  slowest 10 queries (first pass; 'again' = second pass)")
    header = f"  {'query':<34}{'matches':>9}{'first':>10}{'again':>10}"
    print(header + (f"{'baseline':>11}" if baseline else ""))
    for q in sorted(items, key=lambda q: -q["seconds"])[:10]:
        line = (
            f"  {q['text'][:33]:<34}{q['matches']:>9,}{q['seconds'] * 1000:>8.1f}ms"
            f"{q['again'] * 1000:>8.1f}ms"
        )
        print(line + (f"{q['baseline'] * 1000:>9.1f}ms" if baseline else ""))
    heading("Search: second pass of the same queries, and the baseline after it")
    print(
        "  baseline = storage.search as first benchmarked (commit 8ce2ab0): every word a\n"
        '  prefix term ("word"*), every match ranked by bm25 (bench/measure.py).\n'
        "  --no-baseline skips it (it takes minutes at full scale)."
    )
    again = measure.summarize([q["again"] for q in items])
    row("storage.search", f"p50 {ms(again['p50'])}, p95 {ms(again['p95'])}, max {ms(again['max'])}")
    if baseline:
        base = measure.summarize([q["baseline"] for q in items])
        row("baseline", f"p50 {ms(base['p50'])}, p95 {ms(base['p95'])}, max {ms(base['max'])}")
    slow = [q for q in items if q["seconds"] > TARGET_SEARCH_P95_S]
    if slow:
        print()
        print(f"  {len(slow)} queries took longer than 50 ms in the first pass:")
        for category in dict.fromkeys(q["category"] for q in slow):
            group = [q for q in slow if q["category"] == category]
            examples = ", ".join(repr(q["text"]) for q in group[:3])
            print(f"    {category}: {len(group)} (e.g. {examples})")
    return (
        f"search p95 over {len(items)} queries",
        ms(overall["p95"]),
        "≤ 50 ms",
        verdict(overall["p95"] <= TARGET_SEARCH_P95_S),
    )


# -- evidence ------------------------------------------------------------------------------


def section_evidence(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    size = args.evidence_mb << 20
    source = args.out / f"evidence-{args.evidence_mb}MiB.bin"
    if args.fresh and source.exists():
        source.unlink()
    write_seconds = evidence_bench.ensure_file(source, size, log)
    work = args.out / "evidence-work"
    shutil.rmtree(work, ignore_errors=True)
    result = evidence_bench.measure(source, work, args.repeat, log)
    shutil.rmtree(work, ignore_errors=True)
    heading(
        f"Evidence: one {size / 2**20:,.0f} MiB file ({size:,} bytes of random data),"
        f" best and median of {args.repeat} rounds"
    )
    print(
        "  MB/s = 10^6 bytes per second. Every tool reads the same file from a warm page\n"
        "  cache and writes beside it. Valise fsyncs what it writes; cp and age do not, so\n"
        "  each is also shown with an fsync of its output added. Valise import = add_evidence\n"
        "  (SHA-256 + AES-256-GCM 1 MiB chunks + fsync + rename + signed changeset) in a child\n"
        "  process; export = export_evidence (decrypt + verify SHA-256 + fsync + custody)."
    )
    if write_seconds:
        row("writing the test file (once)", secs(write_seconds))
    row("warming the page cache (one read)", secs(result["warm_seconds"]))
    tools = result["tools"]
    imports = [r["import"] for r in result["valise"]]
    exports = [r["export"] for r in result["valise"]]
    entries = [
        ("cp", tools["cp"]),
        ("cp + fsync of the copy", tools["cp_fsync"]),
        ("sha256sum", tools["sha256sum"]),
        ("age -r (encrypt, fresh age-keygen key)", tools["age_encrypt"]),
        ("age -r + fsync", tools["age_encrypt_fsync"]),
        ("age -d (decrypt)", tools["age_decrypt"]),
        ("age -d + fsync", tools["age_decrypt_fsync"]),
        ("Valise import (add_evidence)", _times([r["seconds"] for r in imports])),
        (
            "  its read/hash/encrypt/write loop, before fsync",
            _times([r["loop_seconds"] for r in imports]),
        ),
        ("Valise export (export_evidence)", _times([r["seconds"] for r in exports])),
        (
            "  its decrypt/hash/write loop, before fsync",
            _times([r["loop_seconds"] for r in exports]),
        ),
    ]
    print(f"  {'':<48}{'best':>12}{'median':>12}{'best time':>12}")
    for label, t in entries:
        print(
            f"  {label:<48}{mbps(size, t['best']):>8,.0f} MB/s{mbps(size, t['median']):>7,.0f} MB/s"
            f"{t['best']:>10.3f} s"
        )
    import_best = min(r["seconds"] for r in imports)
    export_best = min(r["seconds"] for r in exports)
    ratio = tools["age_encrypt"]["best"] / import_best
    ratio_sync = tools["age_encrypt_fsync"]["best"] / import_best
    row(
        "import speed / age -r speed (best of each)",
        f"{ratio:.0%}",
        f"(/ age -r + fsync: {ratio_sync:.0%})",
    )
    row(
        "export speed / age -d speed (best of each)",
        f"{tools['age_decrypt']['best'] / export_best:.0%}",
        f"(/ age -d + fsync: {tools['age_decrypt_fsync']['best'] / export_best:.0%})",
    )
    print()
    print()
    print("  Memory of the child processes (MB = 10^6 bytes). VmHWM is the peak resident set of")
    print("  the child since it started Python; wait4's ru_maxrss also counts the parent's size")
    print("  at fork (Linux keeps the pre-exec high-water mark), so it is shown for reference.")
    peak_import = max(r["vm_hwm_kib"] for r in imports) * 1024 / 1e6
    peak_export = max(r["vm_hwm_kib"] for r in exports) * 1024 / 1e6
    row(
        "import: RSS just before add_evidence (median)",
        f"{median([r['rss_before_kib'] for r in imports]) * 1024 / 1e6:.1f} MB",
    )
    row(
        "import: peak RSS, VmHWM (worst round)",
        f"{peak_import:.1f} MB",
        f"ru_maxrss {max(r['ru_maxrss_kib'] for r in imports) * 1024 / 1e6:.1f} MB",
    )
    row(
        "export: RSS just before export_evidence (median)",
        f"{median([r['rss_before_kib'] for r in exports]) * 1024 / 1e6:.1f} MB",
    )
    row(
        "export: peak RSS, VmHWM (worst round)",
        f"{peak_export:.1f} MB",
        f"ru_maxrss {max(r['ru_maxrss_kib'] for r in exports) * 1024 / 1e6:.1f} MB",
    )
    row(
        "this benchmark process, for comparison: VmRSS now",
        f"{evidence_bench.status_kib('VmRSS') * 1024 / 1e6:.1f} MB",
    )
    return [
        (
            "evidence import speed vs age -r",
            f"{ratio:.0%} ({mbps(size, import_best):,.0f} vs"
            f" {mbps(size, tools['age_encrypt']['best']):,.0f} MB/s)",
            f"≥ {TARGET_IMPORT_VS_AGE:.0%}",
            verdict(ratio >= TARGET_IMPORT_VS_AGE),
        ),
        (
            "peak RSS during import",
            f"{peak_import:.1f} MB",
            f"≤ {TARGET_RSS_MB} MB",
            verdict(peak_import <= TARGET_RSS_MB),
        ),
    ]


def _times(values: list[float]) -> dict[str, float]:
    return {"best": min(values), "median": median(values)}


if __name__ == "__main__":
    sys.exit(main())
