"""Build (once) and cache the big benchmark workspace, through the real write path.

Everything goes through `storage`'s public functions, so every record is a signed changeset
with its audit entry, search index row and field history, exactly as the application makes
them:

* cases: `cases.add_case`, one changeset (one op) per case;
* notes: `Workspace.commit` with the notes of one case grouped into changesets of at most
  NOTES_PER_CHANGESET ops (a case's notes are all about that case, as when an investigator
  types up an interview or a sync bundle brings a day's work);
* evidence: `evidence.add_evidence` on small generated files (1-64 KiB, random bytes), so
  the blob folder holds one real encrypted file per record, as unlock has to list them.

Changesets are grouped into transactions (`Workspace.transaction`) of about OPS_PER_TX ops so
generation does not wait for one fsync per changeset; the durable one-changeset-per-
transaction rate is measured separately on the finished workspace.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.corpus import Vocabulary
from storage import cases as case_api
from storage import evidence as evidence_api
from storage.entities import ACT_TYPES
from storage.keyfile import STANDARD_KDF
from storage.workspace import Draft, Workspace, create_workspace, new_id

GENERATOR_VERSION = 3
PASSPHRASE = "bench: amber lantern over the quiet harbour 2026"  # noqa: S105
FULL_CASES = 100_000
FULL_NOTES = 1_000_000
FULL_EVIDENCE = 10_000
NOTES_PER_CHANGESET = 25
OPS_PER_TX = 2_000
NOTE_WORDS = 40
SEED = 20261122

Log = Callable[[str], None]


def counts_for(scale: float) -> tuple[int, int, int]:
    """Cases, notes and evidence records at `scale` (1.0 = the issue's figures)."""
    return (
        max(1, round(FULL_CASES * scale)),
        max(1, round(FULL_NOTES * scale)),
        max(1, round(FULL_EVIDENCE * scale)),
    )


def folder_for(out: Path, scale: float) -> Path:
    return out / f"scale-{scale:g}"


def load_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete cached workspace, or None when it must be (re)built."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("generator_version") != GENERATOR_VERSION or not manifest.get("complete"):
        return None
    if not (folder / "workspace" / "workspace.db").exists():
        return None
    return dict(manifest)


class _Phase:
    """Progress and timing of one generation phase."""

    def __init__(self, name: str, total: int, log: Log) -> None:
        self.name, self.total, self.log = name, total, log
        self.start = time.perf_counter()
        self.done = 0
        self.write_seconds = 0.0  # inside the storage API (commit, transaction end)
        self.changesets = 0
        self.ops = 0
        self.next_report = 0.05
        self.slices: list[dict[str, float]] = []
        self._slice_start = self.start
        self._slice_ops = 0
        self._slice_cs = 0
        self._slice_write_mark = 0.0

    def step(self, records: int, changesets: int, ops: int) -> None:
        self.done += records
        self.changesets += changesets
        self.ops += ops
        self._slice_ops += ops
        self._slice_cs += changesets
        if self.done >= self.total * self.next_report or self.done >= self.total:
            now = time.perf_counter()
            span = max(now - self._slice_start, 1e-9)
            writing = max(self.write_seconds - self._slice_write_mark, 1e-9)
            self.slices.append(
                {
                    "upto": self.done,
                    "seconds": span,
                    "changesets_per_s": self._slice_cs / span,
                    "ops_per_s": self._slice_ops / span,
                    "write_ops_per_s": self._slice_ops / writing,
                }
            )
            self.log(
                f"  {self.name}: {self.done:,}/{self.total:,} ({self.done / self.total:.0%})"
                f" {now - self.start:7.1f} s, now {self._slice_ops / span:,.0f} ops/s"
                f" ({self._slice_ops / writing:,.0f} ops/s in the write path)"
            )
            self._slice_start, self._slice_ops, self._slice_cs = now, 0, 0
            self._slice_write_mark = self.write_seconds
            while self.next_report <= self.done / self.total:
                self.next_report += 0.05

    def result(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self.start
        return {
            "records": self.done,
            "changesets": self.changesets,
            "ops": self.ops,
            "seconds": seconds,
            "changesets_per_s": self.changesets / seconds if seconds else 0.0,
            "ops_per_s": self.ops / seconds if seconds else 0.0,
            "write_seconds": self.write_seconds,
            "write_ops_per_s": self.ops / self.write_seconds if self.write_seconds else 0.0,
            "write_changesets_per_s": (
                self.changesets / self.write_seconds if self.write_seconds else 0.0
            ),
            "slices": self.slices,
        }


def build(folder: Path, scale: float, log: Log) -> dict[str, Any]:
    """Generate the workspace in `folder/workspace` and write `folder/manifest.json`."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    n_cases, n_notes, n_evidence = counts_for(scale)
    vocab = Vocabulary.build(SEED)
    rng = random.Random(SEED + 1)
    log(
        f"generating {n_cases:,} cases, {n_notes:,} notes, {n_evidence:,} evidence records"
        f" in {folder} (this is done once per scale)"
    )
    started = time.perf_counter()
    wall_started = datetime.now(UTC)

    t0 = time.perf_counter()
    ws = create_workspace(
        folder / "workspace", "Bench Office", PASSPHRASE, office_code="BEN", kdf=STANDARD_KDF
    )
    create_seconds = time.perf_counter() - t0
    phases: dict[str, Any] = {}
    try:
        case_ids, phases["cases"] = _make_cases(ws, vocab, rng, n_cases, log)
        phases["notes"], grouping = _make_notes(ws, vocab, rng, case_ids, n_notes, log)
        phases["evidence"] = _make_evidence(ws, vocab, rng, case_ids, n_evidence, folder, log)
    finally:
        t0 = time.perf_counter()
        ws.close()
        close_seconds = time.perf_counter() - t0
    total = time.perf_counter() - started
    root = folder / "workspace"
    manifest: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "complete": True,
        "scale": scale,
        "seed": SEED,
        "built_at": wall_started.isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "counts": {"cases": n_cases, "notes": n_notes, "evidence": n_evidence},
        "note_grouping": grouping,
        "ops_per_transaction": OPS_PER_TX,
        "seconds": {
            "create_workspace": create_seconds,
            "close_and_checkpoint": close_seconds,
            "total": total,
        },
        "phases": phases,
        "database_bytes": (root / "workspace.db").stat().st_size,
        "blob_files": sum(1 for _ in _files(root / "blobs")),
        "blob_bytes": sum(p.stat().st_size for p in _files(root / "blobs")),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    log(f"generation done in {total:,.1f} s")
    return manifest


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _make_cases(
    ws: Workspace, vocab: Vocabulary, rng: random.Random, n_cases: int, log: Log
) -> tuple[list[str], dict[str, Any]]:
    phase = _Phase("cases", n_cases, log)
    case_ids: list[str] = []
    made = 0
    while made < n_cases:
        batch = min(OPS_PER_TX // 2, n_cases - made)
        made_up = [
            (
                vocab.case_title(),
                vocab.text(30),
                vocab.place(),
                ", ".join(rng.sample(ACT_TYPES[:-1], rng.randint(1, 3))),
                rng.choice(("", "national", "international", "universal")),
            )
            for _ in range(batch)
        ]
        t0 = time.perf_counter()
        with ws.transaction():
            for title, summary, place, categories, jurisdiction in made_up:
                case_ids.append(
                    case_api.add_case(
                        ws,
                        title,
                        summary,
                        location=place,
                        categories=categories,
                        jurisdiction=jurisdiction,
                    )
                )
        phase.write_seconds += time.perf_counter() - t0
        made += batch
        phase.step(batch, batch, batch)
    return case_ids, phase.result()


def _make_notes(
    ws: Workspace,
    vocab: Vocabulary,
    rng: random.Random,
    case_ids: list[str],
    n_notes: int,
    log: Log,
) -> tuple[dict[str, Any], dict[str, Any]]:
    # Some cases are far busier than others: per-case weights are log-normal.
    weights = [rng.lognormvariate(0, 1.0) for _ in case_ids]
    owners = rng.choices(range(len(case_ids)), weights=weights, k=n_notes)
    per_case = [0] * len(case_ids)
    for owner in owners:
        per_case[owner] += 1
    del owners
    phase = _Phase("notes", n_notes, log)
    sizes: list[int] = []
    pending_ops = 0
    pending_cs = 0
    pending_notes = 0

    def flush() -> None:
        nonlocal pending_ops, pending_cs, pending_notes
        phase.step(pending_notes, pending_cs, pending_ops)
        pending_ops = pending_cs = pending_notes = 0

    tx = ws.transaction()
    tx.__enter__()
    try:
        for case_id, count in zip(case_ids, per_case, strict=True):
            left = count
            while left:
                size = min(left, NOTES_PER_CHANGESET)
                drafts = [
                    Draft(
                        "note",
                        new_id(),
                        "create",
                        {
                            "case_id": case_id,
                            "text": vocab.text(NOTE_WORDS),
                            "class": rng.choices(("open", "protected", "privileged"), (8, 1, 1))[0],
                            "subject_id": "",
                        },
                    )
                    for _ in range(size)
                ]
                t0 = time.perf_counter()
                ws.commit(case_id, drafts)
                phase.write_seconds += time.perf_counter() - t0
                sizes.append(size)
                left -= size
                pending_ops += size
                pending_cs += 1
                pending_notes += size
                if pending_ops >= OPS_PER_TX:
                    t0 = time.perf_counter()
                    tx.__exit__(None, None, None)
                    phase.write_seconds += time.perf_counter() - t0
                    flush()
                    tx = ws.transaction()
                    tx.__enter__()
        t0 = time.perf_counter()
        tx.__exit__(None, None, None)
        phase.write_seconds += time.perf_counter() - t0
    except BaseException:
        tx.__exit__(*sys.exc_info())
        raise
    if pending_ops:
        flush()
    result = phase.result()
    sizes.sort()
    grouping = {
        "max_notes_per_changeset": NOTES_PER_CHANGESET,
        "changesets": len(sizes),
        "mean_ops": sum(sizes) / len(sizes) if sizes else 0,
        "median_ops": sizes[len(sizes) // 2] if sizes else 0,
        "cases_with_notes": sum(1 for c in per_case if c),
        "max_notes_in_a_case": max(per_case, default=0),
        "single_op_changesets": sum(1 for s in sizes if s == 1),
    }
    return result, grouping


_EVIDENCE_NAMES = (
    ("IMG_{date}_{n:04d}.jpg", 0.35),
    ("VID_{date}_{n:04d}.mp4", 0.1),
    ("statement_{surname}_{n}.pdf", 0.25),
    ("audio_{place}_{n:02d}.m4a", 0.1),
    ("report_{place}_{date}.docx", 0.1),
    ("capture_{n:05d}.html", 0.1),
)


def _make_evidence(
    ws: Workspace,
    vocab: Vocabulary,
    rng: random.Random,
    case_ids: list[str],
    n_evidence: int,
    folder: Path,
    log: Log,
) -> dict[str, Any]:
    phase = _Phase("evidence", n_evidence, log)
    staging = folder / "evidence-sources"
    staging.mkdir()
    patterns = [p for p, _ in _EVIDENCE_NAMES]
    shares = [s for _, s in _EVIDENCE_NAMES]
    total_bytes = 0
    made = 0
    while made < n_evidence:
        batch = min(200, n_evidence - made)
        with ws.transaction():
            for i in range(batch):
                name = rng.choices(patterns, shares)[0].format(
                    date=f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
                    n=made + i,
                    surname=vocab.rng.choice(vocab.last).lower(),
                    place=vocab.place().lower(),
                )
                source = staging / name
                size = rng.randint(1, 64) * 1024 - rng.randint(0, 1000)
                source.write_bytes(os.urandom(size))
                total_bytes += size
                description, person = vocab.text(15), vocab.name()
                t0 = time.perf_counter()
                evidence_api.add_evidence(
                    ws, rng.choice(case_ids), source, description=description, source=person
                )
                phase.write_seconds += time.perf_counter() - t0
                source.unlink()
            t0 = time.perf_counter()
        phase.write_seconds += time.perf_counter() - t0  # the transaction's COMMIT
        made += batch
        phase.step(batch, batch, 2 * batch)  # evidence + "collected" custody event
    staging.rmdir()
    result = phase.result()
    result["source_bytes"] = total_bytes
    return result
