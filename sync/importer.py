"""Taking bundles in: find them, verify everything into staging, then apply in one transaction.

Nothing from a bundle touches the workspace until its head's signature, its recipients,
every part's digest, every changeset's signature and every evidence file's SHA-256 have
been checked. Evidence is staged encrypted in the store (never in clear) and becomes part
of it only when the database transaction that applies the changesets commits.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyrage
import sqlcipher3.dbapi2 as sqlcipher
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pyrage import x25519

from storage import audit, canonical, key_trust
from storage.apply import (
    ApplyError,
    ApplyResult,
    BulkCreates,
    ClockAhead,
    ForkDetected,
    MissingRecord,
    apply_changeset,
    prev_refs,
    revoked_after,
)
from storage.blobs import BlobWriter, Cancelled, StagedBlob
from storage.changesets import Changeset, MalformedChangeset, Op, changeset_id, decode
from storage.entities import field_text_problem
from storage.hlc import Stamp
from storage.identity import origin_of
from storage.regular_files import FileTooLarge, NotARegularFile, open_regular, read_regular
from storage.sealing import Reveal
from storage.takeback import Removed
from storage.text_rules import may_hold_refused_text, one_line
from storage.workspace import Workspace
from sync import age_reader, takeback
from sync.agekeys import age_identity
from sync.authority import Authority, Refusal
from sync.bundle_format import (
    BUNDLE_FOLDER,
    HEAD_SUFFIX,
    MANIFEST_DOMAIN,
    MAX_HEAD_BYTES,
    PART_SUFFIX,
    ChangesetFrame,
    ParserStream,
    PayloadParser,
    decode_manifest,
    refuse,
    split_head,
)
from sync.errors import BundleParked, BundleRefused, NotForUs, OurOwn, SyncError, TransferFailed
from sync.export import record_handoff
from sync.holdings import Holdings, lacks_any_of
from sync.holdings import check as check_holdings
from sync.parked_bundles import (
    UNKNOWN_SENDER,
    UNVERIFIED_SENDER,
    is_parked_copy,
    park_bundle,
    parked_bundle_heads,
    remove_interrupted,
)
from sync.partner_bundles import check_courier
from sync.peer_state import UNVERIFIED, on_probation, probation_notice
from sync.peers import Peer, peer_by_origin
from sync.projection import is_our_projection, projected_for, projection_epochs
from sync.receipts import accepted_receipts
from sync.spool import (
    ChangesetSpool,
    StagedChangeset,
    decode_reveals,
)
from sync.trust import (
    adopt_endorsed_keys,
    adopt_rotated_peer,
    check_endorsed_rotation,
    endorsed_peer,
    endorsement_counts,
    endorsement_refusal,
    honoured_rotation,
    introduction_refusal,
    manifest_refusal,
    our_keys,
    written_after_revocation,
)
from sync.verify_pool import SignatureChecker

Progress = Callable[[int, int], None]
NOT_A_FILE = "not a file"  # the refusal code for a link, folder, pipe or device
READ_CHUNK = 1 << 20


@dataclass
class ImportReport:
    """What one bundle did, in words and numbers."""

    head: Path
    status: str  # imported, already imported, not for us, ours, parked, refused, failed
    message: str = ""
    reason: str = ""
    bundle_id: str = ""
    sender: str = ""
    sender_id: str = ""
    created: str = ""
    changesets: int = 0
    duplicates: int = 0
    unparked: int = 0
    released: int = 0  # held back by earlier imports, applied now that a grant allows them
    parked: int = 0
    parked_reasons: list[str] = field(default_factory=list)
    quarantined: int = 0
    quarantine_reasons: list[str] = field(default_factory=list)
    receipts_refused: list[str] = field(default_factory=list)
    not_taken: list[str] = field(default_factory=list)  # sync.partner_bundles: left out
    evidence: int = 0
    conflicts: int = 0
    cases: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        """A plain summary for --json output."""
        return {
            "file": str(self.head),
            "status": self.status,
            "message": self.message,
            "reason": self.reason,
            "bundle_id": self.bundle_id,
            "sender": self.sender,
            "sender_id": self.sender_id,
            "created": self.created,
            "changesets": self.changesets,
            "duplicates": self.duplicates,
            "unparked": self.unparked,
            "released": self.released,
            "parked": self.parked,
            "parked_reasons": self.parked_reasons,
            "quarantined": self.quarantined,
            "quarantine_reasons": self.quarantine_reasons,
            "receipts_refused": self.receipts_refused,
            "not_taken": self.not_taken,
            "evidence": self.evidence,
            "conflicts": self.conflicts,
            "cases": sorted(self.cases),
        }


@dataclass
class OpenHead:
    """A decrypted head whose signature and addressing have been checked."""

    path: Path
    manifest: dict[str, Any]
    sender: Peer
    endorsed_from: str = ""  # the sender's old origin, when its new keys are endorsed

    @property
    def bundle_id(self) -> str:
        """The bundle's id from the signed manifest."""
        return str(self.manifest["bundle_id"])


@dataclass
class Staged:
    """Everything of a bundle, verified, not yet applied."""

    head: OpenHead
    spool: ChangesetSpool
    blobs: list[StagedBlob] = field(default_factory=list)
    writers: list[BlobWriter] = field(default_factory=list)  # evidence still arriving

    def discard(self, ws: Workspace) -> None:
        """Drop the staged changesets and evidence files, finished or not."""
        self.spool.close()
        for writer in self.writers:
            writer.abort()
        for blob in self.blobs:
            ws.blobs.discard(blob)


# -- finding bundles -----------------------------------------------------------------------


def find_heads(paths: Iterable[Path]) -> list[Path]:
    """Bundle heads under each path: a head file itself, a stick (its `Valise/` folder) or
    the `Valise/` folder. Raises SyncError for paths that hold no bundle at all."""
    heads: list[Path] = []
    for path in paths:
        if path.is_dir():
            bundles = path / BUNDLE_FOLDER
            if bundles.is_symlink():
                raise SyncError(
                    f"{bundles} is a symbolic link, not a folder; Valise does not follow links"
                    " on a stick. Nothing was read; remove the link and copy the bundles there."
                )
            found = sorted(path.glob(f"*{HEAD_SUFFIX}")) + sorted(bundles.glob(f"*{HEAD_SUFFIX}"))
            heads.extend(found)
        elif path.name.endswith(PART_SUFFIX):
            raise SyncError(
                f"{path} is one part of a bundle; give its {HEAD_SUFFIX} file or the folder."
            )
        elif path.exists() or path.is_symlink():  # a link is refused when read, with a sentence
            heads.append(path)
        else:
            raise SyncError(f"There is no file or folder at {path}.")
    return heads


# -- the head ------------------------------------------------------------------------------


def _identities(ws: Workspace) -> list[x25519.Identity]:
    """Our bundle key, and keys replaced by a rotation (bundles written before a peer
    learnt of it are still addressed to them)."""
    return [x25519.Identity.from_str(age_identity(private)) for _, private in our_keys(ws)]


