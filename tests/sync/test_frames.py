"""A changeset frame's sidecar: the fast path for the usual form agrees with the JSON path;
the payload parser reading frames by offset agrees with the old one reading field by field."""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import canonical
from storage.changesets import MalformedChangeset
from sync import bundle_format
from sync.bundle_format import (
    SIGNATURE_BYTES,
    blob_frame_header,
    changeset_frame,
    parse_changeset_content,
)
from sync.errors import BundleRefused
from tests.sync import old_payload_parser

hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
reveal = st.tuples(
    st.integers(0, 50),
    st.text(min_size=1, max_size=8),
    st.text("0123456789abcdef", min_size=32, max_size=32),
    st.text(max_size=20),
).map(list)


@given(case_prev=st.one_of(st.just(""), hex64), reveals=st.lists(reveal, max_size=3))
def test_a_frame_reads_back_as_written(case_prev: str, reveals: list[list[object]]) -> None:
    frame = changeset_frame(b'{"x":1}', b"s" * SIGNATURE_BYTES, case_prev, reveals)
    parsed = parse_changeset_content(frame[5:])
    assert (parsed.body, parsed.case_prev, parsed.reveals) == (b'{"x":1}', case_prev, reveals)


def _outcome(content: bytes) -> tuple[str, list[list[Any]]] | None:
    """What the parser makes of a frame's content (None: refused)."""
    try:
        parsed = parse_changeset_content(content)
    except MalformedChangeset:
        return None
    return parsed.case_prev, parsed.reveals


@given(case_prev=st.one_of(st.just(""), hex64), at=st.integers(0, 100), byte=st.integers(0, 255))
def test_a_damaged_sidecar_reads_alike_with_and_without_the_fast_path(
    case_prev: str, at: int, byte: int
) -> None:
    sidecar = bytearray(canonical.encode({"case_prev": case_prev, "reveals": []}))
    sidecar[at % len(sidecar)] = byte
    content = (2).to_bytes(4, "big") + b"{}" + b"s" * SIGNATURE_BYTES + bytes(sidecar)
    fast = _outcome(content)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bundle_format, "_PLAIN_SIDECAR", re.compile(rb"(?!)"))  # never matches
        general = _outcome(content)
    assert fast == general


def test_a_sidecar_with_uppercase_hex_is_refused() -> None:
    sidecar = canonical.encode({"case_prev": "A" * 64, "reveals": []})
    content = (2).to_bytes(4, "big") + b"{}" + b"s" * SIGNATURE_BYTES + sidecar
    with pytest.raises(MalformedChangeset):
        parse_changeset_content(content)


# -- the payload parser, frame by frame before, by offset now --------------------------------


class _Sink:
    """An evidence file's bytes, kept; its SHA-256 is what `finish` reports."""

    def __init__(self, kept: list[object]) -> None:
        self._bytes = bytearray()
        self._kept = kept

    def write(self, data: bytes | memoryview) -> None:
        self._bytes += data

    def finish(self) -> str:
        self._kept.append(("evidence", bytes(self._bytes)))
        return hashlib.sha256(self._bytes).hexdigest()


def _changeset_record(body: bytes, case_prev: str) -> bytes:
    return changeset_frame(body, b"s" * SIGNATURE_BYTES, case_prev, [])


def _evidence_record(content: bytes, honest: bool) -> bytes:
    digest = hashlib.sha256(content if honest else content + b"!").hexdigest()
    return blob_frame_header(len(content), digest) + content


records = st.one_of(
    st.builds(_changeset_record, st.binary(min_size=1, max_size=40), st.one_of(st.just(""), hex64)),
    st.builds(_changeset_record, st.binary(max_size=5), st.just("x")),  # a sidecar refused
    st.builds(_evidence_record, st.binary(min_size=1, max_size=40), st.booleans()),
    st.builds(lambda n: b"C" + n.to_bytes(4, "big"), st.sampled_from([0, 68, 69, 2**31])),
    st.builds(lambda n: b"B" + n.to_bytes(8, "big"), st.sampled_from([0, 2**41])),
    st.binary(min_size=1, max_size=6),
)


def _parse_all(parser_class: Any, payload: bytes, cuts: list[int], refuse_at: int) -> object:
    """Everything a parser hands over and reports for `payload` written in pieces cut at
    `cuts`, with a changeset handler that refuses the changeset numbered `refuse_at`."""
    kept: list[object] = []

    def on_changeset(frame: bundle_format.ChangesetFrame) -> None:
        kept.append(("changeset", frame))
        if len([k for k in kept if k[0] == "changeset"]) == refuse_at:
            raise bundle_format.refuse("signature", "refused by the handler")

    parser = parser_class(on_changeset, lambda size, sha: _Sink(kept))
    edges = [0, *sorted(c % (len(payload) + 1) for c in cuts), len(payload)]
    try:
        for start, end in itertools.pairwise(edges):
            assert parser.write(payload[start:end]) == end - start
        parser.finish()
    except BundleRefused as exc:
        return kept, ("refused", exc.reason, str(exc))
    counts = (parser.size, parser.changesets, parser.blobs, parser.blob_bytes)
    return kept, counts, parser.digest.hexdigest()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(records, max_size=6),
    st.lists(st.integers(0, 10_000), max_size=8),
    st.integers(0, 4),
    st.integers(0, 10_000),
)
def test_the_payload_parser_reads_as_it_did_frame_by_frame(
    parts: list[bytes], cuts: list[int], refuse_at: int, cut_short: int
) -> None:
    """Any bytes, whole or cut short, in any pieces: the same frames and evidence, the same
    digest and counts, or the same refusal at the same frame as the old parser."""
    payload = b"".join(parts)
    if cut_short % 3 == 0 and payload:
        payload = payload[: cut_short % len(payload)]
    new = _parse_all(bundle_format.PayloadParser, payload, cuts, refuse_at)
    old = _parse_all(old_payload_parser.PayloadParser, payload, cuts, refuse_at)
    assert new == old


def test_a_large_changeset_in_small_writes_is_read_once_whole() -> None:
    """pyrage writes 8 KiB at a time: a changeset of 4 MiB arriving so is copied once, not
    once a write (quadratic: the frame would take minutes)."""
    body = b"x" * (4 << 20)
    payload = _changeset_record(body, "")
    frames: list[bundle_format.ChangesetFrame] = []
    parser = bundle_format.PayloadParser(frames.append, lambda size, sha: _Sink([]))
    started = time.process_time()
    for at in range(0, len(payload), 8192):
        parser.write(payload[at : at + 8192])
    parser.finish()
    assert [f.body for f in frames] == [body]
    assert time.process_time() - started < 2
