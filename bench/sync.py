"""Bundle figures: export and import beside cp and age, memory, increments, 100k changesets.

    python -m bench.sync [--evidence-mb 1024] [--big-mb 2048] [--changesets 100000]

Every Valise step runs in its own child process (`--child STEP`) so its peak resident set
(VmHWM) is its own. Scratch workspaces use the fast test KDF: Argon2id's 64 MiB are not
bundle memory. Output goes under bench/out/sync (git-ignored) and is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.evidence import ensure_file, fsync_file, run_timed, warm
from bench.machine import describe
from bench.stats import heading, mbps, median, row, secs, verdict

OUT = Path(__file__).resolve().parent / "out" / "sync"
PASSPHRASE = "bench: scratch workspaces for bundles"  # noqa: S105
TARGET_RATIO = 0.5
TARGET_RSS_MB = 200
TARGET_IMPORT_S = 30.0


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# -- the child steps -----------------------------------------------------------------------


def _open(root: Path) -> Any:
    from storage.workspace import open_workspace

    return open_workspace(root, PASSPHRASE)


def _child_setup(spec: dict[str, Any]) -> dict[str, Any]:
    """Two workspaces that know each other; the sender holds one case with the file."""
    from storage import cases, evidence
    from storage.keyfile import FAST_INSECURE_KDF
    from storage.workspace import create_workspace
    from sync import peers
    from sync.cards import parse_card

    sender = create_workspace(
        Path(spec["sender"]), "Sender office", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    receiver = create_workspace(
        Path(spec["receiver"]), "Receiving liaison", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    to_receiver = peers.add_peer(sender, parse_card(peers.card_bytes(receiver)), "liaison")
    peers.verify_peer(sender, to_receiver, receiver.fingerprint)
    to_sender = peers.add_peer(receiver, parse_card(peers.card_bytes(sender)), "office")
    peers.verify_peer(receiver, to_sender, sender.fingerprint)
    case_id = cases.add_case(sender, "Bundle benchmark case", "one case")
    if spec.get("evidence"):
        evidence.add_evidence(sender, case_id, Path(spec["evidence"]))
    count = int(spec.get("changesets", 0))
    if count:
        from storage.workspace import Draft, new_id

        done = 0
        while done < count:
            with sender.transaction():
                for _ in range(min(2000, count - done)):
                    note = {"case_id": case_id, "text": f"note {done}", "class": "open"}
                    sender.commit(case_id, [Draft("note", new_id(), "create", note)])
                    done += 1
    peers.share_case(sender, case_id, to_receiver)
    out = {"peer": to_receiver.peer_id, "case": case_id}
    sender.close()
    receiver.close()
    return out


def _child_export(spec: dict[str, Any]) -> dict[str, Any]:
    from sync.export import export_bundle
    from sync.peers import get_peer

    ws = _open(Path(spec["sender"]))
    peer = get_peer(ws, spec["peer"])
    rss_before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    result = export_bundle(ws, [peer], Path(spec["stick"]))
    seconds = time.perf_counter() - t0
    ws.close()
    return {
        "seconds": seconds,
        "workers": result.workers,
        # The largest peak of any evidence worker (they have all exited by now).
        "worker_vmhwm_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "bytes": result.bytes_written,
        "evidence_bytes": result.evidence_bytes,
        "changesets": result.changesets,
        "parts": len(result.parts),
        "rss_before_kib": rss_before,
        "vmhwm_kib": _status_kib("VmHWM"),
    }


def _child_import(spec: dict[str, Any]) -> dict[str, Any]:
    from sync.importer import import_paths

    ws = _open(Path(spec["receiver"]))
    rss_before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    reports = import_paths(ws, [Path(spec["stick"])])
    seconds = time.perf_counter() - t0
    ws.close()
    report = reports[0]
    if report.status != "imported":
        raise RuntimeError(f"import: {report.status}: {report.message}")
    return {
        "seconds": seconds,
        "changesets": report.changesets,
        "evidence": report.evidence,
        "rss_before_kib": rss_before,
        "vmhwm_kib": _status_kib("VmHWM"),
    }


def _child_increment(spec: dict[str, Any]) -> dict[str, Any]:
    """After a full round trip (so the sender knows what the receiver holds), ten edits."""
    from storage import cases
    from sync.export import export_bundle
    from sync.importer import import_paths
    from sync.peers import get_peer, list_peers

    sender, receiver = _open(Path(spec["sender"])), _open(Path(spec["receiver"]))
    back = Path(spec["stick"]) / "back"
    export_bundle(receiver, list_peers(receiver), back)
    import_paths(sender, [back])
    for n in range(10):
        cases.update_case(sender, spec["case"], summary=f"edit number {n}")
    result = export_bundle(sender, [get_peer(sender, spec["peer"])], Path(spec["stick"]) / "ten")
    sender.close()
    receiver.close()
    return {"bytes": result.bytes_written, "changesets": result.changesets}


CHILDREN = {
    "setup": _child_setup,
    "export": _child_export,
    "import": _child_import,
    "increment": _child_increment,
}


def _child(step: str, spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.sync", "--child", step, json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the {step} child failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout))


# -- the runs ------------------------------------------------------------------------------


def _fresh(name: str) -> dict[str, Any]:
    base = OUT / name
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    return {
        "sender": str(base / "sender"),
        "receiver": str(base / "receiver"),
        "stick": str(base / "stick"),
    }


def _baselines(source: Path, work: Path) -> dict[str, float]:
    """One round of cp, age -r and age -d of the file, each also with an fsync of what it
    wrote added (Valise fsyncs every part; the tools do not)."""
    key = work / "age.key"
    if not key.exists():
        subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipient = next(
        line.split(": ", 1)[1]
        for line in key.read_text().splitlines()
        if line.startswith("# public key")
    )
    out, plain = work / "baseline.out", work / "plain.out"
    times = {"cp": run_timed(["cp", str(source), str(out)])}
    times["cp + fsync"] = times["cp"] + fsync_file(out)
    out.unlink()
    os.sync()
    times["age -r"] = run_timed(["age", "-r", recipient, "-o", str(out), str(source)])
    times["age -r + fsync"] = times["age -r"] + fsync_file(out)
    os.sync()
    times["age -d"] = run_timed(["age", "-d", "-i", str(key), "-o", str(plain), str(out)])
    times["age -d + fsync"] = times["age -d"] + fsync_file(plain)
    out.unlink()
    plain.unlink()
    return times


def bundle_throughput(source: Path, repeat: int, log: Any) -> dict[str, Any]:
    """Export and import of a bundle carrying `source`, beside cp and age of the same file,
    round-robin `repeat` times (a fresh pair of workspaces each round); best and median."""
    rounds: list[dict[str, Any]] = []
    ten: dict[str, Any] = {}
    for number in range(1, repeat + 1):
        spec = _fresh("throughput")
        spec["evidence"] = str(source)
        log(f"round {number}/{repeat}: two workspaces and the evidence (not timed)")
        spec.update(_child("setup", spec))
        os.sync()
        warm(source)
        log(f"round {number}/{repeat}: cp, age -r, age -d")
        timings = _baselines(source, OUT / "throughput")
        log(f"round {number}/{repeat}: export, import")
        os.sync()  # each step starts, as the tools did, with nothing left to write back
        exported = _child("export", spec)
        os.sync()
        imported = _child("import", spec)
        timings["Valise export"] = exported["seconds"]
        timings["Valise import"] = imported["seconds"]
        rounds.append({"timings": timings, "export": exported, "import": imported})
        if number == 1:
            log("ten edits after a round trip")
            ten = _child("increment", spec)
        shutil.rmtree(OUT / "throughput", ignore_errors=True)
    return {"rounds": rounds, "ten": ten}


def big_bundle_memory(source: Path, log: Any) -> dict[str, Any]:
    """Peak RSS exporting and importing a bundle of `source`'s size."""
    spec = _fresh("big")
    spec["evidence"] = str(source)
    log("setting up the big bundle (not timed)")
    spec.update(_child("setup", spec))
    log("export of the big bundle")
    exported = _child("export", spec)
    log("import of the big bundle")
    imported = _child("import", spec)
    shutil.rmtree(OUT / "big", ignore_errors=True)
    return {"export": exported, "import": imported}


