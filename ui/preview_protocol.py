"""What the window and its preview renderer say to each other through two pipes.

Evidence comes from adversaries, and image decoders and PDFium are attack surface, so
previews are made in a process of their own (`ui.preview_worker`) that holds no key and
gets only one item's bytes. This module is the whole conversation, with no Qt in it:

    request (window -> renderer, its stdin):   REQUEST header, then `length` bytes
    reply   (renderer -> window, its stdout):  REPLY header, then `length` bytes, then EOF

Each header is a fixed-size big-endian `struct`. The renderer is treated as hostile once it
has read the evidence: `parse_reply` checks every field of its reply (magic, status, sizes,
lengths, limits, that the text is UTF-8, that nothing follows) before the window uses any of
it, and raises `MalformedReply` otherwise. The renderer never sends a sentence: the window
picks the words, so a subverted renderer cannot put its own text in front of a person
(except as the text preview itself, which is shown as plain text).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

REQUEST_MAGIC = b"VPQ1"
REPLY_MAGIC = b"VPR1"
REQUEST = struct.Struct(">4sBxHI")  # magic, kind, (pad), edge, length
REPLY = struct.Struct(">4sBxxxIIIII")  # magic, status, (pad), width, height, a, b, length

MAX_INPUT = 64 * 1024 * 1024  # more than the tab ever sends (32 MiB); the renderer refuses more
MAX_EDGE = 4096  # longest edge a request may ask for
MAX_SOURCE_EDGE = 1 << 20  # an image's stated size, for the sentence under it
MAX_PAGES = 1_000_000
BYTES_PER_PIXEL = 4  # QImage.Format_ARGB32, rows with no padding
UTF8_GROWTH = 3  # a byte that is not UTF-8 becomes U+FFFD: three bytes


class Kind(IntEnum):
    """What the window asks for."""

    IMAGE = 1
    PDF = 2
    TEXT = 3


class Status(IntEnum):
    """What the renderer answers."""

    PIXELS = 1  # width x height ARGB32 pixels; a, b = the image's own size, or (pages, 0)
    TEXT = 2  # UTF-8 text
    UNREADABLE = 3  # the decoder refused the bytes (damaged, or not what it claims to be)
    NO_PDF = 4  # this installation has no QtPdf


class MalformedRequest(ValueError):
    """The renderer got something that is not a request (it exits without rendering)."""


class MalformedReply(ValueError):
    """The renderer's reply breaks the protocol: the window shows no part of it."""


@dataclass(frozen=True)
class Request:
    """One preview to make: `data` rendered as `kind`, at most `edge` pixels on a side."""

    kind: Kind
    edge: int
    data: bytes


@dataclass(frozen=True)
class Reply:
    """A checked reply. For PIXELS, `payload` is `height` rows of `width` ARGB32 pixels and
    (`a`, `b`) the image's own size (an image) or (pages, 0) (a PDF); for TEXT, UTF-8."""

    status: Status
    width: int = 0
    height: int = 0
    a: int = 0
    b: int = 0
    payload: bytes = b""


def encode_request(kind: Kind, edge: int, data: bytes) -> bytes:
    """The request's header; the caller sends `data` after it (not copied into one buffer)."""
    if not 1 <= edge <= MAX_EDGE:
        raise ValueError(f"a preview edge of {edge} pixels is out of range")
    if len(data) > MAX_INPUT:
        raise ValueError("too many bytes for one preview")
    return REQUEST.pack(REQUEST_MAGIC, kind, edge, len(data))


def decode_request_header(header: bytes) -> tuple[Kind, int, int]:
    """Kind, edge and length from a request header; MalformedRequest when it is not one."""
    if len(header) != REQUEST.size:
        raise MalformedRequest("short request header")
    magic, kind, edge, length = REQUEST.unpack(header)
    if magic != REQUEST_MAGIC:
        raise MalformedRequest("not a preview request")
    if kind not in Kind.__members__.values():
        raise MalformedRequest("unknown kind")
    if not 1 <= edge <= MAX_EDGE or length > MAX_INPUT:
        raise MalformedRequest("edge or length out of range")
    return Kind(kind), edge, length


def encode_reply(
    status: Status, *, width: int = 0, height: int = 0, a: int = 0, b: int = 0, payload: bytes = b""
) -> bytes:
    """A whole reply, as the renderer writes it."""
    return REPLY.pack(REPLY_MAGIC, status, width, height, a, b, len(payload)) + payload


def max_reply_size(kind: Kind, edge: int, input_length: int) -> int:
    """The most bytes a well-formed reply to this request can have: the window reads no
    more (a renderer that writes on is stopped, not buffered)."""
    if kind == Kind.TEXT:
        return REPLY.size + UTF8_GROWTH * input_length
    return REPLY.size + edge * edge * BYTES_PER_PIXEL


def parse_reply(raw: bytes, kind: Kind, edge: int, input_length: int) -> Reply:
    """Check every field of a reply to (`kind`, `edge`, `input_length`) and return it;
    MalformedReply (saying which check failed, never quoting the bytes) otherwise."""
    if len(raw) < REPLY.size:
        raise MalformedReply("the reply is shorter than its header")
    magic, status, width, height, a, b, length = REPLY.unpack_from(raw)
    if magic != REPLY_MAGIC:
        raise MalformedReply("the reply does not start with the reply magic")
    if len(raw) != REPLY.size + length:
        raise MalformedReply("the reply's length field does not match its bytes")
    payload = raw[REPLY.size :]
    if status == Status.PIXELS and kind in (Kind.IMAGE, Kind.PDF):
        if not (1 <= width <= edge and 1 <= height <= edge):
            raise MalformedReply("the picture's size is outside the size asked for")
        if length != width * height * BYTES_PER_PIXEL:
            raise MalformedReply("the pixel bytes do not match the picture's size")
        if kind == Kind.IMAGE and not (
            width <= a <= MAX_SOURCE_EDGE and height <= b <= MAX_SOURCE_EDGE
        ):
            raise MalformedReply("the image's own size is out of range")
        if kind == Kind.PDF and not (1 <= a <= MAX_PAGES and b == 0):
            raise MalformedReply("the page count is out of range")
        return Reply(Status.PIXELS, width, height, a, b, payload)
    if status == Status.TEXT and kind == Kind.TEXT:
        if width or height or a or b:
            raise MalformedReply("a text reply has picture fields")
        if length > UTF8_GROWTH * input_length:
            raise MalformedReply("the text is longer than its bytes can decode to")
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedReply("the text is not UTF-8") from None
        return Reply(Status.TEXT, payload=payload)
    allowed = {Kind.IMAGE: (Status.UNREADABLE,), Kind.PDF: (Status.UNREADABLE, Status.NO_PDF)}
    if status in allowed.get(kind, ()):
        if width or height or a or b or length:
            raise MalformedReply("a refusal carries fields")
        return Reply(Status(status))
    raise MalformedReply("the status does not answer the kind asked for")
