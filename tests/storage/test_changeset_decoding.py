"""The fast changeset decoder (parsers and encoder built once, the shape asked at once) and
the byte test that spares checking text value by value: held to what the code before them
accepted and refused, with the same words (tests/storage/old_decoders.py keeps it)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from storage import canonical, changesets
from storage.changesets import OP_KINDS, Changeset, MalformedChangeset
from storage.entities import ENTITIES
from storage.sealing import sealable
from storage.text_rules import BIDI_CONTROLS, may_hold_refused_text, refused_character
from tests.storage import old_decoders

HEX = "0123456789abcdef"
hex64 = st.text(HEX, min_size=64, max_size=64)
FIELD_NAMES = sorted({name for kind in ENTITIES.values() for name in kind.fields} | {"bogus"})
# Text that touches every rule: refused characters, escapes, non-ASCII, digits.
awkward = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\n", "\t", "\x00", "\x1b", "\x7f", "\x85", "\\", '"', "\u202e", "é"]),
    ),
    max_size=12,
)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), awkward, hex64)


prev_ref = st.one_of(
    st.just(""),
    st.builds(lambda cs, i: f"{cs}:{i}", hex64, st.integers(0, 3)),
    st.builds(lambda a, b: f"{a}:0 {b}:1", hex64, hex64),
)


def _good_op(entity: str) -> st.SearchStrategy[dict[str, Any]]:
    names = sorted(ENTITIES[entity].fields)
    sealable_names = [n for n in names if sealable(ENTITIES[entity], n)]
    fields = st.dictionaries(st.sampled_from(names), scalar, max_size=3)
    optional = {}
    if sealable_names:
        optional["sealed"] = st.dictionaries(st.sampled_from(sealable_names), hex64, min_size=1)
    return st.fixed_dictionaries(
        {
            "entity": st.just(entity),
            "entity_id": st.text(HEX, min_size=1, max_size=64),
            "kind": st.sampled_from(OP_KINDS),
            "fields": fields,
            "prev": st.dictionaries(st.sampled_from(names), prev_ref, max_size=2),
        },
        optional=optional,  # type: ignore[arg-type]
    )


good_op = st.sampled_from(sorted(ENTITIES)).flatmap(_good_op)
good_hlc = st.builds(
    lambda w, c: f"{w:015d}.{c:06d}", st.integers(0, 10**15 - 1), st.integers(0, 10**6 - 1)
)
good_changeset = st.fixed_dictionaries(
    {
        "format": st.just("valise.changeset"),
        "version": st.just(1),
        "origin": hex64,
        "epoch": st.integers(0, 3),
        "seq": st.integers(1, 3),
        "prev_hash": st.one_of(st.just(""), hex64),
        "hlc": good_hlc,
        "author": st.text(max_size=20),
        "case_id": st.text(HEX, max_size=64),
        "ops": st.lists(good_op, min_size=1, max_size=3),
    }
)
# Values that break one rule or sit on its edge.
odd = st.one_of(
    scalar,
    st.lists(scalar, max_size=2),
    st.dictionaries(st.sampled_from(FIELD_NAMES), scalar, max_size=2),
    st.sampled_from(
        [
            True,
            0,
            -1,
            2,
            "",
            "x" * 65,
            "a" * 256,
            "a" * 257,
            "0" * 63,
            "A" * 64,
            "١٧٩٦٦٥٣١١١٥٥٧.000000",  # digits that are not ASCII: Stamp.parse takes them
            "001796653111557.00000a",
            "0017966531115570000000",
            "00179665311155.7000000",
            "nope",
            "erase",
            "valise.changeset",
            [],
            {},
            "ab" * 32 + ":0 " + "cd" * 32 + ":x" * 40,
        ]
    ),
)


def _changed(doc: dict[str, Any], data: st.DataObject, names: list[str]) -> None:
    """Change `doc` in one place: a value made odd, a key left out or one added."""
    how = data.draw(st.sampled_from(["value", "value", "drop", "add"]))
    if how == "value":
        doc[data.draw(st.sampled_from(names))] = data.draw(odd)
    elif how == "drop":
        del doc[data.draw(st.sampled_from(sorted(doc)))]
    else:
        doc[data.draw(st.sampled_from(["extra", "sealed", *names]))] = data.draw(odd)


@st.composite
def changeset_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed changeset, or one changed in one place (its own keys or one op's)."""
    doc = draw(good_changeset)
    data = draw(st.data())
    where = draw(st.sampled_from(["none", "changeset", "op"]))
    if where == "changeset":
        _changed(doc, data, sorted(doc))
    elif where == "op":
        op = doc["ops"][draw(st.integers(0, len(doc["ops"]) - 1))]
        _changed(op, data, ["entity", "entity_id", "kind", "fields", "prev", "sealed"])
    return doc