def many_changesets(count: int, log: Any) -> dict[str, Any]:
    """Import time of a bundle of `count` changesets."""
    spec = _fresh("changesets")
    spec["changesets"] = count
    log(f"writing {count:,} changesets at the sender (not timed)")
    spec.update(_child("setup", spec))
    log("export")
    exported = _child("export", spec)
    log("import")
    os.sync()
    imported = _child("import", spec)
    shutil.rmtree(OUT / "changesets", ignore_errors=True)
    return {"export": exported, "import": imported}


def _export_peak(export: dict[str, Any]) -> int:
    """An upper bound on the memory of all export processes together (KiB): the main
    process's peak plus each worker at the largest worker's peak."""
    return int(export["vmhwm_kib"]) + int(export["workers"]) * int(export["worker_vmhwm_kib"])


def _mb(kib: int) -> str:
    return f"{kib * 1024 / 1e6:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    """Run everything and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__)
    parser.add_argument("--evidence-mb", type=int, default=1024)
    parser.add_argument("--big-mb", type=int, default=2048)
    parser.add_argument("--changesets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the 1 GB comparison")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](json.loads(args.child[1]))))
        return 0

    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    print("Valise bundle benchmarks")
    print(f"  command: python -m bench.sync {' '.join(sys.argv[1:])}")
    for label, value in describe(OUT.parent):
        row(label, value)
    OUT.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    row("load average at start (1, 5, 15 min)", ", ".join(f"{v:.2f}" for v in load))

    source = OUT.parent / f"evidence-{args.evidence_mb}MiB.bin"
    ensure_file(source, args.evidence_mb * 2**20, log)
    size = source.stat().st_size
    result = bundle_throughput(source, args.repeat, log)
    heading(
        f"A bundle carrying one {size / 1e6:,.0f} MB evidence file, best and median of"
        f" {args.repeat} rounds"
    )
    print(
        "  Each tool reads the same file from a warm page cache. Valise fsyncs every part and\n"
        "  the evidence it stores; cp and age do not, so each is also shown with an fsync of\n"
        "  its output added. Export = export_bundle (read the encrypted store, age-encrypt,\n"
        "  parts, signed head); import = import_paths (age-decrypt, verify, store encrypted,\n"
        "  apply). Each Valise step runs in its own process, after an os.sync() so that it\n"
        "  does not wait on the previous step's write-back; so does each tool."
    )
    names = list(result["rounds"][0]["timings"])
    best = {n: min(r["timings"][n] for r in result["rounds"]) for n in names}
    middle = {n: median([r["timings"][n] for r in result["rounds"]]) for n in names}
    print(f"  {'':<40}{'best':>12}{'median':>12}")
    for name in names:
        fast, typical = mbps(size, best[name]), mbps(size, middle[name])
        print(f"  {name:<40}{fast:>7,.0f} MB/s{typical:>7,.0f} MB/s")
    rate = {n: mbps(size, best[n]) for n in names}
    export_ratio = rate["Valise export"] / rate["age -r"]
    import_ratio = rate["Valise import"] / rate["age -d"]
    row(
        "export / age -r (best of each)",
        f"{export_ratio:.0%}",
        f"/ age -r + fsync: {rate['Valise export'] / rate['age -r + fsync']:.0%}",
    )
    row(
        "import / age -d (best of each)",
        f"{import_ratio:.0%}",
        f"/ age -d + fsync: {rate['Valise import'] / rate['age -d + fsync']:.0%};"
        f" / age -r: {rate['Valise import'] / rate['age -r']:.0%}",
    )
    row(
        "export / age -r, import / age -d (medians)",
        f"{middle['age -r'] / middle['Valise export']:.0%}",
        f"{middle['age -d'] / middle['Valise import']:.0%}",
    )
    peaks = [(_export_peak(r["export"]), r["import"]["vmhwm_kib"]) for r in result["rounds"]]
    row(
        "peak RSS: export (all processes) / import",
        f"{_mb(max(p[0] for p in peaks))} / {_mb(max(p[1] for p in peaks))}",
    )
    first = result["rounds"][0]["export"]
    row(
        "  export: main process + evidence workers",
        f"{_mb(first['vmhwm_kib'])} + {first['workers']} × ≤ {_mb(first['worker_vmhwm_kib'])}",
    )
    ten = result["ten"]
    row(
        "bundle after ten edits (after a round trip)",
        f"{ten['bytes']:,} bytes",
        f"{ten['changesets']} changesets",
    )

    big_source = OUT.parent / f"evidence-{args.big_mb}MiB.bin"
    ensure_file(big_source, args.big_mb * 2**20, log)
    big = big_bundle_memory(big_source, log)
    heading(f"Memory with a {big_source.stat().st_size / 1e6:,.0f} MB bundle")
    row(
        "export: RSS before / peak (VmHWM)",
        f"{_mb(big['export']['rss_before_kib'])} / {_mb(big['export']['vmhwm_kib'])}",
    )
    row(
        "export: evidence workers, each at most",
        f"{big['export']['workers']} × {_mb(big['export']['worker_vmhwm_kib'])}",
        f"all processes ≤ {_mb(_export_peak(big['export']))}",
    )
    row(
        "import: RSS before / peak (VmHWM)",
        f"{_mb(big['import']['rss_before_kib'])} / {_mb(big['import']['vmhwm_kib'])}",
    )
    row(
        "export / import time",
        f"{secs(big['export']['seconds'])} / {secs(big['import']['seconds'])}",
    )

    many = many_changesets(args.changesets, log)
    heading(f"A bundle of {args.changesets:,} changesets")
    row("export", secs(many["export"]["seconds"]), f"{many['export']['bytes']:,} bytes")
    row("import", secs(many["import"]["seconds"]), f"{many['import']['changesets']:,} applied")
    row(
        "import rate",
        f"{many['import']['changesets'] / many['import']['seconds']:,.0f} changesets/s",
    )
    row("import: peak RSS (VmHWM)", _mb(many["import"]["vmhwm_kib"]))

    heading("Targets from the issue")
    peak = max(_export_peak(big["export"]), big["import"]["vmhwm_kib"]) * 1024 / 1e6
    row(
        "export speed vs age -r",
        f"{export_ratio:.0%}",
        f"≥ 50%: {verdict(export_ratio >= TARGET_RATIO)}",
    )
    row(
        "import speed vs age -d",
        f"{import_ratio:.0%}",
        f"≥ 50%: {verdict(import_ratio >= TARGET_RATIO)}",
    )
    row(
        "peak RSS with the big bundle",
        f"{peak:,.1f} MB",
        f"≤ 200 MB: {verdict(peak <= TARGET_RSS_MB)}",
    )
    took = many["import"]["seconds"]
    row(
        f"import of {args.changesets:,} changesets",
        secs(took),
        f"≤ 30 s: {verdict(took <= TARGET_IMPORT_S)}",
    )
    row("load average at end", ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    row("wall time", secs(time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
