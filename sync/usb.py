"""`sync usb`: both directions with a stick in one step.

Import every bundle on the stick that is for us, then write a bundle for every peer that
has something new to receive (changesets it lacks, or receipts for what it sent). A peer
whose key was revoked, or that is on probation (sync.peer_state), gets nothing, and the
outcome says so in a step of its own. Bundles
addressed only to us are removed from the stick once they are safely imported; bundles for
other offices stay on it to be carried on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from storage.blobs import Cancelled
from storage.workspace import Workspace
from sync.bundle_format import BUNDLE_FOLDER, HEAD_SUFFIX, PART_SUFFIX
from sync.errors import OurOwn, SyncError
from sync.export import ExportResult, Progress, export_bundle, has_news_for
from sync.importer import ImportReport, import_paths, open_head, read_own_manifest
from sync.peer_state import export_refusal
from sync.peers import Peer, list_peers


@dataclass(frozen=True)
class UsbStep:
    """One thing `sync usb` did, or failed to do, as a line for a person."""

    action: str  # "import", "remove", "export", "replace" or "skip" (a peer gets nothing)
    ok: bool
    text: str


@dataclass
class UsbOutcome:
    """What came in and what went out, and every step in the order it was taken."""

    imported: list[ImportReport] = field(default_factory=list)
    exported: list[ExportResult] = field(default_factory=list)
    steps: list[UsbStep] = field(default_factory=list)

    @property
    def failed(self) -> list[UsbStep]:
        """The steps that were not done."""
        return [step for step in self.steps if not step.ok]

    def done(self, action: str, text: str) -> None:
        """Record a step that was done."""
        self.steps.append(UsbStep(action, True, text))

    def fail(self, action: str, text: str) -> None:
        """Record a step that failed (its text says what and why)."""
        self.steps.append(UsbStep(action, False, f"FAILED {text}"))

    def headline(self) -> str:
        """One sentence for the end of the report."""
        imported = sum(r.status == "imported" for r in self.imported)
        text = (
            f"Synced: {_count(imported, 'bundle')} imported,"
            f" {_count(len(self.exported), 'bundle')} written"
        )
        skipped = sum(step.action == "skip" for step in self.steps)
        if skipped:
            text += f", {_count(skipped, 'peer')} skipped (see above)"
        if self.failed:
            return f"{text}; {_count(len(self.failed), 'step')} FAILED (see above)."
        return f"{text}."


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def sync_usb(
    ws: Workspace,
    stick: Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> UsbOutcome:
    """Import what is for us from `stick`, then export for every peer with news. A step
    that fails is recorded in the outcome and the others still run. A cancel stops at the
    next step: bundles already imported or written stay, the one under way is dropped whole
    (import and export are each all or nothing)."""
    if not stick.is_dir():
        raise SyncError(f"{stick} is not a folder; give the stick's folder (its mount point).")
    outcome = UsbOutcome()
    try:
        outcome.imported = import_paths(ws, [stick], progress, cancel)
    except SyncError as exc:
        outcome.fail("import", f"reading the bundles on the stick: {exc}")
    for report in outcome.imported:
        _record_import(outcome, report)
        if report.status in ("imported", "already imported"):
            _remove_if_only_for_us(ws, report.head, outcome)
    ours = _our_bundles(ws, stick)
    for peer in list_peers(ws):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        refusal = export_refusal(ws, peer)
        if refusal is not None:
            outcome.done("skip", refusal)  # revoked or on probation: said, not failed
        elif has_news_for(ws, peer):
            _export_for(ws, peer, stick, ours, outcome, progress, cancel)
    return outcome


def _export_for(
    ws: Workspace,
    peer: Peer,
    stick: Path,
    ours: list[tuple[Path, list[str]]],
    outcome: UsbOutcome,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> None:
    """Write the bundle for one peer, then drop our older bundles it replaces."""
    try:
        result = export_bundle(ws, [peer], stick, progress=progress, cancel=cancel)
    except SyncError as exc:
        outcome.fail("export", f"writing a bundle for {peer.office_name}: {exc}")
        return
    outcome.exported.append(result)
    outcome.done(
        "export",
        f"Wrote a bundle for {peer.office_name}: {_count(result.changesets, 'changeset')},"
        f" {_count(result.evidence, 'evidence file')}, {result.bytes_written:,} bytes"
        f" ({result.head.name}).",
    )
    for head, recipients in ours:
        if recipients == [peer.origin]:
            left = _remove_bundle(head, _part_names(ws, head))
            if left:
                outcome.fail(
                    "replace",
                    f"removing our older bundle {head.name} for {peer.office_name}: {left}"
                    " (the new one holds all of it; delete the old one by hand).",
                )
            else:
                outcome.done(
                    "replace", f"Removed our older bundle {head.name} for {peer.office_name}."
                )


def _record_import(outcome: UsbOutcome, report: ImportReport) -> None:
    """The step an import report stands for."""
    name = report.head.name
    if report.status == "imported":
        outcome.done(
            "import",
            f"Imported {name} from {report.sender}: {_count(report.changesets, 'changeset')}"
            f" in {_count(len(report.cases), 'case')}, {_count(report.evidence, 'evidence file')}.",
        )
    elif report.status in ("refused", "failed"):
        outcome.fail("import", f"importing {name}: {report.message}")
    elif report.status == "already imported":
        outcome.done("import", f"Skipped {name}: imported before.")
    elif report.status == "not for us":
        outcome.done("import", f"Left {name} on the stick: it is for other offices.")
    elif report.status == "ours":
        outcome.done("import", f"Left {name} on the stick: written here for a peer.")
    else:
        outcome.done("import", f"Kept {name} aside: {report.message}")


def _our_bundles(ws: Workspace, stick: Path) -> list[tuple[Path, list[str]]]:
    """Bundles on the stick that we wrote earlier, with their recipients. A new bundle for
    the same peer holds everything the old one did that the peer still lacks."""
    found = []
    for head in sorted((stick / BUNDLE_FOLDER).glob(f"*{HEAD_SUFFIX}")):
        try:
            open_head(ws, head)
        except OurOwn:
            recipients = _recipients_of_own(ws, head)
            if recipients:
                found.append((head, recipients))
        except SyncError:
            continue
    return found


def _remove_if_only_for_us(ws: Workspace, head: Path, outcome: UsbOutcome) -> None:
    """Delete an imported bundle from the stick when nobody else needs it."""
    try:
        opened = open_head(ws, head)
    except SyncError:
        return
    if [r["origin"] for r in opened.manifest["recipients"]] != [ws.origin]:
        return
    left = _remove_bundle(head, [str(part["name"]) for part in opened.manifest["parts"]])
    if left:
        outcome.fail("remove", f"removing {head.name} from the stick: {left}; it stays there.")
    else:
        outcome.done("remove", f"Removed {head.name} from the stick: it was for us alone.")


def _recipients_of_own(ws: Workspace, head: Path) -> list[str]:
    manifest = read_own_manifest(ws, head)
    return [str(r["origin"]) for r in manifest["recipients"]] if manifest else []


def _part_names(ws: Workspace, head: Path) -> list[str]:
    manifest = read_own_manifest(ws, head)
    return [str(part["name"]) for part in manifest["parts"]] if manifest else []


def _remove_bundle(head: Path, part_names: list[str]) -> str:
    """Delete a bundle's files, head first (without it the parts import as nothing); the
    reason when something could not be deleted, else ""."""
    reason = ""
    for path in [head, *(head.parent / f"{name}{PART_SUFFIX}" for name in part_names)]:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            reason = reason or str(exc.strerror)
    return reason