def _public_hex(encryption_private: bytes) -> str:
    key = X25519PrivateKey.from_private_bytes(encryption_private).public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _read_head_file(path: Path) -> bytes:
    """A head's bytes, read only from a regular file (never a link, pipe or device) and
    capped at MAX_HEAD_BYTES."""
    try:
        return read_regular(path, MAX_HEAD_BYTES)
    except NotARegularFile as exc:
        raise refuse(
            NOT_A_FILE,
            f"{path.name} is {exc.kind}, not a bundle file; it was skipped and nothing was"
            " read from it.",
        ) from None
    except FileTooLarge:
        raise refuse("limits", f"{path.name} is too large to be a bundle head.") from None
    except OSError as exc:
        raise SyncError(f"Cannot read {path}: {exc.strerror}.") from None


def read_own_manifest(ws: Workspace, path: Path) -> dict[str, Any] | None:
    """The manifest of a bundle we wrote ourselves (signature checked), else None."""
    try:
        plain = pyrage.decrypt(_read_head_file(path), _identities(ws))
        manifest_bytes, signature = split_head(plain)
        manifest = decode_manifest(manifest_bytes)
        ws.keys.signer().public_key().verify(signature, MANIFEST_DOMAIN + manifest_bytes)
    except (SyncError, pyrage.DecryptError, OSError, ValueError, InvalidSignature):
        return None
    return manifest if manifest["sender"]["origin"] in dict(our_keys(ws)) else None


def unverified_manifest(ws: Workspace, path: Path) -> dict[str, Any] | None:
    """The manifest of a bundle addressed to us, decrypted but NOT verified (its sender
    may be unknown): only to say what a parked bundle claims to be. None if unreadable."""
    try:
        plain = pyrage.decrypt(_read_head_file(path), _identities(ws))
        return decode_manifest(split_head(plain)[0])
    except (SyncError, pyrage.DecryptError, OSError, ValueError):
        return None


def open_head(ws: Workspace, path: Path, *, adopt: bool = False) -> OpenHead:
    """Decrypt and check a head: for us, signed by a peer we know, addressed to us. With
    `adopt` (an import), new keys a peer's old key vouched for are recorded as that peer,
    on probation, as soon as they may be (sync.trust.adopt_endorsed_keys)."""
    data = _read_head_file(path)
    if not data.startswith(b"age-encryption.org/v1\n"):
        raise refuse("not a bundle", f"{path.name} is not an encrypted Valise bundle.")
    try:
        plain = pyrage.decrypt(data, _identities(ws))
    except pyrage.DecryptError as exc:
        if "No matching keys" in str(exc):
            raise NotForUs(f"{path.name} is addressed to other installations.") from None
        raise refuse("damaged", f"{path.name} is damaged and cannot be decrypted.") from None
    except (OSError, ValueError):
        raise refuse("damaged", f"{path.name} is damaged or cut short.") from None
    manifest_bytes, signature = split_head(plain)
    manifest = decode_manifest(manifest_bytes)
    sender = manifest["sender"]
    signing = bytes.fromhex(sender["signing_public"])
    if origin_of(signing) != sender["origin"]:
        raise refuse("signature", "The bundle's sender does not match its own key.")
    ours_now = dict(our_keys(ws))
    if sender["origin"] in ours_now:
        raise OurOwn(f"{path.name} is a bundle this installation wrote.")
    peer = peer_by_origin(ws, sender["origin"])
    endorsed_from = ""
    if peer is None:
        peer = endorsed_peer(ws, manifest)
        endorsed_from = str(manifest["endorsement"].get("old_origin", "")) if peer else ""
    if peer is None:
        try:  # self-signed at least, or it is not worth keeping
            Ed25519PublicKey.from_public_bytes(signing).verify(
                signature, MANIFEST_DOMAIN + manifest_bytes
            )
        except (InvalidSignature, ValueError):
            raise refuse(
                "signature", f"{path.name} is not signed by the key it names: altered or forged."
            ) from None
        raise BundleParked(
            f"The bundle comes from {sender['office_name']!r}, whose contact card has not been"
            " added.",
            manifest,
        )
    try:
        Ed25519PublicKey.from_public_bytes(peer.signing_public).verify(
            signature, MANIFEST_DOMAIN + manifest_bytes
        )
    except (InvalidSignature, ValueError):
        raise refuse(
            "signature",
            f"The bundle claims to come from {peer.office_name} but its signature does not"
            " verify: it was altered or forged.",
        ) from None
    if endorsed_from:
        check_endorsed_rotation(ws, endorsed_from, peer.origin, manifest)
        if adopt:
            adopt_endorsed_keys(ws, endorsed_from, peer)
    if refusal := manifest_refusal(ws, peer, manifest) or introduction_refusal(ws, peer, manifest):
        raise refuse("key trust", refusal)
    ours = [r for r in manifest["recipients"] if r["origin"] in ours_now]
    if not ours or ours[0]["encryption_public"] != _public_hex(ours_now[ours[0]["origin"]]):
        raise refuse(
            "not addressed to us",
            f"{peer.office_name} did not address this bundle to us; it was re-encrypted by"
            " someone else and is refused.",
        )
    if on_probation(ws, peer):
        raise BundleParked(probation_notice(peer), manifest, UNVERIFIED)
    return OpenHead(path, manifest, peer, endorsed_from)


# -- staging -------------------------------------------------------------------------------


class _StagingSink:
    """An incoming evidence file, encrypted into the store's staging as it arrives."""

    def __init__(self, staged: Staged, writer: BlobWriter, cancel: threading.Event | None) -> None:
        self._staged = staged
        self._writer = writer
        self._cancel = cancel

    def write(self, data: bytes | memoryview) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled()
        try:
            self._writer.write(data)
        except OSError as exc:
            raise _disk_failed(exc) from None

    def finish(self) -> str:
        try:
            blob = self._writer.finish()
        except OSError as exc:
            raise _disk_failed(exc) from None
        self._staged.writers.remove(self._writer)
        self._staged.blobs.append(blob)
        return blob.sha256


def _disk_failed(exc: OSError) -> TransferFailed:
    return TransferFailed(
        f"Storing the bundle's evidence in the workspace failed ({exc.strerror or exc}): is its"
        " disk full? Nothing was imported; free some space and import again."
    )


