"""The bundle on the stick: a signed head and encrypted parts, and the payload inside.

    Valise/<random>.part.age   age-encrypted slices of the payload, each under 2 GiB
    Valise/<random>.head.age   age-encrypted head, written last: magic, signed manifest

The manifest (canonical JSON, signed by the sender) names the sender and the recipients,
the bundle id, the time, the sender's holdings and receipts, every part (name and size)
and the payload's size and digest. The digest is the SHA-256 of every payload byte except
evidence contents, which stand in by their own SHA-256 (in each evidence frame's header,
checked as the bytes arrive); so the signature binds every byte without hashing evidence
twice. Each part is a whole age file: age authenticates it chunk by chunk and detects a cut
end. The payload is a sequence of frames:

    b"C" u32 length, then: u32 body length, body, 64-byte signature, canonical JSON
         {"case_prev": id, "reveals": [[op index, field, salt hex, value], ...]}
    b"B" u64 size, 32-byte SHA-256, then the evidence bytes

Every length is checked against a limit before anything is allocated, and nothing from a
bundle is applied until the whole payload has matched the signed manifest.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from storage import canonical
from storage.changesets import MalformedChangeset
from storage.text_rules import text_problem
from sync.errors import BundleRefused
from sync.holdings import check as check_holdings

HEAD_MAGIC = b"VALISE-BUNDLE-HEAD/1\n"
MANIFEST_FORMAT = "valise.bundle"
MANIFEST_VERSION = 1
MANIFEST_DOMAIN = b"valise/bundle-manifest/v1\n"
HEAD_SUFFIX = ".head.age"
PART_SUFFIX = ".part.age"
BUNDLE_FOLDER = "Valise"

MAX_HEAD_BYTES = 4 * 1024 * 1024
MAX_CHANGESET_FRAME = 20 * 1024 * 1024
MAX_BLOB_SIZE = 1 << 40
MAX_PARTS = 10_000
MAX_PART_BYTES = 2 * 1024**3  # FAT32 refuses files of 4 GiB; 2 GiB leaves room
SIGNATURE_BYTES = 64

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_CHANGESET_KIND = ord("C")
_BLOB_KIND = ord("B")


def refuse(reason: str, message: str) -> BundleRefused:
    """A BundleRefused with a short reason code and a sentence for a person."""
    return BundleRefused(reason, message)


# -- the head ------------------------------------------------------------------------------


def encode_head(manifest_bytes: bytes, signature: bytes) -> bytes:
    """The head's plaintext: magic, manifest length, manifest, signature."""
    return HEAD_MAGIC + _U32.pack(len(manifest_bytes)) + manifest_bytes + signature


def split_head(data: bytes) -> tuple[bytes, bytes]:
    """Manifest bytes and signature from a head's plaintext; refuse anything else."""
    if not data.startswith(HEAD_MAGIC):
        raise refuse("malformed", "The bundle's head is not a Valise bundle head.")
    rest = data[len(HEAD_MAGIC) :]
    if len(rest) < 4:
        raise refuse("malformed", "The bundle's head is cut short.")
    (length,) = _U32.unpack_from(rest)
    if len(rest) != 4 + length + SIGNATURE_BYTES:
        raise refuse("malformed", "The bundle's head has the wrong length (cut short or padded).")
    return rest[4 : 4 + length], rest[4 + length :]


def decode_manifest(manifest_bytes: bytes) -> dict[str, Any]:
    """The manifest as a dict after strict parsing and shape checks."""
    try:
        doc = canonical.decode(manifest_bytes)
    except canonical.CanonicalError as exc:
        raise refuse("malformed", f"The bundle's manifest is not valid ({exc}).") from None
    expected = {
        "format",
        "version",
        "bundle_id",
        "created",
        "sender",
        "recipients",
        "holdings",
        "receipts",
        "introductions",
        "endorsement",
        "parts",
        "payload",
    }
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise refuse("malformed", "The bundle's manifest is not a Valise manifest.")
    if doc.get("version") != MANIFEST_VERSION or set(doc) != expected:
        raise refuse("version", "The bundle was written by a Valise version this one cannot read.")
    _check_manifest_shapes(doc)
    return doc