changeset_doc = changeset_docs()


def _encodings(doc: object) -> st.SearchStrategy[bytes]:
    canonical_bytes = canonical.encode(doc)
    return st.one_of(
        st.just(canonical_bytes),
        st.just(json.dumps(doc, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode()),
        st.just(json.dumps(doc).encode()),
        st.tuples(st.integers(0, len(canonical_bytes) - 1), st.integers(0, 255)).map(
            lambda at_byte: (
                canonical_bytes[: at_byte[0]]
                + bytes([at_byte[1]])
                + canonical_bytes[at_byte[0] + 1 :]
            )
        ),
    )


bodies = changeset_doc.flatmap(_encodings)


def _outcome(decode: Any, body: bytes) -> tuple[str, Changeset | str]:
    try:
        return "accepted", decode(body)
    except MalformedChangeset as exc:
        return "refused", str(exc)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
def test_the_fast_decoder_accepts_and_refuses_what_the_old_one_did(body: bytes) -> None:
    assert _outcome(changesets.decode, body) == _outcome(old_decoders.decode, body)


def changeset_doc_of(
    ops: list[dict[str, Any]], *, seq: int = 1, author: str = "Office"
) -> dict[str, Any]:
    """A well-formed changeset holding `ops`."""
    return {
        "author": author,
        "case_id": "c" * 32,
        "epoch": 0,
        "format": "valise.changeset",
        "hlc": f"001796653111557.{seq:06d}",
        "ops": ops,
        "origin": "0" * 64,
        "prev_hash": "",
        "seq": seq,
        "version": 1,
    }


def test_a_well_formed_changeset_is_decoded_alike() -> None:
    """The generator above does reach the accepting side (not only refusals)."""
    op = {
        "entity": "person",
        "entity_id": "p1",
        "fields": {"contact": "a\nb"},
        "kind": "update",
        "prev": {"contact": "ab" * 32 + ":0"},
        "sealed": {"legal_name": "0" * 64},
    }
    body = canonical.encode(changeset_doc_of([op]))
    new, old = _outcome(changesets.decode, body), _outcome(old_decoders.decode, body)
    assert new == old
    assert new[0] == "accepted"


def test_decoded_changesets_share_the_texts_that_repeat() -> None:
    """An import holds up to 100,000 decoded changesets (sync.spool): the origin, author,
    case, entity and op kind that repeat from one to the next are one object, not a copy
    each (equal values either way: the differential test above says so)."""
    first, second = (
        canonical.encode(
            changeset_doc_of(
                [
                    {
                        "entity": "note",
                        "entity_id": f"n{seq}",
                        "fields": {"text": f"note {seq}"},
                        "kind": "create",
                        "prev": {},
                    }
                ],
                seq=seq,
                author="Office " + "du Nord",
            )
        )
        for seq in (1, 2)
    )
    a, b = changesets.decode(first), changesets.decode(second)
    assert (a.origin, a.author, a.case_id) == (b.origin, b.author, b.case_id)
    assert a.origin is b.origin and a.author is b.author and a.case_id is b.case_id
    assert a.ops[0].entity is b.ops[0].entity and a.ops[0].kind is b.ops[0].kind


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | awkward,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(awkward, children, max_size=4)
    ),
    max_leaves=20,
)


