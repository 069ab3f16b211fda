"""Bundles from senders we do not know yet, or whose fingerprint nobody has compared, kept
in the workspace until their card comes or a person verifies them (sync.peer_state).

The head of such a bundle decrypts (it is addressed to us) and its manifest is signed by
the key it names, but nothing yet says that key belongs to anyone we trust. So what is
kept is only what the manifest names: the head and the parts it lists by name, each of
exactly the size it states. Nothing else on the stick is copied, and what is kept is
capped, so a stick carrying a few forged heads and a large junk file cannot fill the
workspace's disk:

- PARKED_BYTES_PER_SENDER: at most this many bytes (heads and parts) are kept for one
  sender (one signing key), 4 GiB;
- PARKED_BYTES_TOTAL: at most this many bytes are kept for all unknown senders together,
  16 GiB.

A bundle that would pass either cap is not kept, and the person is told why and what to do
(add the sender's card, or verify the sender, then import the stick again). Each bundle
is copied into a hidden folder and renamed into place when whole; a hidden folder left by
a crash is removed at the next import.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.atomic import TEMP_SUFFIX, fsync_directory
from storage.regular_files import FileTooLarge, NotARegularFile, open_regular, read_regular
from storage.workspace import Workspace
from sync.bundle_format import HEAD_SUFFIX, MAX_HEAD_BYTES, PART_SUFFIX, refuse
from sync.errors import BundleRefused

PARKED_BUNDLES = "parked-bundles"
PARKED_BYTES_PER_SENDER = 4 * 1024**3
PARKED_BYTES_TOTAL = 16 * 1024**3
NOT_KEPT = "not kept"  # the refusal code for a bundle of an unknown sender left on the stick
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class WaitsFor:
    """What a kept bundle waits for, in the words of the sentences about it."""

    until: str  # "until ..." ends the sentence saying it was kept
    then: str  # the step a person takes before importing the stick again


UNKNOWN_SENDER = WaitsFor(
    "`valise peer add` knows the sender", "Add the sender's contact card with `valise peer add`"
)
UNVERIFIED_SENDER = WaitsFor(
    "the sender is verified",
    "Verify the sender with `valise peer verify`",
)


def parked_folder(ws: Workspace) -> Path:
    """Where bundles of unknown senders wait."""
    return ws.paths.root / PARKED_BUNDLES


def parked_bundle_heads(ws: Workspace) -> list[Path]:
    """Heads of bundles kept because their sender was unknown."""
    folder = parked_folder(ws)
    return sorted(folder.glob(f"*/*{HEAD_SUFFIX}")) if folder.is_dir() else []


def is_parked_copy(ws: Workspace, head: Path) -> bool:
    """True for a head inside the workspace's parked bundles (it is kept already)."""
    return head.parent.parent == parked_folder(ws)


def _sender_tag(ws: Workspace, origin: str) -> str:
    """An opaque name for a sender in the folder names: who talks to whom is not written
    in clear in the workspace folder, yet one sender's bundles can be counted together."""
    mac = hmac.new(ws.anchor_key(), b"valise/parked-sender/v1\n" + origin.encode(), "sha256")
    return mac.hexdigest()[:24]


def _kept_bytes(folder: Path, prefix: str = "") -> int:
    """Bytes held by the parked bundles whose folder name starts with `prefix`."""
    total = 0
    if not folder.is_dir():
        return 0
    for bundle in folder.iterdir():
        if not bundle.name.startswith(prefix) or bundle.is_symlink() or not bundle.is_dir():
            continue
        for item in bundle.iterdir():
            with contextlib.suppress(OSError):
                total += item.lstat().st_size
    return total


def remove_interrupted(ws: Workspace) -> None:
    """Drop hidden folders a crash left half-copied (see `park_bundle`)."""
    folder = parked_folder(ws)
    if folder.is_dir():
        for stray in folder.glob(f".*{TEMP_SUFFIX}"):
            shutil.rmtree(stray, ignore_errors=True)


def _too_large(what: str, size: int, limit: int, waits: WaitsFor) -> BundleRefused:
    return refuse(
        NOT_KEPT,
        f"It was not kept: {what} would then hold {size:,} bytes, over the limit of"
        f" {limit:,}. {waits.then}, then import the stick again.",
    )


def _copy_exactly(source: Path, target: Path, size: int) -> None:
    """Copy a regular file of exactly `size` bytes into a new file; refuse anything else."""
    with open_regular(source, buffering=0) as src:
        if os.fstat(src.fileno()).st_size != size:
            raise refuse(
                NOT_KEPT,
                f"It was not kept: {source.name} is not the size its manifest says"
                " (cut short, padded, or a part of another bundle).",
            )
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            left = size
            while left > 0:
                chunk = src.read(min(_COPY_CHUNK, left))
                if not chunk:
                    raise refuse(NOT_KEPT, f"It was not kept: {source.name} was cut short.")
                out.write(chunk)
                left -= len(chunk)
            out.flush()
            os.fsync(out.fileno())


def park_bundle(
    ws: Workspace, head: Path, manifest: dict[str, Any], waits: WaitsFor = UNKNOWN_SENDER
) -> str:
    """Keep the head and the parts its manifest names; a sentence saying what was kept
    and what it `waits` for.
    Raise BundleRefused (NOT_KEPT) when a cap would be passed or a named part is missing,
    not a regular file, or of the wrong size; nothing is kept then."""
    folder = parked_folder(ws)
    tag = _sender_tag(ws, str(manifest["sender"]["origin"]))
    target = folder / f"{tag}-{manifest['bundle_id']}"
    if target.exists():
        return f"It was kept before and waits until {waits.until}."
    try:
        head_bytes = read_regular(head, MAX_HEAD_BYTES)
    except (NotARegularFile, FileTooLarge) as exc:
        raise refuse(NOT_KEPT, f"It was not kept: {exc}") from None
    parts = [(f"{part['name']}{PART_SUFFIX}", int(part["size"])) for part in manifest["parts"]]
    size = len(head_bytes) + sum(part_size for _, part_size in parts)
    sender_bytes = _kept_bytes(folder, f"{tag}-") + size
    if sender_bytes > PARKED_BYTES_PER_SENDER:
        raise _too_large(
            "what is kept for this sender", sender_bytes, PARKED_BYTES_PER_SENDER, waits
        )
    all_bytes = _kept_bytes(folder) + size
    if all_bytes > PARKED_BYTES_TOTAL:
        raise _too_large("what is kept for unknown senders", all_bytes, PARKED_BYTES_TOTAL, waits)
    folder.mkdir(mode=0o700, exist_ok=True)
    remove_interrupted(ws)
    temp = folder / f".{secrets.token_hex(8)}{TEMP_SUFFIX}"
    temp.mkdir(mode=0o700)
    try:
        (temp / head.name).write_bytes(head_bytes)
        for name, part_size in parts:
            _copy_exactly(head.parent / name, temp / name, part_size)
        os.rename(temp, target)
        fsync_directory(folder)
    except NotARegularFile as exc:
        shutil.rmtree(temp, ignore_errors=True)
        raise refuse(
            NOT_KEPT, f"It was not kept: {exc.path.name} is {exc.kind}, not a bundle file."
        ) from None
    except FileNotFoundError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        missing = Path(exc.filename or "").name
        raise refuse(
            NOT_KEPT,
            f"It was not kept: its part {missing} is not beside it. Import the stick again"
            " once the whole bundle is on it.",
        ) from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    count = len(parts)
    return (
        f"It was kept (its head and the {count} part{'s' if count != 1 else ''} it names) and"
        f" will be read once {waits.until}."
    )