class _Verifier:
    """Checks each changeset as the parser hands it over."""

    def __init__(self, ws: Workspace, head: OpenHead, staged: Staged) -> None:
        self._ws = ws
        self._staged = staged
        self._limit = int(head.manifest["payload"]["changesets"])
        self.signatures = SignatureChecker(self._limit)
        self._keys: dict[str, bytes] = {
            str(r[0]): bytes(r[1])
            for r in ws.conn.execute("SELECT origin, signing_public FROM origins")
        }
        # The sender signed the manifest, so its own key is known; other origins' keys
        # come from our records or from the sender's introductions.
        self._keys.setdefault(head.sender.origin, head.sender.signing_public)
        # A revoked sender's own changesets after its revocation point refuse the bundle
        # (its holdings could have hidden them).
        self._sender = head.sender.origin
        self._sender_revoked = revoked_after(ws.conn, self._sender)
        for intro in head.manifest["introductions"]:
            key = bytes.fromhex(intro["signing_public"])
            if origin_of(key) != intro["origin"]:
                raise refuse("signature", "The bundle introduces an origin with a wrong key.")
            self._keys.setdefault(intro["origin"], key)

    def __call__(self, frame: ChangesetFrame) -> None:
        if self._staged.spool.count >= self._limit:
            raise refuse("malformed", "The bundle holds more changesets than its manifest says.")
        try:
            cs = decode(frame.body)
        except (MalformedChangeset, TypeError, ValueError) as exc:
            raise refuse("malformed", f"A changeset in the bundle is malformed ({exc}).") from None
        cs_id = changeset_id(frame.body)
        key = self._keys.get(cs.origin)
        if key is None:
            raise refuse(
                "unknown signer", "The bundle holds changesets from an office nobody introduced."
            )
        if (
            cs.origin == self._sender
            and self._sender_revoked is not None
            and (cs.epoch, cs.seq) > self._sender_revoked[:2]
        ):
            raise refuse("key trust", written_after_revocation(self._ws, self._sender))
        self.signatures.add(cs_id, key, frame.body, frame.sig)
        reveals = self._reveals(cs, cs_id, frame.reveals)
        _refuse_unsafe_text(cs, cs_id, reveals, frame.body)
        self._staged.spool.add(
            StagedChangeset(cs_id, cs, frame.body, frame.sig, frame.case_prev, reveals)
        )

    @staticmethod
    def _reveals(
        cs: Changeset, cs_id: str, items: list[list[Any]]
    ) -> dict[tuple[int, str], Reveal]:
        reveals: dict[tuple[int, str], Reveal] = {}
        for index, name, salt_hex, value in items:
            if index >= len(cs.ops) or name not in cs.ops[index].sealed:
                raise refuse(
                    "malformed", f"Changeset {cs_id[:12]} reveals a field it never sealed."
                )
            reveal = Reveal(bytes.fromhex(salt_hex), value)
            if reveal.commitment() != cs.ops[index].sealed[name]:
                raise refuse("digest", f"A withheld value in changeset {cs_id[:12]} was altered.")
            reveals[(index, name)] = reveal
        return reveals


def _refuse_unsafe_text(
    cs: Changeset, cs_id: str, reveals: dict[tuple[int, str], Reveal], body: bytes
) -> None:
    """Refuse the bundle when a changeset would record text that can deceive the screen:
    control characters, bidirectional overrides, broken characters (storage.text_rules).
    The local write path refuses them too; a hostile or outdated peer may not. `body` is
    the changeset's bytes: when they cannot hold such text, its values are not looked at
    one by one (revealed values travel beside the body: they are)."""
    if not reveals and not may_hold_refused_text(body):
        return
    values: list[tuple[str, str, object]] = [("changeset", "author", cs.author)]
    for index, op in enumerate(cs.ops):
        values.extend((op.entity, name, value) for name, value in op.fields.items())
        values.extend(
            (op.entity, name, reveal.value) for (at, name), reveal in reveals.items() if at == index
        )
    for kind, name, value in values:
        if problem := field_text_problem(kind, name, value, advice="nothing was imported."):
            raise refuse(
                "unsafe text",
                f"The bundle is refused: changeset {cs_id[:12]} would record text that could"
                f" deceive the screen. {problem} Ask the sending office to correct that text"
                " and send a new bundle.",
            )


