"""Paper shares: the recovery secret split K of N with SLIP-39, printed as words and QR codes.

`make_shares` draws a fresh random 32-byte recovery secret, splits it with SLIP-39
(Trezor's `shamir-mnemonic`: a single group, K of N members, each share 33 words from a
1,024-word list with a Reed-Solomon checksum, so a mistyped, missing or swapped word is
caught per share), seals the database key under HKDF(secret) in the key file's recovery
slot (storage.keyfile) and writes one text file and one QR code (SVG) per share into a new
or empty folder. The secret exists only in memory while this runs and on the papers
afterwards: never on disk, in a message or in the audit chain (which records the set id,
K and N).

A new set replaces the recovery slot, so every share of the old set stops opening the
workspace; backups written before keep the old slot and still open with the old set.

`recover_secret` reads share files (words typed from paper, or the files as written),
checks each on its own (regular file, size, word list, checksum), then the set (one set,
no share twice, at least K), and combines them. Every refusal names the file and never
quotes its words. A share may also be given as a `TypedShare`, words typed into the
window's recovery dialog, so that they never have to be written to a file; it is named
by its label in the same sentences.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import segno
import shamir_mnemonic
from shamir_mnemonic.share import Share
from shamir_mnemonic.wordlist import WORD_INDEX_MAP

from storage import keyfile, roles
from storage.atomic import fsync_directory
from storage.errors import InvalidInput, RecoveryRefused
from storage.recovery import read_given_file
from storage.workspace import Workspace

MIN_THRESHOLD = 2
MAX_SHARES = 16  # SLIP-39 encodes member counts in 4 bits
SECRET_BYTES = 32
WORDS_PER_SHARE = 33  # SLIP-39 for a 256-bit secret
MAX_SHARE_FILE_BYTES = 64 << 10
BEGIN = "-----BEGIN VALISE RECOVERY WORDS-----"
END = "-----END VALISE RECOVERY WORDS-----"
_NUMBERING = re.compile(r"^\d+[.):]?$")
_PRINTED_SET = re.compile(r"^Share set: ([0-9a-f]{8}) ", re.M)


@dataclass(frozen=True)
class ShareSet:
    """A set just made: where its files are (the words are in them, not here)."""

    set_id: str
    threshold: int
    files: tuple[Path, ...]
    replaced_a_set: bool


def check_counts(threshold: int, shares: int) -> None:
    """Refuse a threshold and share count that make no sense, with a sentence."""
    if shares > MAX_SHARES:
        raise InvalidInput(f"At most {MAX_SHARES} shares can be made; {shares} were asked for.")
    if threshold < MIN_THRESHOLD:
        raise InvalidInput(
            f"The threshold must be at least {MIN_THRESHOLD}: with {threshold}, a single paper"
            " found by anyone would open the workspace."
        )
    if threshold > shares:
        raise InvalidInput(
            f"The threshold ({threshold}) cannot be more than the number of shares ({shares}):"
            " the workspace could never be recovered."
        )


def _prepare_folder(out: Path) -> None:
    """`out` must be a new or empty folder: shares are never written over anything."""
    if out.is_symlink():
        raise InvalidInput(f"{out} is a symbolic link; give a new or empty folder for the shares.")
    if out.exists():
        if not out.is_dir():
            raise InvalidInput(f"{out} is a file; give a new or empty folder for the shares.")
        if any(out.iterdir()):
            raise InvalidInput(
                f"The folder {out} is not empty; give a new or empty folder, so no share"
                " is written over another file."
            )
        return
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist.")
    out.mkdir(mode=0o700)


def make_shares(ws: Workspace, threshold: int, count: int, out: Path) -> ShareSet:
    """Make a new set of `count` shares, any `threshold` of which recover the workspace,
    write them into `out`, and put the set's recovery slot in the key file. The files are
    written first: a failure before the slot is written leaves the old set working."""
    check_counts(threshold, count)
    roles.require(ws, roles.MANAGE_KEYS, "make a new set of recovery shares")
    _prepare_folder(out)
    had_slot = bool(keyfile.read(ws.paths.keyfile).recovery_slots)
    secret = secrets.token_bytes(SECRET_BYTES)
    set_id = secrets.token_hex(4)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    groups = shamir_mnemonic.generate_mnemonics(1, [(threshold, count)], secret)
    written: list[Path] = []
    try:
        for number, mnemonic in enumerate(groups[0], start=1):
            stem = f"valise-recovery-{set_id}-share-{number}-of-{count}"
            text = share_text(ws, mnemonic, number, count, threshold, set_id, created)
            written.append(_write_new(out / f"{stem}.txt", text.encode("utf-8")))
            qr = segno.make(mnemonic, error="m", micro=False, boost_error=False)
            svg = out / f"{stem}.svg"
            with _exclusive(svg) as handle:
                qr.save(handle, kind="svg", scale=4, border=4)
            written.append(svg)
        fsync_directory(out)
        slot = ws.seal_database_key(
            lambda key: keyfile.recovery_slot(
                key,
                ws.workspace_id,
                secret,
                set_id=set_id,
                threshold=threshold,
                shares=count,
                created_at=created,
            )
        )
        detail = {"set": set_id, "threshold": threshold, "shares": count}
        ws.write_key_slot(slot, "recovery shares made", detail)
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return ShareSet(set_id, threshold, tuple(written), had_slot)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[BinaryIO]:
    """A new file at `path`, never one already there nor through a link; fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _write_new(path: Path, data: bytes) -> Path:
    with _exclusive(path) as handle:
        handle.write(data)
    return path


