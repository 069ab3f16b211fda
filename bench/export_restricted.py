"""Exporting a big case to a restricted (ngo) peer, which receives a projection.

    python -m bench.export_restricted [--items 10000] [--released 100] [--repeat 3]

Issue 11's second figure: an office holds a case with 10,000 evidence items, of which 100
are released to an NGO it has granted the case; the time `export_bundle` takes to write
the NGO's bundle (its projection: only the released items, signed by the office, with
their bytes), median of the rounds, with what the bundle carried and the load average.
Each round exports from a fresh copy of the office's workspace (an export records what it
sent), in a child process. The workspaces are generated once and cached under
bench/out/export-restricted-<items>-<released>/ (git-ignored).

It needs releases (`sync.releases`) and projections (`sync.projection`) from issue 11;
without them it says which are missing and measures nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.import_changesets import OUT, PASSPHRASE, run_child
from bench.machine import describe
from bench.stats import heading, median, row, secs

NEEDED = {
    "sync.releases": "releases (evidence release EV --to PEER)",
    "sync.projection": "projections for restricted peers",
}
GENERATOR = "1"  # raise when _child_generate changes what it writes
ITEM_BYTES = 4096


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message} (load {_load()})", file=sys.stderr, flush=True)


def missing() -> list[str]:
    """What this tree lacks for the figure, in words."""
    return [
        f"{name} ({what})"
        for name, what in NEEDED.items()
        if importlib.util.find_spec(name) is None
    ]


def _child_generate(spec: dict[str, Any]) -> dict[str, Any]:
    """The office (a case with `items` evidence items, `released` of them released to the
    NGO) and the NGO, knowing and having verified each other."""
    from storage import cases
    from storage.evidence import add_evidence
    from storage.keyfile import FAST_INSECURE_KDF
    from storage.workspace import create_workspace
    from sync import peers
    from sync.cards import parse_card
    from sync.releases import release_to

    office = create_workspace(
        Path(spec["office"]), "Bench office", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    ngo = create_workspace(Path(spec["ngo"]), "Bench NGO", PASSPHRASE, kdf=FAST_INSECURE_KDF)
    to_ngo = peers.add_peer(office, parse_card(peers.card_bytes(ngo)), "ngo")
    to_office = peers.add_peer(ngo, parse_card(peers.card_bytes(office)), "office")
    peers.verify_peer(office, to_ngo, ngo.fingerprint)
    peers.verify_peer(ngo, to_office, office.fingerprint)
    case_id = cases.add_case(office, "Bench case with many items", "restricted export")
    scratch = Path(spec["scratch"])
    scratch.mkdir(parents=True, exist_ok=True)
    evidence_ids = []
    for number in range(int(spec["items"])):
        file = scratch / f"item-{number:05d}.bin"
        file.write_bytes(os.urandom(ITEM_BYTES))
        evidence_ids.append(add_evidence(office, case_id, file))
        file.unlink()
    peers.share_case(office, case_id, to_ngo)  # a signed grant of the case, role ngo
    for evidence_id in evidence_ids[: int(spec["released"])]:
        release_to(office, evidence_id, to_ngo.peer_id)
    office.close()
    ngo.close()
    return {"case": case_id, "peer": to_ngo.peer_id}


def _child_export(spec: dict[str, Any]) -> dict[str, Any]:
    from storage.workspace import open_workspace
    from sync.export import export_bundle
    from sync.peers import get_peer

    ws = open_workspace(Path(spec["copy"]), PASSPHRASE)
    peer = get_peer(ws, spec["peer"])
    t0 = time.perf_counter()
    result = export_bundle(ws, [peer], Path(spec["stick"]))
    seconds = time.perf_counter() - t0
    ws.close()
    return {
        "seconds": seconds,
        "changesets": result.changesets,
        "bytes": result.bytes_written,
        "evidence_bytes": result.evidence_bytes,
        "load": _load(),
    }


CHILDREN = {"generate": _child_generate, "export": _child_export}


def _child(step: str, spec: dict[str, Any]) -> dict[str, Any]:
    return run_child(Path(__file__), step, spec)


def ensure_workspaces(items: int, released: int, fresh: bool) -> dict[str, Any]:
    """The cached office and NGO, generated when missing, stale or asked (--fresh)."""
    base = OUT / f"export-restricted-{items}-{released}"
    meta_path = base / "generated.json"
    if not fresh and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("generator") == GENERATOR:
            return dict(meta)
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    spec: dict[str, Any] = {
        "office": str(base / "office"),
        "ngo": str(base / "ngo"),
        "scratch": str(base / "scratch"),
        "items": items,
        "released": released,
    }
    _log(f"generating a case with {items:,} evidence items, {released} released (once)")
    t0 = time.perf_counter()
    spec.update(_child("generate", spec))
    spec["generation_s"] = time.perf_counter() - t0
    spec["generator"] = GENERATOR
    meta_path.write_text(json.dumps(spec))
    return spec


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) the office, export to the NGO in rounds, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.export_restricted", description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--released", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="generate the workspaces again")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](json.loads(args.child[1]))))
        return 0

    print(
        f"Valise: export to a restricted (ngo) peer of a case with {args.items:,} evidence"
        f" items, {args.released} released"
    )
    print(f"  command: python -m bench.export_restricted {' '.join(sys.argv[1:])}")
    OUT.mkdir(parents=True, exist_ok=True)
    for label, value in describe(OUT):
        row(label, value)
    row("load average at start (1, 5, 15 min)", _load())
    lacking = missing()
    if lacking:
        row("not measured: this tree lacks", "; ".join(lacking))
        return 0
    spec = ensure_workspaces(args.items, args.released, args.fresh)
    if "generation_s" in spec:
        row("generation (once, cached)", secs(spec["generation_s"]))
    base = Path(spec["office"]).parent
    rounds = []
    for number in range(1, args.repeat + 1):
        copy, stick = base / "run", base / "stick"
        for folder in (copy, stick):
            shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(spec["office"], copy)
        os.sync()
        _log(f"round {number}/{args.repeat}: export to the NGO")
        result = _child("export", dict(spec, copy=str(copy), stick=str(stick)))
        rounds.append(result)
        row(
            f"round {number}: export",
            secs(result["seconds"]),
            f"{result['changesets']:,} changesets, {result['bytes']:,} bytes;"
            f" load {result['load']}",
        )
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(stick, ignore_errors=True)
    heading(f"Median of {len(rounds)}")
    row("export to the NGO", secs(median([r["seconds"] for r in rounds])))
    last = rounds[-1]
    row("what it carried", f"{last['changesets']:,} changesets", f"{last['bytes']:,} bytes")
    row(
        "evidence bytes carried",
        f"{last['evidence_bytes']:,}",
        f"{args.released} released items of {ITEM_BYTES:,} bytes would be"
        f" {args.released * ITEM_BYTES:,}",
    )
    row("load average at end", _load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