def stage(
    ws: Workspace,
    head: OpenHead,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Staged:
    """Decrypt and verify every part against the signed manifest; nothing is applied."""
    staged = Staged(head, ChangesetSpool(ws.paths.root))

    def open_blob(size: int, sha: str) -> _StagingSink:
        try:
            writer = ws.blobs.writer()
        except OSError as exc:
            raise _disk_failed(exc) from None
        staged.writers.append(writer)
        return _StagingSink(staged, writer, cancel)

    manifest = head.manifest
    total = sum(int(p["size"]) for p in manifest["parts"])
    done = 0
    verifier: _Verifier | None = None
    try:
        verifier = _Verifier(ws, head, staged)
        parser = PayloadParser(verifier, open_blob)
        for number, part in enumerate(manifest["parts"], start=1):
            done += _stage_part(ws, head, number, part, parser, cancel)
            if progress:
                progress(done, total)
        parser.finish()
        failed = verifier.signatures.finish()
        if failed:
            message = f"Changeset {failed[0][:12]} has a signature that does not verify."
            raise refuse("signature", message)
        payload = manifest["payload"]
        complete = (
            parser.size == payload["size"]
            and parser.digest.hexdigest() == payload["sha256"]
            and parser.changesets == payload["changesets"]
            and parser.blobs == payload["blobs"]
        )
        if not complete:
            raise refuse("digest", "The bundle's contents do not match its signed manifest.")
    except BaseException:
        if verifier is not None:
            verifier.signatures.close()
        staged.discard(ws)
        raise
    return staged


def _open_part(path: Path) -> BinaryIO:
    """A part file (regular files only, never a link), read in large slices."""
    return open_regular(path, buffering=1 << 20)


def _stage_part(
    ws: Workspace,
    head: OpenHead,
    number: int,
    part: dict[str, Any],
    parser: PayloadParser,
    cancel: threading.Event | None,
) -> int:
    path = head.path.parent / f"{part['name']}{PART_SUFFIX}"
    count = len(head.manifest["parts"])
    try:
        handle = _open_part(path)
        size = os.fstat(handle.fileno()).st_size
    except NotARegularFile as exc:
        raise refuse(
            NOT_A_FILE,
            f"Part {number} of {count} of the bundle ({path.name}) is {exc.kind}, not a"
            " bundle file; nothing was read from it and the bundle is refused.",
        ) from None
    except OSError:
        raise refuse(
            "missing part", f"Part {number} of {count} of the bundle is missing ({path.name})."
        ) from None
    with handle:
        if size != part["size"]:
            raise refuse(
                "digest",
                f"Part {number} of {count} is {size:,} bytes where the signed manifest says"
                f" {part['size']:,} (cut short, padded, or a part of another bundle).",
            )
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        stream = ParserStream(parser)
        sink = io.BufferedWriter(stream, buffer_size=1 << 20)
        try:
            _decrypt_part(ws, handle, sink, path, number, count)
        except BaseException:
            stream.abandon()  # what the buffer still holds must not reach the parser
            raise
        finally:
            sink.close()
    return size


def _decrypt_part(
    ws: Workspace, handle: BinaryIO, sink: BinaryIO, path: Path, number: int, count: int
) -> None:
    """Decrypt one part into the parser, turning failures into plain refusals."""
    try:
        age_reader.decrypt(handle, sink, [private for _, private in our_keys(ws)])
        sink.flush()
    except (SyncError, Cancelled):
        raise
    except OSError as exc:
        if exc.errno is not None:  # the device, not the data: a stick pulled out
            raise TransferFailed(
                f"Reading {path} failed ({exc.strerror}); was the stick removed? Nothing"
                " was imported; import again once it is back."
            ) from None
        raise _damaged(number, count) from None
    except (pyrage.DecryptError, ValueError):
        raise _damaged(number, count) from None


def _damaged(number: int, count: int) -> BundleRefused:
    return refuse("damaged", f"Part {number} of {count} of the bundle is damaged or cut short.")


# -- applying ------------------------------------------------------------------------------


class _Present:
    """Which changesets are here: asked of the database once each, then remembered.
    Within a batch, what is added is journalled so that a rolled-back batch is forgotten."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._known: set[str] = set()
        self._journal: list[str] | None = None

    def add(self, cs_id: str) -> None:
        if self._journal is not None and cs_id not in self._known:
            self._journal.append(cs_id)
        self._known.add(cs_id)

    def remembers(self, cs_id: str) -> bool:
        """Known to be here without asking the database."""
        return cs_id in self._known

    def __contains__(self, cs_id: object) -> bool:
        if cs_id in self._known:
            return True
        row = self._conn.execute("SELECT 1 FROM changesets WHERE id = ?", (cs_id,)).fetchone()
        # A restricted peer's edit may name an op of the projection we wrote for it: that
        # changeset is ours, kept apart, and nothing waits for it.
        if row or is_our_projection(self._conn, str(cs_id)):
            self.add(str(cs_id))
            return True
        return False

    def begin(self) -> None:
        """Start remembering additions, to forget them if the batch is rolled back."""
        self._journal = []

    def end(self, *, keep: bool) -> None:
        """Keep or forget what the batch added."""
        if not keep and self._journal is not None:
            self._known.difference_update(self._journal)
        self._journal = None


def _needs(present: _Present, item: StagedChangeset) -> list[str]:
    """Changesets this one builds on that are not here yet."""
    wanted = {item.case_prev} if item.case_prev else set()
    for op in item.changeset.ops:
        for refs in op.prev.values():
            wanted.update(ref.split(":", 1)[0] for ref in prev_refs(refs))
    return [cs_id for cs_id in sorted(wanted) if cs_id not in present]


def held_items(ws: Workspace) -> list[StagedChangeset]:
    """Changesets held back by sync.authority in earlier imports, to offer again: a grant
    that arrived since may make them valid."""
    rows = ws.conn.execute(
        "SELECT id, body, sig, reveals FROM quarantine WHERE held_for != '' ORDER BY at, id"
    )
    items = []
    for cs_id, body, sig, reveals in rows:
        body = bytes(body)
        # Held back only once what they build on had arrived: nothing more to wait for.
        items.append(
            StagedChangeset(
                str(cs_id), decode(body), body, bytes(sig), "", decode_reveals(str(reveals))
            )
        )
    return items


def retry_held(ws: Workspace) -> int:
    """Offer the changesets held back for lack of a grant again (after a local share):
    those the grants now allow are applied. Returns how many were."""
    with ws.transaction() as conn:
        held = held_items(ws)
        if not held:
            return 0
        outcome = _apply_all(ws, held, set(), {item.cs_id for item in held})
        _record_held(conn, outcome, "", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        for item, reason in outcome.quarantined:  # refused for good meanwhile (a revocation)
            conn.execute(
                "UPDATE quarantine SET reason = ?, held_for = '' WHERE id = ?",
                (reason, item.cs_id),
            )
        if outcome.released:
            ws.set_meta("hlc", str(ws.clock.last))
            audit.append(conn, ws.author, "held back changesets applied", "", len(outcome.released))
    return len(outcome.released)


def _parked_items(ws: Workspace) -> list[StagedChangeset]:
    """Changesets parked by earlier imports, to try again."""
    items = []
    rows = ws.conn.execute(
        "SELECT id, body, sig, reveals, needs FROM parked_changesets ORDER BY parked_at, id"
    )
    for cs_id, body, sig, reveals, needs in rows:
        body = bytes(body)
        case_prev = str(json.loads(needs)["case_prev"])
        items.append(
            StagedChangeset(
                str(cs_id), decode(body), body, bytes(sig), case_prev, decode_reveals(reveals)
            )
        )
    return items


@dataclass
class _Outcome:
    """What applying did, kept small: counts and the few items later steps need."""

    applied: int = 0
    unparked: list[str] = field(default_factory=list)  # ids of earlier parked, now applied
    cases: set[str] = field(default_factory=set)
    evidence_created: list[tuple[str, str, str]] = field(default_factory=list)
    rotations: list[Op] = field(default_factory=list)
    duplicates: int = 0
    conflicts: int = 0
    waiting: dict[str, tuple[StagedChangeset, str, list[str]]] = field(default_factory=dict)
    quarantined: list[tuple[StagedChangeset, str]] = field(default_factory=list)
    # Refused by sync.authority for now: quarantined with the reason unless a grant that
    # lands later in the same import makes them valid.
    held: dict[str, tuple[StagedChangeset, Refusal]] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)  # held back earlier, applied now
    held_before: set[str] = field(default_factory=set)  # held back by earlier imports
    settled: set[str] = field(default_factory=set)  # ids no longer waiting
    # A changeset of our own origin and present epoch that this workspace did not write:
    # another copy of it (a cloned disk, a backup restored twice by hand) writes there.
    own_epoch_shared: bool = False

    def settle(self, cs_id: str) -> None:
        """`cs_id` landed, or was refused: it no longer waits."""
        self.waiting.pop(cs_id, None)
        self.held.pop(cs_id, None)
        self.settled.add(cs_id)

    def merge(self, batch: _Outcome) -> None:
        """Add what a batch did (each changeset appears in a batch once)."""
        self.applied += batch.applied
        self.unparked.extend(batch.unparked)
        self.released.extend(batch.released)
        self.cases |= batch.cases
        self.evidence_created.extend(batch.evidence_created)
        self.rotations.extend(batch.rotations)
        self.duplicates += batch.duplicates
        self.conflicts += batch.conflicts
        for cs_id in batch.settled:
            self.waiting.pop(cs_id, None)
            self.held.pop(cs_id, None)
        self.waiting.update(batch.waiting)
        self.held.update(batch.held)
        self.quarantined.extend(batch.quarantined)
        self.settled |= batch.settled
        self.own_epoch_shared |= batch.own_epoch_shared

    def note_applied(self, item: StagedChangeset, parked: set[str], held: set[str]) -> None:
        self.applied += 1
        if item.cs_id in parked:
            self.unparked.append(item.cs_id)
        if item.cs_id in held:
            self.released.append(item.cs_id)
        self.cases.add(item.changeset.case_id)
        for op in item.changeset.ops:
            if op.entity == "evidence" and op.kind == "create" and "sha256" in op.fields:
                evidence = (item.changeset.case_id, op.entity_id, str(op.fields["sha256"]))
                self.evidence_created.append(evidence)
            if op.entity == "trust" and op.fields.get("statement") == "rotate":
                self.rotations.append(op)


_OUR_PROJECTION = "ours"  # a projection this office wrote, sent back to it


class _BatchSpoiled(Exception):
    """A changeset failed half-way inside a batch: the batch is replayed one by one."""


class _Applier:
    """Applies changesets in batches, each in one savepoint; when a changeset in a batch
    fails, the batch is rolled back and replayed one changeset per savepoint, so a bad one
    cannot spoil the rest. What waits for a predecessor is set aside and retried as others
    land. (A savepoint per changeset would also make the search index write a segment per
    changeset.)"""

    BATCH = 500
    # Runs of changesets that only create new records are written many rows at a time
    # (storage.apply.BulkCreates); tests turn this off to compare with one at a time.
    BULK = True

    def __init__(self, ws: Workspace, parked: set[str], held: set[str]) -> None:
        self._ws = ws
        self._conn = ws.conn
        self._bulk = BulkCreates(ws.conn)
        self._parked = parked
        self._held = held
        self._present = _Present(ws.conn)
        self._revocations: dict[str, tuple[int, int, str] | None] = {}
        self._authority = Authority(ws.conn)
        # Cases found in the database while applying (storage.apply asks once per case);
        # emptied with every rollback to a savepoint, which may take a case away.
        self._cases_here: set[str] = set()
        # Changesets quarantined earlier (a revocation since retracted, say) that a peer
        # sends again: when one applies now, its quarantine entry goes.
        self._quarantined = {str(r[0]) for r in ws.conn.execute("SELECT id FROM quarantine")}
        self.outcome = _Outcome()

    def offer_all(self, items: Iterable[StagedChangeset]) -> list[StagedChangeset]:
        """Apply what can be applied of `items`, in order; those that must wait."""
        waiting: list[StagedChangeset] = []
        batch: list[StagedChangeset] = []
        for item in items:
            batch.append(item)
            if len(batch) >= self.BATCH:
                waiting.extend(self._offer_batch(batch))
                batch = []
        waiting.extend(self._offer_batch(batch))
        return waiting

    def _offer_batch(self, batch: list[StagedChangeset]) -> list[StagedChangeset]:
        if not batch:
            return []
        whole = _Outcome()
        self._present.begin()
        self._conn.execute("SAVEPOINT batch")
        if self.BULK:
            self._bulk.look_ahead(item.changeset for item in batch)
        try:
            waiting = [item for item in batch if not self._offer(item, whole, alone=False)]
            self._bulk.flush()
        except _BatchSpoiled:
            self._bulk.discard()
            self._conn.execute("ROLLBACK TO batch")
            self._conn.execute("RELEASE batch")
            self._present.end(keep=False)
            self._revocations.clear()
            self._authority.forget()
            self._cases_here.clear()
            return [item for item in batch if not self._offer(item, self.outcome, alone=True)]
        self._conn.execute("RELEASE batch")
        self._present.end(keep=True)
        self.outcome.merge(whole)
        return waiting

    def _revoked(self, item: StagedChangeset) -> str | None:
        origin = item.changeset.origin
        if origin not in self._revocations:
            self._revocations[origin] = revoked_after(self._conn, origin)
        revoked = self._revocations[origin]
        if revoked and (item.changeset.epoch, item.changeset.seq) > revoked[:2]:
            return takeback.revoked_sentence(revoked[1], revoked[2])
        return None

    def _offer(self, item: StagedChangeset, outcome: _Outcome, *, alone: bool) -> bool:
        """Apply `item` if it can be; False when it must wait. Alone, it has its own
        savepoint; in a batch, a failure spoils the batch (`_BatchSpoiled`). In a batch,
        a changeset that only creates new records may be taken by the bulk path: the
        rows it holds back are written before anything else reads the database."""
        if self.BULK and not alone and self._taken_in_bulk(item, outcome):
            return True
        self._bulk.flush()
        if self._present.remembers(item.cs_id):  # the database is asked by apply itself
            outcome.duplicates += 1
            outcome.settle(item.cs_id)
            return True
        projection = self._projection_refusal(item)
        if projection == _OUR_PROJECTION:
            outcome.duplicates += 1  # ours, sent back: we keep it apart and never apply it
            outcome.settle(item.cs_id)
            return True
        if projection:
            outcome.settle(item.cs_id)
            outcome.quarantined.append((item, projection))
            return True
        reason = self._revoked(item)
        if reason and item.cs_id in self._present:
            reason = None  # held from before the revocation: a plain duplicate
        if reason:
            outcome.settle(item.cs_id)
            outcome.quarantined.append((item, reason))
            if item.changeset.case_id == "":  # a thief's rotation still marks its new key
                self._hold_key_statement(item)
            return True
        # What a held-back changeset builds on has arrived: it was refused, not lost.
        needs = [n for n in _needs(self._present, item) if not self._is_held(n, outcome)]
        if needs:
            outcome.waiting[item.cs_id] = (item, "waits for earlier changesets", needs)
            return False
        refusal = self._authority.refusal(item.changeset)
        if refusal is not None:
            outcome.waiting.pop(item.cs_id, None)
            outcome.held[item.cs_id] = (item, refusal)
            return False  # a grant later in this import may make it valid
        try:
            result = self._apply(item, alone)
        except MissingRecord as exc:
            outcome.held.pop(item.cs_id, None)
            outcome.waiting[item.cs_id] = (item, str(exc), [])
            return False
        except ClockAhead as exc:  # held back, offered again until our clock catches up
            outcome.waiting.pop(item.cs_id, None)
            outcome.held[item.cs_id] = (item, Refusal(str(exc), ClockAhead.HELD_FOR))
            return False
        except ApplyError as exc:
            outcome.settle(item.cs_id)
            outcome.quarantined.append((item, str(exc)))
            outcome.own_epoch_shared |= isinstance(exc, ForkDetected) and self._in_own_epoch(item)
            return True
        if result.duplicate:
            self._present.add(item.cs_id)
            outcome.duplicates += 1
            outcome.settle(item.cs_id)
            return True
        self._bulk.noted_applied(item.changeset, item.cs_id, result.touched)
        self._landed(item, outcome, result.conflicts)
        return True

    def _taken_in_bulk(self, item: StagedChangeset, outcome: _Outcome) -> bool:
        """Apply `item` by the bulk path when every step of `_offer` would simply apply
        it: another office's changeset that only creates new records, reveals nothing to
        keep, is no projection, was never quarantined here, is not yet here, builds on
        nothing, by a signer the authority trusts fully (without reading records), and
        that `BulkCreates` finds new and valid. False leaves it to `_offer`'s one-by-one
        steps, which decide it from scratch."""
        cs = item.changeset
        if (
            cs.origin == self._ws.origin
            or item.reveals
            or item.cs_id in self._quarantined
            or projected_for(cs.author) is not None
            or any(op.prev for op in cs.ops)
            or (item.case_prev and item.case_prev not in self._present)
            or self._present.remembers(item.cs_id)
            or self._revoked(item) is not None
            or not self._authority.trusts_fully(cs)
            or not self._bulk.add(cs, item.cs_id, item.body, item.sig, cases_here=self._cases_here)
        ):
            return False
        # What `_landed` does for such a changeset: not ours, no key statement, no grant,
        # never quarantined here, no conflicts.
        self._ws.clock.observe(Stamp.parse(cs.hlc))
        self._present.add(item.cs_id)
        outcome.settle(item.cs_id)
        outcome.note_applied(item, self._parked, self._held)
        return True

    def _landed(self, item: StagedChangeset, outcome: _Outcome, conflicts: int) -> None:
        """Bookkeeping for a changeset just applied."""
        outcome.own_epoch_shared |= self._in_own_epoch(item)
        # Our next edit must rank after what we have now seen (far-future clocks clamped).
        self._ws.clock.observe(Stamp.parse(item.changeset.hlc))
        self._present.add(item.cs_id)
        if item.cs_id in self._quarantined:
            self._conn.execute("DELETE FROM quarantine WHERE id = ?", (item.cs_id,))
        if item.changeset.case_id == "":  # a key statement: revocations may have changed
            self._revocations.clear()
        self._authority.after_applied(item.changeset)
        outcome.settle(item.cs_id)
        outcome.note_applied(item, self._parked, self._held)
        outcome.conflicts += conflicts

    def _is_held(self, cs_id: str, outcome: _Outcome) -> bool:
        """True for a changeset sync.authority holds back (in this import or before)."""
        return cs_id in outcome.held or cs_id in self.outcome.held or cs_id in self._held

    def _hold_key_statement(self, item: StagedChangeset) -> None:
        """Keep a key statement refused for its revoked signer where storage.key_trust
        reads it, so the key a stolen key announced is refused from here on too."""
        cs = item.changeset
        key_trust.hold_quarantined(
            self._conn, item.cs_id, cs.origin, (cs.epoch, cs.seq), cs.hlc, item.body
        )
        self._revocations.clear()

    def _projection_refusal(self, item: StagedChangeset) -> str | None:
        """Why a changeset must not be applied here as a projection (None when it is no
        projection, or one written for us): only the peer a projection was written for
        applies it. One we wrote ourselves and got back is _OUR_PROJECTION."""
        cs = item.changeset
        reader = projected_for(cs.author)
        if reader is None:
            return None
        ours = {origin for origin, _ in our_keys(self._ws)}
        if cs.origin in ours:
            if is_our_projection(self._conn, item.cs_id):
                return _OUR_PROJECTION
            return (
                f"Held back: changeset {item.cs_id[:12]} claims to be a projection this office"
                " wrote, but it never wrote it; it is not applied."
            )
        if reader in ours:
            return None
        row = self._conn.execute(
            "SELECT office_name FROM origins WHERE origin = ?", (cs.origin,)
        ).fetchone()
        writer = f"{one_line(str(row[0]), 80)} ({cs.origin[:8]}…)" if row else cs.origin[:12]
        return (
            f"Held back: changeset {item.cs_id[:12]} is a projection that {writer} wrote for"
            f" another office ({reader[:8]}…); a projection is applied only by the office it"
            " was written for."
        )

    def _in_own_epoch(self, item: StagedChangeset) -> bool:
        """True for a changeset of our origin in the epoch we write in now."""
        return item.changeset.origin == self._ws.origin and item.changeset.epoch == self._ws.epoch

    def _apply(self, item: StagedChangeset, alone: bool) -> ApplyResult:
        """Apply one changeset; a refusal leaves the database as it was (alone), or spoils
        the batch."""
        args = (self._conn, item.changeset, item.cs_id, item.body, item.sig, item.reveals)
        if not alone:
            try:
                return apply_changeset(*args, cases_here=self._cases_here)
            except ApplyError:
                raise _BatchSpoiled() from None
        self._conn.execute("SAVEPOINT change")
        try:
            result = apply_changeset(*args, cases_here=self._cases_here)
        except ApplyError:
            self._conn.execute("ROLLBACK TO change")
            self._conn.execute("RELEASE change")
            self._cases_here.clear()
            raise
        self._conn.execute("RELEASE change")
        return result


def _apply_all(
    ws: Workspace,
    items: Iterable[StagedChangeset],
    parked: set[str] | None = None,
    held: set[str] | None = None,
) -> _Outcome:
    """Apply `items` in order (streamed), then retry what had to wait until nothing more
    lands. `parked` and `held` name the items parked or held back by earlier imports."""
    applier = _Applier(ws, parked or set(), held or set())
    applier.outcome.held_before = held or set()
    still = applier.offer_all(items)
    while still:
        before = len(still)
        still = applier.offer_all(still)
        if len(still) == before:
            break
    return applier.outcome


def _note_taken_back(outcome: _Outcome, taken: takeback.TakenBack) -> None:
    """Record what a late ungrant or revocation took back (sync.takeback) as the import
    records what it refuses or parks itself: held back with the authority's sentence,
    refused for good with a revoked key's, parked when it built on a record now gone."""
    gone = taken.ids()
    if not gone:
        return
    for name in ("unparked", "released"):
        kept = [cs_id for cs_id in getattr(outcome, name) if cs_id not in gone]
        outcome.applied -= len(getattr(outcome, name)) - len(kept)
        setattr(outcome, name, kept)
    outcome.evidence_created = [
        item for item in outcome.evidence_created if item[1] not in taken.gone_evidence
    ]
    for removed, refusal in taken.held:
        outcome.held[removed.cs_id] = (_staged(removed), refusal)
    for removed, sentence in taken.revoked:
        outcome.quarantined.append((_staged(removed), sentence))
    for removed in taken.parked:
        reason = removed.missing or "waits for earlier changesets"
        outcome.waiting[removed.cs_id] = (_staged(removed), reason, list(removed.needs))


def _staged(removed: Removed) -> StagedChangeset:
    return StagedChangeset(
        removed.cs_id, removed.changeset, removed.body, removed.sig, "", removed.reveals
    )


def _commit_blobs(ws: Workspace, staged: Staged, created: list[Path]) -> None:
    now = dt.datetime.now(dt.UTC).isoformat()
    for blob in staged.blobs:
        known = ws.conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (blob.sha256,)).fetchone()
        if known:
            ws.blobs.discard(blob)
            continue
        name = ws.blobs.commit(blob)
        created.append(ws.blobs.path_of(name))
        ws.conn.execute(
            "INSERT INTO blobs(sha256, size, store_name, blob_key, stored_at) VALUES (?,?,?,?,?)",
            (blob.sha256, blob.size, name, blob.key, now),
        )