def share_text(
    ws: Workspace, mnemonic: str, number: int, count: int, threshold: int, set_id: str, made: str
) -> str:
    """The text of one share: what it is and what to do with it, for a person who finds it
    years later, then the words in numbered columns between two marker lines."""
    words = mnemonic.split()
    rows = []
    for start in range(0, len(words), 3):
        cells = [f"{i + 1:2d} {words[i]:<10}" for i in range(start, min(start + 3, len(words)))]
        rows.append("   ".join(cells).rstrip())
    day = made[:10]
    return f"""VALISE RECOVERY SHARE {number} OF {count}

This paper is share {number} of a set of {count} recovery shares for the Valise workspace of
    {ws.office_name} (workspace id {ws.workspace_id}).
Share set: {set_id}    Made on: {day}    Shares needed together: {threshold}

Any {threshold} shares of this set, together, open that workspace (and its backups made on
or after {day}) when its passphrase is lost. Fewer than {threshold} reveal nothing.

KEEP IT SAFE. Whoever holds {threshold} shares of this set and a copy of the workspace can
read everything in it: the evidence and the names of protected witnesses. Keep each share
in a different place, in a sealed envelope, with a different trusted person. Do not
photograph it, scan it, or keep two shares together.

IF YOU FIND THIS PAPER: do not throw it away and do not type it into any computer. Give it,
in a sealed envelope, to the head of the office named above or to its IT staff.

IF THE PASSPHRASE IS LOST: gather {threshold} shares of set {set_id}. On the Valise laptop,
type the words of each share into a text file of its own (or scan the QR code), then run
    valise recovery open share1.txt share2.txt ... --workspace FOLDER
Valise asks for a new passphrase. For a backup file instead:
    valise recovery open share1.txt ... --backup FILE --workspace NEW-FOLDER

IF NEW SHARES ARE MADE, this set stops opening the workspace (older backups still open
with it). Destroy this paper then, by shredding or burning it.

The {len(words)} words, in order (the QR code beside this file holds the same words):

{BEGIN}
{chr(10).join(rows)}
{END}
"""


# -- reading shares back -------------------------------------------------------------------


@dataclass(frozen=True)
class TypedShare:
    """The words of one share typed (or pasted) in a window, with the label that names it
    in sentences ("typed share 2"); never written to disk, never quoted in a message."""

    label: str
    text: str

    def __str__(self) -> str:
        return self.label


ShareSource = Path | TypedShare


@dataclass(frozen=True)
class _ReadShare:
    path: ShareSource
    mnemonic: str
    share: Share


def _words_of(text: str) -> list[str]:
    """The words of a share file: between the markers when they are there, else the whole
    text (words typed from paper); numbering such as `7` or `7.` is skipped."""
    if BEGIN in text and END in text.split(BEGIN, 1)[1]:
        text = text.split(BEGIN, 1)[1].split(END, 1)[0]
    return [token.lower() for token in text.split() if not _NUMBERING.match(token)]


def _share_text(path: ShareSource) -> str:
    """The text of a share file, or of a typed share."""
    if isinstance(path, TypedShare):
        return path.text
    data = read_given_file(path, MAX_SHARE_FILE_BYTES, "share file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecoveryRefused(
            f"{path} is not a text file of recovery words; give the share's text file."
        ) from None


def _leading(path: ShareSource) -> str:
    """The name of a share at the start of a sentence."""
    name = str(path)
    return name[:1].upper() + name[1:] if isinstance(path, TypedShare) else name


