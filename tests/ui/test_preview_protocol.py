"""The renderer's reply is checked field by field before the window uses any of it.

Pure protocol tests (no process): each way a subverted renderer could bend a reply is
refused with MalformedReply; well-formed replies pass. Then the renderer's side: what it
accepts as a request.
"""

from __future__ import annotations

import pytest

from ui.preview_protocol import (
    MAX_INPUT,
    REPLY,
    REPLY_MAGIC,
    REQUEST,
    REQUEST_MAGIC,
    Kind,
    MalformedReply,
    MalformedRequest,
    Status,
    decode_request_header,
    encode_reply,
    encode_request,
    max_reply_size,
    parse_reply,
)

EDGE = 16


def pixels(width: int, height: int, a: int | None = None, b: int | None = None) -> bytes:
    return encode_reply(
        Status.PIXELS,
        width=width,
        height=height,
        a=width if a is None else a,
        b=height if b is None else b,
        payload=b"\x01" * width * height * 4,
    )


def test_well_formed_replies_pass() -> None:
    image = parse_reply(pixels(16, 8, 4000, 2000), Kind.IMAGE, EDGE, 100)
    assert (image.status, image.width, image.height, image.a, image.b) == (
        Status.PIXELS,
        16,
        8,
        4000,
        2000,
    )
    page = parse_reply(
        encode_reply(Status.PIXELS, width=2, height=3, a=7, payload=b"\0" * 24), Kind.PDF, EDGE, 9
    )
    assert page.a == 7
    text = parse_reply(encode_reply(Status.TEXT, payload="é".encode()), Kind.TEXT, EDGE, 1)
    assert text.payload.decode() == "é"
    assert parse_reply(encode_reply(Status.UNREADABLE), Kind.IMAGE, EDGE, 1).status == (
        Status.UNREADABLE
    )
    assert parse_reply(encode_reply(Status.NO_PDF), Kind.PDF, EDGE, 1).status == Status.NO_PDF


BAD_REPLIES = {
    "empty": (b"", Kind.IMAGE),
    "short header": (pixels(1, 1)[: REPLY.size - 1], Kind.IMAGE),
    "wrong magic": (b"XXXX" + pixels(1, 1)[4:], Kind.IMAGE),
    "unknown status": (REPLY.pack(REPLY_MAGIC, 99, 0, 0, 0, 0, 0), Kind.IMAGE),
    "zero width": (REPLY.pack(REPLY_MAGIC, Status.PIXELS, 0, 1, 1, 1, 0), Kind.IMAGE),
    "wider than asked": (pixels(EDGE + 1, 1), Kind.IMAGE),
    "taller than asked": (pixels(1, EDGE + 1), Kind.IMAGE),
    "huge size, no bytes": (
        REPLY.pack(REPLY_MAGIC, Status.PIXELS, 0xFFFFFFFF, 0xFFFFFFFF, 1, 1, 4),
        Kind.IMAGE,
    ),
    "length field too long": (pixels(2, 2)[:-1], Kind.IMAGE),
    "bytes after the reply": (pixels(2, 2) + b"\0", Kind.IMAGE),
    "pixel bytes short of the size": (
        encode_reply(Status.PIXELS, width=4, height=4, a=4, b=4, payload=b"\0" * 60),
        Kind.IMAGE,
    ),
    "source smaller than the picture": (pixels(8, 8, a=4, b=8), Kind.IMAGE),
    "source absurdly large": (pixels(8, 8, a=1 << 30, b=8), Kind.IMAGE),
    "no pages": (encode_reply(Status.PIXELS, width=1, height=1, payload=b"\0" * 4), Kind.PDF),
    "pixels for text": (pixels(1, 1), Kind.TEXT),
    "text for an image": (encode_reply(Status.TEXT, payload=b"hi"), Kind.IMAGE),
    "text not UTF-8": (encode_reply(Status.TEXT, payload=b"\xff\xfe"), Kind.TEXT),
    "text longer than its bytes decode to": (
        encode_reply(Status.TEXT, payload=b"a" * 4),
        Kind.TEXT,
    ),
    "text with picture fields": (encode_reply(Status.TEXT, width=1, payload=b"a"), Kind.TEXT),
    "refusal with a payload": (encode_reply(Status.UNREADABLE, payload=b"x"), Kind.IMAGE),
    "no-QtPdf for an image": (encode_reply(Status.NO_PDF), Kind.IMAGE),
    "refusal of text": (encode_reply(Status.UNREADABLE), Kind.TEXT),
}


@pytest.mark.parametrize("name", sorted(BAD_REPLIES))
def test_a_bent_reply_is_refused(name: str) -> None:
    raw, kind = BAD_REPLIES[name]
    with pytest.raises(MalformedReply):
        parse_reply(raw, kind, EDGE, 1)


def test_no_reply_the_window_accepts_is_longer_than_it_reads() -> None:
    """The window stops reading at max_reply_size: the largest valid reply fits in it."""
    assert len(pixels(EDGE, EDGE)) == max_reply_size(Kind.IMAGE, EDGE, 10)
    text = encode_reply(Status.TEXT, payload="\ufffd".encode() * 10)
    assert len(text) == max_reply_size(Kind.TEXT, EDGE, 10)
    parse_reply(text, Kind.TEXT, EDGE, 10)


def test_requests_round_trip_and_bad_ones_are_refused() -> None:
    header = encode_request(Kind.PDF, 1024, b"%PDF")
    assert decode_request_header(header) == (Kind.PDF, 1024, 4)
    for bad in (
        b"",
        b"XXXX" + header[4:],
        REQUEST.pack(REQUEST_MAGIC, 9, 1024, 4),
        REQUEST.pack(REQUEST_MAGIC, Kind.IMAGE, 0, 4),
        REQUEST.pack(REQUEST_MAGIC, Kind.IMAGE, 1024, MAX_INPUT + 1),
    ):
        with pytest.raises(MalformedRequest):
            decode_request_header(bad)
    with pytest.raises(ValueError):
        encode_request(Kind.IMAGE, 0, b"")