def apply_staged(ws: Workspace, staged: Staged) -> ImportReport:
    """Apply a verified bundle in one transaction: all of it or none of it."""
    head = staged.head
    report = _report_for(head, "imported")
    created: list[Path] = []
    try:
        with ws.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO origins(origin, signing_public, office_name) VALUES (?,?,?)",
                (head.sender.origin, head.sender.signing_public, head.sender.office_name),
            )
            for intro in head.manifest["introductions"]:
                conn.execute(
                    "INSERT OR IGNORE INTO origins(origin, signing_public, office_name)"
                    " VALUES (?,?,?)",
                    (intro["origin"], bytes.fromhex(intro["signing_public"]), intro["office_name"]),
                )
            courier = check_courier(ws, head.sender, staged.spool, head.endorsed_from)
            courier.leave_out_files(ws, staged.blobs)
            _commit_blobs(ws, staged, created)
            parked_before = _parked_items(ws)
            held_before = held_items(ws)
            before = takeback.before_import(conn)
            outcome = _apply_all(
                ws,
                courier.admitted(staged.spool, [*parked_before, *held_before]),
                {item.cs_id for item in parked_before},
                {item.cs_id for item in held_before},
            )
            _note_taken_back(outcome, takeback.take_back_late_refusals(ws, before))
            if head.endorsed_from:
                if not endorsement_counts(ws, head.endorsed_from, head.sender.origin):
                    raise refuse("revoked", endorsement_refusal(ws, head.endorsed_from))
                adopt_rotated_peer(ws, head.endorsed_from, head.sender)
            _record_outcome(ws, staged, outcome, report)
            report.not_taken = courier.record(ws, head.bundle_id)
            ws.set_meta("hlc", str(ws.clock.last))
    except BaseException:
        for path in created:
            with contextlib.suppress(OSError):
                path.unlink()
        staged.discard(ws)
        raise
    staged.spool.close()
    return report