_LOWER_HEX = re.compile(r"[0-9a-f]*")


def _is_hex(value: object, length: int) -> bool:
    return (
        isinstance(value, str) and len(value) == length and _LOWER_HEX.fullmatch(value) is not None
    )


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise refuse("malformed", f"The bundle's manifest is damaged: {what}.")


def _is_count(value: object, limit: int = 1 << 62) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit


def _check_party(party: object, keys: set[str]) -> None:
    _require(isinstance(party, dict) and set(party) == keys, "a party entry has the wrong keys")
    assert isinstance(party, dict)
    _require(_is_hex(party["origin"], 64), "an origin is malformed")
    for key in keys - {"origin", "office_name"}:
        _require(_is_hex(party[key], 64), f"the {key.replace('_', ' ')} key is malformed")
    if "office_name" in keys:
        name = party["office_name"]
        _require(isinstance(name, str) and 0 < len(name) <= 200, "an office name is malformed")
        if problem := text_problem(
            "An office name in the bundle's manifest", name, advice="the bundle is refused."
        ):
            raise refuse("malformed", problem)


def _check_manifest_shapes(doc: dict[str, Any]) -> None:
    _require(_is_hex(doc["bundle_id"], 32), "the bundle id is malformed")
    _require(isinstance(doc["created"], str) and len(doc["created"]) <= 64, "bad time")
    _check_party(doc["sender"], {"origin", "office_name", "signing_public", "encryption_public"})
    recipients = doc["recipients"]
    _require(isinstance(recipients, list) and 0 < len(recipients) <= 64, "bad recipient list")
    for party in recipients:
        _check_party(party, {"origin", "office_name", "encryption_public"})
    introductions = doc["introductions"]
    _require(isinstance(introductions, list) and len(introductions) <= 10_000, "bad introductions")
    for party in introductions:
        _check_party(party, {"origin", "office_name", "signing_public"})
    _require(isinstance(doc["receipts"], list) and len(doc["receipts"]) <= 100_000, "receipts")
    for receipt in doc["receipts"]:
        _require(isinstance(receipt, dict) and _is_hex(receipt.get("bundle_id"), 32), "receipt")
    check_holdings(doc["holdings"])
    endorsement = doc["endorsement"]
    _require(isinstance(endorsement, dict), "bad endorsement")
    if endorsement:
        _require(
            set(endorsement) == {"old_origin", "old_signing_public", "signature"}
            and _is_hex(endorsement["old_origin"], 64)
            and _is_hex(endorsement["old_signing_public"], 64)
            and _is_hex(endorsement["signature"], 128),
            "a malformed key endorsement",
        )
    parts = doc["parts"]
    _require(isinstance(parts, list) and 0 < len(parts) <= MAX_PARTS, "bad part list")
    for part in parts:
        _require(isinstance(part, dict) and set(part) == {"name", "size"}, "part keys")
        _require(_is_hex(part["name"], 32), "a part name is malformed")
        _require(_is_count(part["size"], MAX_PART_BYTES), "a part size is out of range")
    payload = doc["payload"]
    _require(
        isinstance(payload, dict)
        and set(payload) == {"size", "sha256", "changesets", "blobs", "blob_bytes"},
        "payload keys",
    )
    _require(_is_hex(payload["sha256"], 64), "the payload digest is malformed")
    for key in ("size", "changesets", "blobs", "blob_bytes"):
        _require(_is_count(payload[key]), f"the payload {key} is out of range")


# -- payload frames ------------------------------------------------------------------------


def changeset_frame(body: bytes, sig: bytes, case_prev: str, reveals: list[list[Any]]) -> bytes:
    """One changeset as it travels: exact signed bytes, signature, and its sidecar."""
    meta = canonical.encode({"case_prev": case_prev, "reveals": reveals})
    content = _U32.pack(len(body)) + body + sig + meta
    return b"C" + _U32.pack(len(content)) + content


def blob_frame_header(size: int, sha256_hex: str) -> bytes:
    """The start of an evidence frame; its bytes follow."""
    return b"B" + _U64.pack(size) + bytes.fromhex(sha256_hex)