def _json_texts(value: object) -> st.SearchStrategy[bytes]:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    encoded = text.encode("utf-8", "surrogatepass")
    return st.one_of(
        st.just(encoded),
        st.just(json.dumps(value).encode()),
        st.just(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()),
        st.binary(max_size=3).map(lambda tail: encoded + tail),
        st.integers(0, max(len(encoded) - 1, 0)).map(lambda at: encoded[:at] + encoded[at + 1 :]),
    )


def _canonical_outcome(decode: Any, data: bytes, require: bool) -> tuple[str, object]:
    try:
        return "accepted", decode(data, require_canonical=require)
    except canonical.CanonicalError as exc:
        return "refused", str(exc)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(json_values.flatmap(_json_texts), st.booleans())
@example(b'{"a":1,"a":2}', True)
@example(b'{"a":1,"a":2}', False)
@example(b'"\\ud800"', False)
@example(b"\xef\xbb\xbf{}", True)
@example(b'{"a":' + b"9" * 19 + b"}", True)
@example(b'{"a":-0}', True)
@example(b"[" * 17 + b"]" * 17, True)
def test_canonical_decoding_answers_as_before(data: bytes, require: bool) -> None:
    new = _canonical_outcome(canonical.decode, data, require)
    assert new == _canonical_outcome(old_decoders.canonical_decode, data, require)


def _json_of(value: str, ascii_only: bool) -> bytes:
    return json.dumps({"v": value}, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


refused_or_not = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from(sorted(BIDI_CONTROLS)),
        st.characters(min_codepoint=0, max_codepoint=0x9F),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    ),
    max_size=8,
)


@given(refused_or_not, st.booleans(), st.booleans())
def test_text_that_may_be_refused_is_never_passed_over(
    value: str, ascii_only: bool, multiline: bool
) -> None:
    """Whatever JSON spells a refused character with (itself or an escape), the byte test
    sends its values to be checked one by one."""
    if refused_character(value, multiline=multiline) is not None:
        assert may_hold_refused_text(_json_of(value, ascii_only))


def test_plain_text_is_passed_over_at_once() -> None:
    assert not may_hold_refused_text(_json_of("Note 5: témoin, Łódź, 日本", False))
    assert not may_hold_refused_text(_json_of("note 5", False))
    assert may_hold_refused_text(_json_of("a\u202eb", False))
    assert may_hold_refused_text(_json_of("a\u202eb", True))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(changeset_doc.map(canonical.encode))
def test_a_kept_changeset_is_rebuilt_as_before(body: bytes) -> None:
    """What `decode` accepted (and we kept) reads back as the old json.loads rebuild did,
    and as `decode` itself gave it."""
    accepted = _outcome(changesets.decode, body)
    if accepted[0] == "accepted":
        assert changesets.decode_verified(body) == old_decoders.decode_verified(body)
        assert changesets.decode_verified(body) == accepted[1]


def _plain_outcome(parse: Any, data: bytes) -> tuple[str, object]:
    try:
        return "parsed", parse(data)
    except ValueError as exc:
        return "refused", type(exc).__name__


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values.flatmap(_json_texts))
@example(b" {} ")
@example(b"{} []")
@example(b"")
@example(b"\xef\xbb\xbf{}")
@example('{"a":"\u00e9"}'.encode("utf-16"))
@example(b'"\\ud800"')
def test_trusted_parsing_answers_as_json_loads(data: bytes) -> None:
    """The plain parse of kept bodies gives what json.loads gives, and fails where it
    fails (the kept text is never odd; the answer stays the same if it were)."""
    assert _plain_outcome(canonical.decode_trusted, data) == _plain_outcome(json.loads, data)
