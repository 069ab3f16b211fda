"""Evidence in and out: streamed ingest with hashing and encryption, custody, export, verify.

Bytes of evidence never reach the disk in clear inside the workspace and are never held
whole in memory. Adding an item: the file is streamed through SHA-256 and AES-GCM into a
temporary encrypted file (long work, outside any transaction), then one transaction stores
the blob row (or finds the same content already stored, and drops the new copy), the
register row and the first custody event. The row is the commit point: a crash before it
leaves an orphan file that the next unlock removes.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage import queries, roles
from storage.atomic import WholeNewFile
from storage.blobs import Cancelled, Progress
from storage.entities import RELEASE_EVENTS
from storage.errors import EvidenceFileError, IntegrityError, InvalidInput
from storage.paths import display_name, original_file_name
from storage.records import Case, CaseId, CustodyEvent, CustodyEventId, Evidence, EvidenceId
from storage.workspace import Draft, Workspace, new_id

__all__ = ["Cancelled", "VerifyResult", "add_custody", "add_evidence", "export_evidence"]


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of re-hashing one stored item."""

    evidence_id: str
    ern: str
    expected: str
    seen: str
    ok: bool
    problem: str = ""


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _guess_type(media_type: str) -> str:
    major = media_type.split("/")[0]
    return {"image": "photo", "video": "video", "audio": "audio"}.get(major, "document")


def next_ern(ws: Workspace, case_id: CaseId) -> str:
    """Evidence registration number: SITUATION-OFFICE-NNNN-NNNN (batch, item)."""
    prefix = "-".join(p for p in (ws.meta("situation", ""), ws.office_code) if p) + "-"
    item = ws.next_counter("ern", above=_highest_item(ws, prefix))
    batch, number = divmod(item - 1, 9999)
    return f"{prefix}{batch + 1:04d}-{number + 1:04d}"


def _highest_item(ws: Workspace, prefix: str) -> int:
    """The highest item number of an ERN known here (batch-item after `prefix`), so a
    workspace restored from a backup never registers a number a second time."""
    series = queries.highest_series(ws.conn, "evidence", "ern", prefix)
    if series is None:
        return 0
    batch = int(series[len(prefix) : -1])
    number = queries.highest_number(ws.conn, "evidence", "ern", series)
    return max(0, (batch - 1) * 9999 + min(number, 9999))


def add_evidence(
    ws: Workspace,
    case: str,
    file: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    **fields: Any,
) -> EvidenceId:
    """Stream `file` into the encrypted store and register it in `case`."""
    case_id = CaseId(queries.resolve(ws.conn, Case, case))
    if not roles.permitted(ws, roles.RECORD):  # refused before the file is read, not after
        adding = [Draft("evidence", "", "create")]
        roles.require(ws, roles.RECORD, roles.recording_words(ws.conn, case_id, adding))
    staged = ws.blobs.stage(file, progress, cancel)
    if cancel is not None and cancel.is_set():
        ws.blobs.discard(staged)
        raise Cancelled()
    evidence_id = EvidenceId(new_id())
    name = display_name(file)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    committed_name: str | None = None
    try:
        with ws.transaction() as conn:
            stored = conn.execute(
                "SELECT store_name FROM blobs WHERE sha256 = ?", (staged.sha256,)
            ).fetchone()
            if stored:
                ws.blobs.discard(staged)
            else:
                committed_name = ws.blobs.commit(staged)
                conn.execute(
                    "INSERT INTO blobs(sha256, size, store_name, blob_key, stored_at)"
                    " VALUES (?,?,?,?,?)",
                    (staged.sha256, staged.size, committed_name, staged.key, _utc_now()),
                )
            values: dict[str, Any] = {
                "case_id": case_id,
                "ern": next_ern(ws, case_id),
                "title": name,
                "type": _guess_type(media_type),
                "original_name": name,
                "media_type": media_type,
                "size": staged.size,
                "sha256": staged.sha256,
                "collected_at": _utc_now(),
                "collected_by": ws.author,
                "current_holder": ws.office_name,
            }
            values.update({k: v for k, v in fields.items() if v is not None})
            collected = {
                "case_id": case_id,
                "evidence_id": evidence_id,
                "event": "collected",
                "at": values["collected_at"],
                "actor": ws.author,
                "office": ws.office_name,
                "to_holder": ws.office_name,
                "medium": "in office",
                "hash_seen": staged.sha256,
                "result": "ingested and hashed",
            }
            ws.commit(
                case_id,
                [
                    Draft("evidence", evidence_id, "create", values),
                    Draft("custody", new_id(), "create", collected),
                ],
                audit_action="evidence added",
                audit_detail={"sha256": staged.sha256, "size": staged.size},
            )
    except BaseException:
        ws.blobs.discard(staged)
        if committed_name:
            with contextlib.suppress(FileNotFoundError):
                ws.blobs.path_of(committed_name).unlink()
        raise
    return evidence_id


def _blob_for(ws: Workspace, item: Evidence) -> tuple[str, bytes]:
    row = ws.conn.execute(
        "SELECT store_name, blob_key FROM blobs WHERE sha256 = ?", (item.sha256,)
    ).fetchone()
    if row is None:
        raise IntegrityError(f"The stored file of {item.ern} is missing from the store.")
    return str(row[0]), bytes(row[1])


def read_evidence(ws: Workspace, evidence: str, *, purpose: str = "viewed") -> Iterator[bytes]:
    """Stream an item's plaintext from memory (for previews); the read is audited."""
    item = queries.get(ws.conn, Evidence, evidence)
    name, key = _blob_for(ws, item)
    ws.record(f"evidence {purpose}", item.case_id, {"evidence": item.id, "ern": item.ern})
    return ws.blobs.read(name, key)