def _record_outcome(ws: Workspace, staged: Staged, outcome: _Outcome, report: ImportReport) -> None:
    conn = ws.conn
    head = staged.head
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for cs_id in outcome.unparked:
        conn.execute("DELETE FROM parked_changesets WHERE id = ?", (cs_id,))
    for item, reason in outcome.quarantined:
        conn.execute("DELETE FROM parked_changesets WHERE id = ?", (item.cs_id,))
        conn.execute(
            "INSERT OR REPLACE INTO quarantine(id, origin, body, sig, reason, bundle_id, at)"
            " VALUES (?,?,?,?,?,?,?)",
            (item.cs_id, item.changeset.origin, item.body, item.sig, reason, head.bundle_id, now),
        )
    _record_held(conn, outcome, head.bundle_id, now)
    for cs_id, (item, reason, needs) in outcome.waiting.items():
        conn.execute(
            "INSERT OR IGNORE INTO parked_changesets(id, body, sig, reveals, needs, reason,"
            " bundle_id, parked_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                cs_id,
                item.body,
                item.sig,
                item.reveals_json(),
                json.dumps({"case_prev": item.case_prev, "changesets": needs}),
                reason,
                head.bundle_id,
                now,
            ),
        )
    arrived = {blob.sha256 for blob in staged.blobs}
    received = [item for item in outcome.evidence_created if item[2] in arrived]
    record_handoff(ws, received, "received in bundle", head.sender.office_name)
    _adopt_rotations(ws, outcome.rotations)
    # Whom a case goes to is what its signed grants say (storage.grants), never what a peer
    # sends: a changeset naming a case it was not given earns it nothing.
    report.changesets = outcome.applied - len(outcome.unparked) - len(outcome.released)
    report.unparked = len(outcome.unparked)
    report.released = len(outcome.released)
    report.duplicates = outcome.duplicates
    report.conflicts = outcome.conflicts
    report.evidence = len(received)
    report.cases = outcome.cases - {""}
    report.parked = len(outcome.waiting)
    report.parked_reasons = sorted({reason for _, reason, _ in outcome.waiting.values()})
    newly_held = [
        refusal.sentence
        for cs_id, (_, refusal) in outcome.held.items()
        if cs_id not in outcome.held_before
    ]
    report.quarantined = len(outcome.quarantined) + len(newly_held)
    report.quarantine_reasons = sorted(
        {reason for _, reason in outcome.quarantined} | set(newly_held)
    )
    receipts = accepted_receipts(ws, head.sender, head.endorsed_from, head.manifest["receipts"])
    report.receipts_refused = receipts.refused
    summary = report.to_json()
    del summary["file"], summary["message"]
    conn.execute(
        "INSERT INTO bundles_in(bundle_id, sender, created, imported_at, summary)"
        " VALUES (?,?,?,?,?)",
        (head.bundle_id, head.sender.origin, head.manifest["created"], now, json.dumps(summary)),
    )
    conn.execute(
        "UPDATE peers SET holdings = ?, holdings_at = ? WHERE origin = ?",
        (
            json.dumps(check_holdings(head.manifest["holdings"])),
            head.manifest["created"],
            head.sender.origin,
        ),
    )
    receipt = {
        "bundle_id": head.bundle_id,
        "imported_at": now,
        "changesets": report.changesets,
        "duplicates": report.duplicates,
        "evidence": report.evidence,
        "parked": report.parked,
        "quarantined": report.quarantined,
    }
    if head.manifest["payload"]["changesets"]:
        # Only bundles that carried changes are answered: answering a bare receipt with
        # another would keep two offices writing empty bundles for each other forever.
        conn.execute(
            "INSERT OR REPLACE INTO receipts_due(bundle_id, peer_origin, receipt) VALUES (?,?,?)",
            (head.bundle_id, head.sender.origin, canonical.encode(receipt).decode()),
        )
    for incoming in receipts.accepted:
        audit.append(conn, ws.author, "receipt received", incoming["bundle_id"], incoming)
    for sentence in receipts.refused:
        audit.append(conn, ws.author, "receipt refused", head.bundle_id, {"message": sentence})
    audit.append(conn, ws.author, "bundle imported", head.bundle_id, summary)
    _note_own_work_back(ws, head, now, [str(r["bundle_id"]) for r in receipts.accepted])
    if outcome.own_epoch_shared:
        ws.start_new_epoch(
            f"{head.sender.office_name} sent changes of this office's present epoch that this"
            " workspace did not write: another copy of it writes there"
        )


