"""`sync usb`: both directions with a stick in one step.

Import every bundle on the stick that is for us, then write a bundle for every peer that
has something new to receive (changesets it lacks, or receipts for what it sent). Bundles
addressed only to us are removed from the stick once they are safely imported; bundles for
other offices stay on it to be carried on.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from storage.blobs import Cancelled
from storage.workspace import Workspace
from sync.bundle_format import BUNDLE_FOLDER, HEAD_SUFFIX, PART_SUFFIX
from sync.errors import OurOwn, SyncError
from sync.export import ExportResult, Progress, export_bundle, has_news_for
from sync.importer import ImportReport, import_paths, open_head, read_own_manifest
from sync.peers import list_peers


@dataclass
class UsbOutcome:
    """What came in and what went out."""

    imported: list[ImportReport] = field(default_factory=list)
    exported: list[ExportResult] = field(default_factory=list)


def sync_usb(
    ws: Workspace,
    stick: Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> UsbOutcome:
    """Import what is for us from `stick`, then export for every peer with news. A cancel
    stops at the next step: bundles already imported or written stay, the one under way
    is dropped whole (import and export are each all or nothing)."""
    if not stick.is_dir():
        raise SyncError(f"{stick} is not a folder; give the stick's folder (its mount point).")
    outcome = UsbOutcome()
    outcome.imported = import_paths(ws, [stick], progress, cancel)
    for report in outcome.imported:
        if report.status in ("imported", "already imported"):
            _remove_if_only_for_us(ws, report.head)
    ours = _our_bundles(ws, stick)
    for peer in list_peers(ws):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        if has_news_for(ws, peer):
            result = export_bundle(ws, [peer], stick, progress=progress, cancel=cancel)
            outcome.exported.append(result)
            for head, recipients in ours:
                if recipients == [peer.origin]:
                    _remove_bundle(head, _part_names(ws, head))
    return outcome


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


def _remove_if_only_for_us(ws: Workspace, head: Path) -> None:
    """Delete an imported bundle from the stick when nobody else needs it."""
    try:
        opened = open_head(ws, head)
    except SyncError:
        return
    if [r["origin"] for r in opened.manifest["recipients"]] != [ws.origin]:
        return
    _remove_bundle(head, [str(part["name"]) for part in opened.manifest["parts"]])


def _recipients_of_own(ws: Workspace, head: Path) -> list[str]:
    manifest = read_own_manifest(ws, head)
    return [str(r["origin"]) for r in manifest["recipients"]] if manifest else []


def _part_names(ws: Workspace, head: Path) -> list[str]:
    manifest = read_own_manifest(ws, head)
    return [str(part["name"]) for part in manifest["parts"]] if manifest else []


def _remove_bundle(head: Path, part_names: list[str]) -> None:
    for name in part_names:
        with contextlib.suppress(OSError):
            (head.parent / f"{name}{PART_SUFFIX}").unlink()
    with contextlib.suppress(OSError):
        head.unlink()
