"""A changeset frame's sidecar: the fast path for the usual form agrees with the JSON path."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import canonical
from storage.changesets import MalformedChangeset
from sync import bundle_format
from sync.bundle_format import SIGNATURE_BYTES, changeset_frame, parse_changeset_content

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