def _record_held(conn: Any, outcome: _Outcome, bundle_id: str, now: str) -> None:
    """Quarantine what sync.authority held back, with its sentence (an earlier hold keeps
    its bundle and time); forget holds that a grant has now made valid."""
    for cs_id in outcome.released:
        conn.execute("DELETE FROM quarantine WHERE id = ?", (cs_id,))
    for cs_id, (item, refusal) in outcome.held.items():
        conn.execute("DELETE FROM parked_changesets WHERE id = ?", (cs_id,))
        conn.execute(
            "INSERT INTO quarantine(id, origin, body, sig, reason, bundle_id, at, held_for,"
            " reveals) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
            " reason = excluded.reason, held_for = excluded.held_for",
            (
                cs_id,
                item.changeset.origin,
                item.body,
                item.sig,
                refusal.sentence,
                bundle_id,
                now,
                refusal.held_for,
                item.reveals_json(),
            ),
        )


def _note_own_work_back(ws: Workspace, head: OpenHead, now: str, answered: list[str]) -> None:
    """After a restore, our work after the backup counts as back once a peer that holds
    nothing of ours we lack either held our work from before the restore (it gave back
    all it had) or answered a bundle we wrote after the restore (it knew what we hold)."""
    if not ws.awaiting_own_work:
        return
    holdings = _without_projections(ws, check_holdings(head.manifest["holdings"]))
    ours = [origin for origin, _ in our_keys(ws)]
    knew_earlier_work = any(
        epoch != ws.epoch for origin in ours for epoch, _, _ in holdings.get(origin, [])
    )
    restored_at = ws.meta("restored_at")
    answered_since = any(
        ws.conn.execute(
            "SELECT 1 FROM bundles_out WHERE bundle_id = ? AND created >= ?",
            (bundle_id, restored_at),
        ).fetchone()
        for bundle_id in answered
    )
    if not (knew_earlier_work or answered_since) or lacks_any_of(ws.conn, holdings, ours):
        return
    ws.set_meta("own_work_back_at", now)
    audit.append(ws.conn, ws.author, "own work back", head.bundle_id, head.sender.office_name)


def _without_projections(ws: Workspace, holdings: Holdings) -> Holdings:
    """A restricted peer's holdings name the projection we wrote for it under our origin:
    that is not our own work, which only `changesets` holds."""
    epochs = projection_epochs(ws.conn)
    ours = {origin for origin, _ in our_keys(ws)}
    return {
        origin: [r for r in ranges if origin not in ours or int(r[0]) not in epochs]
        for origin, ranges in holdings.items()
    }


def _adopt_rotations(ws: Workspace, rotations: list[Op]) -> None:
    """A peer that replaced its keys stays the same peer under its new keys, on probation
    (a new key is never `verified`), when its rotation counts here (storage.key_trust: it
    was announced at or before any revocation point of the old key)."""
    if not rotations:
        return
    trust = key_trust.current(ws.conn)
    for op in rotations:
        old = peer_by_origin(ws, str(op.fields["subject"]))
        signing = bytes.fromhex(str(op.fields["new_signing_public"]))
        if old is None or not honoured_rotation(trust, old.origin, origin_of(signing)):
            continue
        new = Peer(
            origin_of(signing)[:16],
            origin_of(signing),
            str(op.fields.get("office_name") or old.office_name),
            old.role,
            signing,
            bytes.fromhex(str(op.fields["new_encryption_public"])),
            "",
            "",
        )
        adopt_rotated_peer(ws, old.origin, new)


