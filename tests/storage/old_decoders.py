"""The changeset decoder and canonical JSON parser as they were before staging was made
faster (main at 2b72176, storage/canonical.py and storage/changesets.py), kept verbatim
so that property tests can hold the fast code to accepting and refusing exactly what they
did, with the same words."""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import json
from typing import Any

from storage.canonical import MAX_BYTES, MAX_DEPTH, CanonicalError, _check_nesting
from storage.changesets import (
    FORMAT,
    MAX_OPS,
    OP_KINDS,
    VERSION,
    _OP_KEYS,
    Changeset,
    MalformedChangeset,
    Op,
    _good_prev,
    _is_hex_digest,
)
from storage.entities import ENTITIES
from storage.hlc import Stamp
from storage.sealing import sealable

JSONValue = Any


def _no_duplicates(pairs: list[tuple[str, JSONValue]]) -> dict[str, JSONValue]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise CanonicalError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _no_constant(name: str) -> JSONValue:
    raise CanonicalError(f"{name} is not allowed")


def _no_float(text: str) -> JSONValue:
    raise CanonicalError("floating point numbers are not allowed")


def _dumps(value: JSONValue) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def _int_in_range(text: str) -> int:
    value = int(text)
    if abs(value) >= 2**63:
        raise CanonicalError("integer out of range")
    return value


def canonical_decode(data: bytes, *, require_canonical: bool = True) -> JSONValue:
    """Parse `data` strictly; with `require_canonical`, it must re-encode to the same bytes.

    The parser's hooks refuse duplicate keys, NaN, floats and out-of-range integers as they
    are met, and nesting is measured before parsing, so no second walk is needed."""
    if len(data) > MAX_BYTES:
        raise CanonicalError("input too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalError("not UTF-8") from exc
    if text.count("[") + text.count("{") > MAX_DEPTH:  # else it cannot nest too deeply
        _check_nesting(text)
    try:
        # Required canonical, a duplicate key cannot pass the comparison with the encoding
        # below (the object parsed holds fewer members than the text): the hook, a Python
        # call per object, is then needed only to name the key.
        value = _parse(text, pairs_hook=not require_canonical)
    except CanonicalError:
        raise
    except RecursionError as exc:
        raise CanonicalError("nested too deeply") from exc
    except ValueError as exc:  # the parser's own words are jargon to a person
        raise CanonicalError("not well-formed JSON") from exc
    if require_canonical or "\\u" in text:  # an escape may hide a lone surrogate
        try:
            encoded = _dumps(value)
        except UnicodeEncodeError:
            raise CanonicalError("text holds a lone surrogate (not Unicode)") from None
        if require_canonical and encoded != data:
            _parse(text, pairs_hook=True)  # raises when a duplicate key is the reason
            raise CanonicalError("not in canonical form")
    return value


def _parse(text: str, *, pairs_hook: bool) -> JSONValue:
    return json.loads(
        text,
        object_pairs_hook=_no_duplicates if pairs_hook else None,
        parse_constant=_no_constant,
        parse_float=_no_float,
        parse_int=_int_in_range,
    )


def _expect(condition: bool, why: str) -> None:
    if not condition:
        raise MalformedChangeset(why)


def _short_text(value: object, limit: int = 256) -> bool:
    return isinstance(value, str) and len(value) <= limit


def decode(body: bytes) -> Changeset:
    """Parse and shape-check a changeset body from anywhere; raise MalformedChangeset."""
    try:
        doc = canonical_decode(body)
    except CanonicalError as exc:
        raise MalformedChangeset(str(exc)) from None
    _expect(isinstance(doc, dict), "not an object")
    expected_keys = {
        "format",
        "version",
        "origin",
        "epoch",
        "seq",
        "prev_hash",
        "hlc",
        "author",
        "case_id",
        "ops",
    }
    _expect(set(doc) == expected_keys, "unexpected or missing keys")
    _expect(doc["format"] == FORMAT and doc["version"] == VERSION, "unknown format")
    _expect(_short_text(doc["origin"], 64) and len(doc["origin"]) == 64, "bad origin")
    for key in ("epoch", "seq"):
        _expect(isinstance(doc[key], int) and not isinstance(doc[key], bool), f"bad {key}")
    _expect(doc["epoch"] >= 0 and doc["seq"] >= 1, "bad epoch or sequence number")
    _expect(_short_text(doc["prev_hash"], 64), "bad prev_hash")
    _expect(_short_text(doc["author"]) and _short_text(doc["case_id"], 64), "bad author or case")
    try:
        Stamp.parse(doc["hlc"])
    except (ValueError, AttributeError):
        raise MalformedChangeset("bad hlc") from None
    ops = doc["ops"]
    _expect(isinstance(ops, list) and 1 <= len(ops) <= MAX_OPS, "bad ops list")
    return _changeset(doc, tuple(_decode_op(op) for op in ops))


def _changeset(doc: dict[str, Any], ops: tuple[Op, ...]) -> Changeset:
    return Changeset(
        origin=doc["origin"],
        epoch=doc["epoch"],
        seq=doc["seq"],
        prev_hash=doc["prev_hash"],
        hlc=doc["hlc"],
        author=doc["author"],
        case_id=doc["case_id"],
        ops=ops,
    )


def _decode_op(doc: object) -> Op:
    _expect(isinstance(doc, dict), "op is not an object")
    assert isinstance(doc, dict)
    keys = set(doc)
    _expect(keys in (_OP_KEYS, _OP_KEYS | {"sealed"}), "op keys")
    _expect(isinstance(doc["entity"], str) and doc["entity"] in ENTITIES, "unknown entity")
    _expect(_short_text(doc["entity_id"], 64) and bool(doc["entity_id"]), "bad entity id")
    _expect(doc["kind"] in OP_KINDS, "unknown op kind")
    fields, prev = doc["fields"], doc["prev"]
    _expect(isinstance(fields, dict) and isinstance(prev, dict), "fields or prev not objects")
    known = ENTITIES[doc["entity"]].fields
    _expect(all(name in known for name in fields), "unknown field")
    _expect(all(name in known and _good_prev(ref) for name, ref in prev.items()), "bad prev")
    sealed = doc.get("sealed", {})
    _expect(isinstance(sealed, dict) and (bool(sealed) or "sealed" not in doc), "bad sealed")
    kind = ENTITIES[doc["entity"]]
    for name, digest in sealed.items():
        _expect(sealable(kind, name) and name not in fields, "bad sealed field")
        _expect(_is_hex_digest(digest), "bad commitment")
    return Op(doc["entity"], doc["entity_id"], doc["kind"], fields, prev, sealed)


def decode_verified(body: bytes) -> Changeset:
    """storage.changesets.decode_verified before the spool's read-back was made faster."""
    doc = json.loads(body)
    ops = tuple(
        Op(
            op["entity"],
            op["entity_id"],
            op["kind"],
            op["fields"],
            op["prev"],
            op.get("sealed", {}),
        )
        for op in doc["ops"]
    )
    return _changeset(doc, ops)