@dataclass(frozen=True)
class ChangesetFrame:
    """A changeset as read from a bundle, not yet verified."""

    body: bytes
    sig: bytes
    case_prev: str
    reveals: list[list[Any]]


class BlobSink(Protocol):
    """Where the bytes of one incoming evidence file go (encrypted staging)."""

    def write(self, data: bytes | memoryview) -> None: ...

    def finish(self) -> str: ...


class ParserStream(io.RawIOBase):
    """A PayloadParser as a raw stream, so pyrage's small writes reach it through a large
    buffer (io.BufferedWriter) instead of one Python call per 8 KiB."""

    def __init__(self, parser: PayloadParser) -> None:
        super().__init__()
        self._parser = parser
        self._abandoned = False

    def writable(self) -> bool:
        return True

    def abandon(self) -> None:
        """After a failure: whatever the buffer still holds goes nowhere."""
        self._abandoned = True

    def write(self, data: Any) -> int:
        if self._abandoned:
            return len(data)
        return self._parser.write(data)


# The sidecar of a changeset without reveals, exactly as `changeset_frame` encodes it.
_PLAIN_SIDECAR = re.compile(rb'\{"case_prev":"((?:[0-9a-f]{64})?)","reveals":\[\]\}')


def parse_changeset_content(content: bytes) -> ChangesetFrame:
    """Split a changeset frame's content; refuse malformed shapes."""
    if len(content) < 4:
        raise MalformedChangeset("frame too short")
    (body_len,) = _U32.unpack_from(content)
    if body_len > len(content) - 4 - SIGNATURE_BYTES:
        raise MalformedChangeset("declared body length exceeds the frame")
    body = content[4 : 4 + body_len]
    sig = content[4 + body_len : 4 + body_len + SIGNATURE_BYTES]
    sidecar = content[4 + body_len + SIGNATURE_BYTES :]
    plain = _PLAIN_SIDECAR.fullmatch(sidecar)
    if plain is not None:  # the usual sidecar, byte for byte canonical: no JSON parse needed
        return ChangesetFrame(body, sig, plain.group(1).decode("ascii"), [])
    try:
        meta = canonical.decode(sidecar)
    except canonical.CanonicalError as exc:
        raise MalformedChangeset(f"sidecar: {exc}") from None
    if not isinstance(meta, dict) or set(meta) != {"case_prev", "reveals"}:
        raise MalformedChangeset("sidecar keys")
    case_prev, reveals = meta["case_prev"], meta["reveals"]
    if not (case_prev == "" or _is_hex(case_prev, 64)) or not isinstance(reveals, list):
        raise MalformedChangeset("sidecar values")
    for item in reveals:
        ok = (
            isinstance(item, list)
            and len(item) == 4
            and _is_count(item[0], 100_000)
            and isinstance(item[1], str)
            and _is_hex(item[2], 32)
        )
        if not ok:
            raise MalformedChangeset("a revealed value is malformed")
    return ChangesetFrame(body, sig, case_prev, reveals)