def copy_name(item: Evidence) -> str:
    """The name a plain copy takes in a folder: the original file name, byte for byte
    (in Python's form for paths), or the ERN when the stored name is not a plain name."""
    return original_file_name(item.original_name) or item.ern


def export_evidence(
    ws: Workspace,
    evidence: str,
    out: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Evidence:
    """Write a verified plaintext copy to `out` (an explicit, audited export). The copy
    appears under its name only when whole and its SHA-256 matches (`WholeNewFile`): a
    kill, a cancel or a mismatch leaves nothing readable behind, and an existing file is
    never replaced."""
    item = queries.get(ws.conn, Evidence, evidence)
    if out.is_dir():
        out = out / copy_name(item)
    if out.exists() or out.is_symlink():
        raise InvalidInput(f"{out} already exists; choose another name.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist.")
    name, key = _blob_for(ws, item)
    digest = hashlib.sha256()
    done = 0
    try:
        with WholeNewFile(out, ws.paths.pending_copies) as copy:
            for chunk in ws.blobs.read(name, key):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                digest.update(chunk)
                copy.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, item.size)
            if digest.hexdigest() != item.sha256:
                raise IntegrityError(
                    f"{item.ern} does not match its recorded SHA-256, so no copy was written."
                    " Run `valise evidence verify` and compare the workspace with a backup."
                )
            copy.publish()
    except FileExistsError:
        raise InvalidInput(
            f"{out} appeared while the copy was being written; nothing was replaced. Choose"
            " another name."
        ) from None
    except OSError as exc:
        raise EvidenceFileError(f"Could not write {out}: {exc.strerror}") from None
    add_custody(
        ws,
        item.id,
        "exported",
        note=f"plain copy written to {display_name(out)}",
        hash_seen=digest.hexdigest(),
        hash_expected=item.sha256,
        result="match",
        from_holder=ws.office_name,
        audit_action="evidence exported",
    )
    return item


def add_custody(
    ws: Workspace,
    evidence: str,
    event: str,
    *,
    at: str | None = None,
    audit_action: str = "custody event",
    **fields: Any,
) -> CustodyEventId:
    """Append a custody event (who, when, where, from, to, and the hash seen). A release
    is recorded only by releasing (storage.releases), never as a bare custody event."""
    if event in RELEASE_EVENTS:
        raise InvalidInput(
            f"A {event!r} event is recorded by releasing the item (`valise evidence release`"
            " or Release… in the Evidence tab), not by hand."
        )
    item = queries.get(ws.conn, Evidence, evidence)
    event_id = CustodyEventId(new_id())
    values = {
        "case_id": item.case_id,
        "evidence_id": item.id,
        "event": event,
        "at": at or _utc_now(),
        "actor": ws.author,
        "office": ws.office_name,
    }
    values.update({k: v for k, v in fields.items() if v is not None})
    ws.commit(
        item.case_id, [Draft("custody", event_id, "create", values)], audit_action=audit_action
    )
    return event_id


def custody(ws: Workspace, evidence: str) -> list[CustodyEvent]:
    """An item's chain of custody."""
    item = queries.get(ws.conn, Evidence, evidence)
    return queries.custody_of(ws.conn, item.id)


def verify_all(
    ws: Workspace,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    record: bool = True,
    case_id: str | None = None,
) -> list[VerifyResult]:
    """Re-hash every stored item, or those of one case; record each result as a
    `verified` custody event (in the item's own case, so a check asked for in one case
    writes nothing into the others)."""
    where, params = ("AND case_id = ?", (case_id,)) if case_id else ("", ())
    items = ws.conn.execute(
        f"SELECT id, ern, sha256 FROM evidence WHERE withdrawn = 0 {where} ORDER BY case_id, ern",
        params,
    ).fetchall()
    results = []
    verified_blobs: dict[str, tuple[str, str]] = {}
    for done, (evidence_id, ern, expected) in enumerate(items, start=1):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if expected not in verified_blobs:
            verified_blobs[expected] = _rehash(ws, expected)
        seen, problem = verified_blobs[expected]
        results.append(VerifyResult(evidence_id, ern, expected, seen, seen == expected, problem))
        if progress:
            progress(done, len(items))
    if record:
        _record_verification(ws, results)
    return results


def _rehash(ws: Workspace, sha256: str) -> tuple[str, str]:
    row = ws.conn.execute(
        "SELECT store_name, blob_key FROM blobs WHERE sha256 = ?", (sha256,)
    ).fetchone()
    if row is None:
        return "", "the stored file is missing"
    digest = hashlib.sha256()
    try:
        for chunk in ws.blobs.read(str(row[0]), bytes(row[1])):
            digest.update(chunk)
    except IntegrityError as exc:
        return "", str(exc)
    return digest.hexdigest(), ""


def _record_verification(ws: Workspace, results: list[VerifyResult]) -> None:
    by_case: dict[str, list[Draft]] = {}
    case_of = dict(ws.conn.execute("SELECT id, case_id FROM evidence").fetchall())
    at = _utc_now()
    for result in results:
        case_id = case_of[result.evidence_id]
        by_case.setdefault(case_id, []).append(
            Draft(
                "custody",
                new_id(),
                "create",
                {
                    "case_id": case_id,
                    "evidence_id": result.evidence_id,
                    "event": "verified",
                    "at": at,
                    "actor": ws.author,
                    "office": ws.office_name,
                    "hash_seen": result.seen,
                    "hash_expected": result.expected,
                    "result": "match" if result.ok else "MISMATCH",
                    "note": result.problem,
                },
            )
        )
    with ws.transaction():
        for case_id, drafts in by_case.items():
            ws.commit(case_id, drafts, audit_action="evidence verified")