def read_share(path: ShareSource) -> tuple[str, Share]:
    """One share file (or typed share) checked on its own: its words and the share they
    encode."""
    words = _words_of(_share_text(path))
    if not words:
        what = "The share" if isinstance(path, TypedShare) else "The share file"
        raise RecoveryRefused(f"{what} {path} holds no words.")
    for position, word in enumerate(words, start=1):
        if word not in WORD_INDEX_MAP:
            raise RecoveryRefused(
                f"Word {position} in {path} is not in the recovery word list (mistyped?);"
                " compare it with the paper."
            )
    if len(words) != WORDS_PER_SHARE:
        raise RecoveryRefused(
            f"{_leading(path)} holds {len(words)} words; a Valise share has {WORDS_PER_SHARE}."
            " Compare it with the paper: a word is missing or one too many."
        )
    mnemonic = " ".join(words)
    try:
        share = Share.from_mnemonic(mnemonic)
    except shamir_mnemonic.MnemonicError:
        raise RecoveryRefused(
            f"The words in {path} do not check out: one was mistyped, left out or swapped."
            " Compare them with the paper, word by word."
        ) from None
    if share.group_count != 1 or share.group_threshold != 1:
        raise RecoveryRefused(f"{_leading(path)} is a share of a set Valise did not make.")
    return mnemonic, share


def _names(paths: Sequence[ShareSource]) -> str:
    return ", ".join(str(path) for path in paths)


def recover_secret(paths: Sequence[ShareSource]) -> bytes:
    """The recovery secret from share files of one set, at least as many as its
    threshold; a sentence naming the files otherwise."""
    if not paths:
        raise RecoveryRefused("Give the share files to recover with.")
    shares = [_ReadShare(path, *read_share(path)) for path in paths]
    sets: dict[tuple[object, ...], list[_ReadShare]] = {}
    for item in shares:
        sets.setdefault(tuple(item.share.group_parameters()), []).append(item)
    if len(sets) > 1:
        described = "; ".join(
            f"{_names([item.path for item in members])} of one set" for members in sets.values()
        )
        raise RecoveryRefused(
            f"The shares come from {len(sets)} different sets: {described}. Give shares of"
            " one set only (the set is printed on each paper)."
        )
    by_index: dict[int, _ReadShare] = {}
    for item in shares:
        if item.share.index in by_index:
            first = by_index[item.share.index]
            raise RecoveryRefused(
                f"{first.path} and {item.path} are the same share; give different shares."
            )
        by_index[item.share.index] = item
    needed = shares[0].share.member_threshold
    if len(shares) < needed:
        given = len(shares)
        raise RecoveryRefused(
            f"{needed} shares are needed; {given} {'was' if given == 1 else 'were'} given."
        )
    try:
        secret = bytes(shamir_mnemonic.combine_mnemonics([item.mnemonic for item in shares]))
    except (shamir_mnemonic.MnemonicError, ValueError):
        raise RecoveryRefused(
            f"The shares {_names(paths)} do not combine: one of them is damaged in a way its"
            " checksum did not catch. Try another share of the set in its place."
        ) from None
    if len(secret) != SECRET_BYTES:
        raise RecoveryRefused("These shares were not made by Valise.")
    return secret


def _printed_sets(paths: Sequence[ShareSource]) -> list[str]:
    """The set ids printed on share files as Valise wrote them (typed files have none)."""
    found = []
    for path in paths:
        with contextlib.suppress(RecoveryRefused):
            text = _share_text(path)
            if match := _PRINTED_SET.search(text):
                found.append(match.group(1))
    return sorted(set(found))


def shares_unwrap(paths: Sequence[ShareSource]) -> keyfile.Unwrap:
    """An Unwrap (storage.keyfile) that opens a key file's recovery slot with the shares."""

    def unwrap(sealed: keyfile.KeyFile) -> bytes:
        if not sealed.recovery_slots:
            raise RecoveryRefused(
                "This workspace has no recovery slot: no paper shares were made for it (or"
                " this copy is older than them), so shares cannot open it. Nothing was changed."
            )
        secret = recover_secret(paths)
        key = keyfile.unseal_recovery(sealed, secret)
        if key is None:
            slot = sealed.recovery_slots[0]
            printed = _printed_sets(paths)
            said = f"; the papers say set {', '.join(printed)}" if printed else ""
            raise RecoveryRefused(
                "These shares fit together, but they do not open this workspace's recovery"
                " slot: they belong to another workspace, or to a set replaced since (the"
                f" slot here is of set {slot.set_id}, made {slot.created_at[:10]}{said})."
                " Nothing was changed."
            )
        return key

    return unwrap


__all__ = [
    "MAX_SHARES",
    "MIN_THRESHOLD",
    "ShareSet",
    "check_counts",
    "make_shares",
    "read_share",
    "recover_secret",
    "shares_unwrap",
]
