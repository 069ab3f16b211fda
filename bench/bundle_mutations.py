"""Mutation run over one small valid bundle: every damaged copy must be refused, none crash.

    python -m bench.bundle_mutations [--cases 100000] [--seed N]

Two scratch workspaces (a field office and a tribunal liaison, each the other's peer) are
made under a temporary folder with the fast, insecure test KDF. The office writes one small
bundle for the liaison (a case, a note, a 2 KiB evidence file). Then, case after case, one
file of that bundle (the head or its part) is damaged at random (a flipped byte, a
truncation, inserted random bytes, a duplicated range) and the liaison opens and stages it
(`open_head` + `stage`, which verify everything and apply nothing).

Figures, never pass/fail: cases run, how many were accepted (a damaged bundle that verified),
how many crashed (an exception other than a SyncError), the refusal reasons by count, and
cases per second. `tests/sync/test_hostile_bundles.py` runs the same loop at a small N and
asserts that nothing was accepted and nothing crashed.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from storage import cases, evidence
from storage.digest import state_digest
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace
from sync import peers
from sync.bundle_format import BUNDLE_FOLDER, HEAD_SUFFIX
from sync.cards import parse_card
from sync.errors import BundleParked, BundleRefused, NotForUs, OurOwn, SyncError
from sync.export import export_bundle
from sync.importer import open_head, stage

PASSPHRASE = "bench: mutations of a small bundle on a stick"  # noqa: S105
MUTATIONS = ("flip", "truncate", "insert", "duplicate")
EVIDENCE_BYTES = 2048
ACCEPTED = "accepted"
MAX_EXAMPLES = 10


@dataclass
class Tally:
    """What a mutation run found."""

    cases: int = 0
    accepted: int = 0
    crashes: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Cases per second."""
        return self.cases / self.seconds if self.seconds > 0 else 0.0


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random damage to `data` (never a no-op): its kind and the damaged bytes."""
    kind = rng.choice(MUTATIONS)
    if kind == "flip":
        out = bytearray(data)
        out[rng.randrange(len(data))] ^= rng.randrange(1, 256)
        return kind, bytes(out)
    if kind == "truncate":
        return kind, data[: rng.randrange(len(data))]
    at = rng.randrange(len(data) + 1)
    if kind == "insert":
        return kind, data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.randint(1, 256))
    return kind, data[:at] + data[start:end] + data[at:]


_OUTCOMES: tuple[tuple[type[SyncError], str], ...] = (
    (NotForUs, "not for us"),
    (BundleParked, "parked"),
    (OurOwn, "ours"),
)


def try_stage(ws: Workspace, head: Path) -> str:
    """Open and stage the bundle at `head` without applying it: `accepted`, or why it was
    not (a refusal's reason code, or the kind of SyncError). Any other exception escapes:
    that is a crash."""
    try:
        staged = stage(ws, open_head(ws, head))
    except BundleRefused as exc:
        return exc.reason
    except SyncError as exc:
        return next((name for kind, name in _OUTCOMES if isinstance(exc, kind)), "sync error")
    staged.discard(ws)
    return ACCEPTED


def run_mutations(
    ws: Workspace, bundle: Sequence[Path], cases: int, seed: int, scratch: Path
) -> Tally:
    """Stage `cases` damaged copies of the bundle whose files are `bundle` (head and parts)
    at `ws`, each with one file mutated; the copies live under `scratch`."""
    folder = scratch / BUNDLE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    originals = {path.name: path.read_bytes() for path in bundle}
    for name, data in originals.items():
        (folder / name).write_bytes(data)
    head = next(folder / name for name in originals if name.endswith(HEAD_SUFFIX))
    names = sorted(originals)
    rng = random.Random(seed)
    tally = Tally()
    started = time.perf_counter()
    for number in range(cases):
        name = rng.choice(names)
        kind, damaged = mutate(originals[name], rng)
        target = folder / name
        target.write_bytes(damaged)
        try:
            outcome = try_stage(ws, head)
        except Exception as exc:  # a crash is what this run counts
            tally.crashes += 1
            outcome = f"crash: {type(exc).__name__}"
            _keep_example(
                tally, scratch, number, name, kind, damaged, f"{type(exc).__name__}: {exc}"
            )
        else:
            if outcome == ACCEPTED:
                tally.accepted += 1
                _keep_example(tally, scratch, number, name, kind, damaged, "accepted")
        finally:
            target.write_bytes(originals[name])
        tally.cases += 1
        tally.reasons[outcome] += 1
        tally.by_mutation[kind] += 1
    tally.seconds = time.perf_counter() - started
    return tally


def _keep_example(
    tally: Tally, scratch: Path, number: int, name: str, kind: str, data: bytes, what: str
) -> None:
    """Note a bad case (and keep the damaged file beside the scratch copy) for a repro."""
    if len(tally.examples) >= MAX_EXAMPLES:
        return
    kept = scratch / "examples" / f"{number:06d}-{name}"
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(data)
    tally.examples.append(f"case {number}: {kind} of {name} -> {what} (kept as {kept})")


def blob_store_listing(ws: Workspace) -> dict[str, str]:
    """Every file under the evidence store with the SHA-256 of its bytes."""
    root = ws.paths.blobs
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def make_bundle(base: Path) -> tuple[Workspace, Workspace, list[Path]]:
    """Two workspaces that know each other, and one small bundle from the first to the
    second: a case, a note and a 2 KiB evidence file. Returns (sender, receiver, files)."""
    office = create_workspace(
        base / "office", "Kabora field office", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    office.set_meta("role", "office")
    liaison = create_workspace(
        base / "liaison", "Tribunal liaison", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    liaison.set_meta("role", "liaison")
    to_liaison = peers.add_peer(office, parse_card(peers.card_bytes(liaison)), "liaison")
    peers.verify_peer(office, to_liaison, liaison.fingerprint)
    to_office = peers.add_peer(liaison, parse_card(peers.card_bytes(office)), "office")
    peers.verify_peer(liaison, to_office, office.fingerprint)
    case_id = cases.add_case(office, "Shelling of the Varosa market", "Three witnesses")
    cases.add_note(office, case_id, "Witness W-1 seen at the market gate.")
    source = base / "photo.bin"
    source.write_bytes(random.Random(7).randbytes(EVIDENCE_BYTES))
    evidence.add_evidence(office, case_id, source)
    peer = peers.get_peer(office, liaison.origin)
    peers.share_case(office, case_id, peer)
    result = export_bundle(office, [peer], base / "stick")
    return office, liaison, result.files


def _print_tally(tally: Tally, seed: int, bundle: Sequence[Path]) -> None:
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    print(f"pyrage {metadata.version('pyrage')}, cryptography {metadata.version('cryptography')}")
    sizes = ", ".join(f"{p.name[-9:]} {p.stat().st_size:,} B" for p in bundle)
    print(f"bundle: {sizes}; seed {seed}")
    print(f"cases run        {tally.cases:>10,}")
    print(f"accepted         {tally.accepted:>10,}")
    print(f"crashes          {tally.crashes:>10,}")
    print(f"time             {tally.seconds:>10.1f} s")
    print(f"cases/s          {tally.rate:>10,.0f}")
    print("mutations:")
    for kind, count in tally.by_mutation.most_common():
        print(f"  {count:>10,}  {kind}")
    print("outcomes (refusal reason codes):")
    for reason, count in tally.reasons.most_common():
        print(f"  {count:>10,}  {reason}")
    for example in tally.examples:
        print(f"  ! {example}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mutation loop and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000, help="mutations to try")
    parser.add_argument("--seed", type=int, default=20_261_201, help="random seed")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="a new or empty folder to keep the workspaces and damaged files in (for repros)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="valise-mutations-") as temp:
        base = args.keep or Path(temp)
        base.mkdir(parents=True, exist_ok=True)
        office, liaison, bundle = make_bundle(base)
        try:
            digest = state_digest(liaison.conn)
            store = blob_store_listing(liaison)
            tally = run_mutations(liaison, bundle, args.cases, args.seed, base / "mutated")
            _print_tally(tally, args.seed, bundle)
            unchanged = state_digest(liaison.conn) == digest
            print(f"receiver's state digest unchanged: {'yes' if unchanged else 'NO'}")
            stray = sorted(set(blob_store_listing(liaison).items()) - set(store.items()))
            print(f"files added to or changed in the receiver's evidence store: {len(stray)}")
        finally:
            office.close()
            liaison.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