class PayloadParser:
    """Reads frames from decrypted bytes as they arrive (pyrage pushes them in 8 KiB
    writes, through a large buffer), handing changesets to `on_changeset` and streaming
    evidence into sinks.

    The frames that a write holds whole are read in one loop, by offset, and only an
    incomplete last frame is kept for the next write: a bundle carries hundreds of
    thousands of changesets, and a step per field of each frame cost a sixth of staging.
    Every byte outside evidence contents is added to the digest once, when its frame is
    read; the checks are the frame-by-frame ones, made in the same order."""

    def __init__(
        self,
        on_changeset: Callable[[ChangesetFrame], None],
        open_blob: Callable[[int, str], BlobSink],
    ) -> None:
        self._on_changeset = on_changeset
        self._open_blob = open_blob
        self._buffer = bytearray()  # the start of a frame not yet whole (no evidence bytes)
        self._blob: BlobSink | None = None
        self._blob_left = 0
        self._blob_sha = ""
        self.digest = hashlib.sha256()
        self.size = 0
        self.changesets = 0
        self.blobs = 0
        self.blob_bytes = 0

    def write(self, data: bytes | memoryview) -> int:
        """Accept the next decrypted bytes."""
        view = memoryview(data)
        self.size += len(view)
        while view:
            if self._blob is not None:
                take = min(self._blob_left, len(view))
                self._blob.write(view[:take])
                self._blob_left -= take
                view = view[take:]
                if self._blob_left == 0:
                    self._end_blob()
                continue
            view = self._frames(view)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered that a flush could write."""

    def _frames(self, view: memoryview) -> memoryview:
        """Read the frames `view` holds, after completing the one buffered; keep an
        incomplete last frame buffered. What follows an evidence header (its contents, for
        the sink) is returned, else an empty view."""
        while self._buffer and view:
            view = self._fill_buffer(view)
        if self._buffer or self._blob is not None:
            return view
        return self._read_frames(view)

    def _fill_buffer(self, view: memoryview) -> memoryview:
        """Add to the buffered frame what it lacks (its header first, then the rest, so a
        large frame arriving in small writes is copied once) and read it once whole."""
        need = self._buffered_need()
        take = need - len(self._buffer)
        self._buffer += view[:take]
        view = view[take:]
        if len(self._buffer) < need or self._buffered_need() != need:
            return view  # still incomplete, or its header just arrived: look again
        whole = memoryview(bytes(self._buffer))
        self._buffer.clear()
        self._read_frames(whole)  # exactly one frame: nothing is left of it
        return view

    def _buffered_need(self) -> int:
        """How long the buffered frame is, as far as its bytes so far tell."""
        kind = self._buffer[0]
        if kind == _CHANGESET_KIND:
            if len(self._buffer) < 5:
                return 5
            (length,) = _U32.unpack_from(self._buffer, 1)
            # An impossible length is read (and refused) at once, as frame by frame.
            possible = 4 + SIGNATURE_BYTES < length <= MAX_CHANGESET_FRAME
            return 5 + length if possible else len(self._buffer)
        return 41 if kind == _BLOB_KIND else len(self._buffer)

    def _read_frames(self, data: memoryview) -> memoryview:
        """Read the whole frames at the start of `data`, by offset; buffer an incomplete
        last one. What follows an evidence header is returned, else an empty view."""
        end = len(data)
        at = 0
        try:
            while at < end:
                kind = data[at]
                if kind == _CHANGESET_KIND:
                    if end - at < 5:
                        break
                    (length,) = _U32.unpack_from(data, at + 1)
                    if not 4 + SIGNATURE_BYTES < length <= MAX_CHANGESET_FRAME:
                        raise refuse(
                            "limits", "The bundle declares a changeset of impossible size."
                        )
                    if end - at - 5 < length:
                        break
                    content = bytes(data[at + 5 : at + 5 + length])
                    at += 5 + length
                    self._changeset(content)
                elif kind == _BLOB_KIND:
                    if end - at < 41:
                        break
                    self._start_blob(data[at + 1 : at + 41])
                    at += 41
                    return data[at:]
                else:
                    raise refuse(
                        "malformed", "The bundle's contents hold an unknown kind of record."
                    )
            self._buffer += data[at:]
            return data[end:]
        finally:
            self.digest.update(data[:at])

    def _changeset(self, content: bytes) -> None:
        try:
            frame = parse_changeset_content(content)
        except MalformedChangeset as exc:
            message = f"A changeset in the bundle is malformed ({exc})."
            raise refuse("malformed", message) from None
        self.changesets += 1
        self._on_changeset(frame)

    def _start_blob(self, header: memoryview) -> None:
        (size,) = _U64.unpack_from(header)
        if not 0 < size <= MAX_BLOB_SIZE:
            raise refuse("limits", "The bundle declares an evidence file of impossible size.")
        self._blob_sha = header[8:].hex()
        self._blob = self._open_blob(size, self._blob_sha)
        self._blob_left = size
        self.blob_bytes += size

    def _end_blob(self) -> None:
        assert self._blob is not None
        if self._blob.finish() != self._blob_sha:
            raise refuse("digest", "An evidence file in the bundle does not match its SHA-256.")
        self._blob = None
        self.blobs += 1

    def finish(self) -> None:
        """The payload ended: it must end between frames."""
        if self._blob is not None or self._buffer:
            raise refuse("truncated", "The bundle's contents end in the middle of a record.")