def _report_for(head: OpenHead, status: str) -> ImportReport:
    return ImportReport(
        head.path,
        status,
        bundle_id=head.bundle_id,
        sender=head.sender.office_name,
        sender_id=head.sender.peer_id,
        created=str(head.manifest["created"]),
    )


# -- the whole import ----------------------------------------------------------------------


def import_bundle(
    ws: Workspace,
    path: Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ImportReport:
    """Import one bundle; every outcome (refusals included) comes back as a report, and a
    refused bundle leaves the workspace exactly as it was."""
    try:
        head = open_head(ws, path, adopt=True)
    except NotForUs as exc:
        return ImportReport(path, "not for us", str(exc))
    except OurOwn as exc:
        return ImportReport(path, "ours", str(exc))
    except BundleParked as exc:
        return _park(ws, path, exc)
    except BundleRefused as exc:
        _audit_refusal(ws, path, exc)
        return ImportReport(path, "refused", str(exc), reason=exc.reason)
    if ws.conn.execute(
        "SELECT 1 FROM bundles_in WHERE bundle_id = ?", (head.bundle_id,)
    ).fetchone():
        report = _report_for(head, "already imported")
        report.message = "This bundle was imported before; nothing changed."
        return report
    try:
        staged = stage(ws, head, progress, cancel)
    except BundleRefused as exc:
        _audit_refusal(ws, path, exc)
        report = _report_for(head, "refused")
        report.message, report.reason = str(exc), exc.reason
        return report
    except TransferFailed as exc:
        report = _report_for(head, "failed")
        report.message = str(exc)
        return report
    try:
        return apply_staged(ws, staged)
    except BundleRefused as exc:
        _audit_refusal(ws, path, exc)
        report = _report_for(head, "refused")
        report.message, report.reason = str(exc), exc.reason
        return report
    except sqlcipher.DatabaseError as exc:
        report = _report_for(head, "failed")
        report.message = (
            f"The workspace could not record the import ({exc}); is its disk full? Nothing"
            " was imported; free some space and import again."
        )
        return report


def _audit_refusal(ws: Workspace, path: Path, exc: BundleRefused) -> None:
    ws.record("bundle refused", path.name, {"reason": exc.reason, "message": str(exc)})


def _park(ws: Workspace, path: Path, parked: BundleParked) -> ImportReport:
    """Keep a bundle of an unknown or unverified sender (only what its manifest names,
    within the caps of `sync.parked_bundles`), or say why it was not kept."""
    if is_parked_copy(ws, path) or parked.manifest is None:
        return ImportReport(path, "parked", str(parked), reason=parked.reason)
    waits = UNVERIFIED_SENDER if parked.reason == UNVERIFIED else UNKNOWN_SENDER
    try:
        kept = park_bundle(ws, path, parked.manifest, waits)
    except BundleRefused as exc:
        refusal = refuse(exc.reason, f"{parked} {exc}")
        _audit_refusal(ws, path, refusal)
        return ImportReport(path, "refused", str(refusal), reason=refusal.reason)
    report = ImportReport(path, "parked", f"{parked} {kept}", reason=parked.reason)
    report.bundle_id = str(parked.manifest["bundle_id"])
    report.sender = one_line(str(parked.manifest["sender"]["office_name"]), 120)
    return report


def import_paths(
    ws: Workspace,
    paths: Sequence[Path],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[ImportReport]:
    """Import every bundle found under `paths`, then retry bundles parked earlier."""
    remove_interrupted(ws)
    reports = [import_bundle(ws, head, progress, cancel) for head in find_heads(paths)]
    for head in parked_bundle_heads(ws):
        if peer_by_origin_known(ws, head):
            report = import_bundle(ws, head, progress, cancel)
            reports.append(report)
            if report.status != "parked":
                shutil.rmtree(head.parent, ignore_errors=True)
    return reports


def peer_by_origin_known(ws: Workspace, head: Path) -> bool:
    """True when a parked bundle can now be opened (its sender's card was added)."""
    try:
        open_head(ws, head)
    except BundleParked:
        return False
    except SyncError:
        return True
    return True


# -- looking without applying --------------------------------------------------------------


def inspect_bundle(ws: Workspace, path: Path) -> dict[str, Any]:
    """Sender, recipients, time, counts and the verification result of a bundle, found by
    decrypting and checking all of it; nothing is applied and staged evidence is dropped."""
    if path.is_dir() and not path.is_symlink():  # asked about a folder: say so, plainly
        raise SyncError(f"{path} is a folder, not a bundle; give its {HEAD_SUFFIX} file.")
    info: dict[str, Any] = {"file": str(path)}
    try:
        head = open_head(ws, path)
    except OurOwn:
        manifest = read_own_manifest(ws, path) or {}
        if manifest:
            payload = manifest["payload"]
            info.update(
                {
                    "bundle_id": manifest["bundle_id"],
                    "sender": f"{ws.office_name} (this installation)",
                    "recipients": ", ".join(r["office_name"] for r in manifest["recipients"]),
                    "created": manifest["created"],
                    "changesets": payload["changesets"],
                    "evidence_files": payload["blobs"],
                    "evidence_bytes": payload["blob_bytes"],
                    "parts": len(manifest["parts"]),
                }
            )
        info["verification"] = "written by this installation"
        return info
    except NotForUs as exc:
        info["verification"] = "not for us"
        info["detail"] = str(exc)
        return info
    except BundleParked as exc:
        info["verification"] = (
            "sender not verified" if exc.reason == UNVERIFIED else "unknown sender"
        )
        info["detail"] = str(exc)
        if exc.manifest is not None:
            info["sender"] = one_line(str(exc.manifest["sender"]["office_name"]), 120)
            info["created"] = str(exc.manifest["created"])
        return info
    except BundleRefused as exc:
        info["verification"] = f"refused ({exc.reason})"
        info["detail"] = str(exc)
        return info
    manifest = head.manifest
    payload = manifest["payload"]
    info.update(
        {
            "bundle_id": head.bundle_id,
            "sender": f"{head.sender.office_name} ({head.sender.peer_id})",
            "sender_verified": head.sender.verified,
            "recipients": ", ".join(r["office_name"] for r in manifest["recipients"]),
            "created": manifest["created"],
            "changesets": payload["changesets"],
            "evidence_files": payload["blobs"],
            "evidence_bytes": payload["blob_bytes"],
            "parts": len(manifest["parts"]),
            "bytes": sum(int(p["size"]) for p in manifest["parts"]) + path.lstat().st_size,
        }
    )
    if ws.conn.execute(
        "SELECT 1 FROM bundles_in WHERE bundle_id = ?", (head.bundle_id,)
    ).fetchone():
        info["verification"] = "already imported"
        return info
    try:
        staged = stage(ws, head)
    except BundleRefused as exc:
        info["verification"] = f"refused ({exc.reason})"
        info["detail"] = str(exc)
        return info
    staged.discard(ws)
    info["verification"] = "verified"
    return info
