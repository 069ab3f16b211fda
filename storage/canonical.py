"""Canonical JSON: the exact bytes that are hashed and signed, and a strict parser for them.

Signatures are made over these bytes, never over whatever a serializer happens to emit
(python-tuf does the same). The parser refuses what `json` would quietly accept from a
hostile source: duplicate keys, NaN and infinities, floats, deep nesting, huge input.
"""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 16
MAX_BYTES = 16 * 1024 * 1024

JSONValue = Any


class CanonicalError(ValueError):
    """The input is not canonical JSON of the shape we accept."""


def _check(value: JSONValue, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalError("nested too deeply")
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) >= 2**63:
            raise CanonicalError("integer out of range")
        return
    if isinstance(value, list):
        for item in value:
            _check(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError("object keys must be strings")
            _check(item, depth + 1)
        return
    raise CanonicalError(f"type {type(value).__name__} is not allowed")


def encode(value: JSONValue) -> bytes:
    """Return the one canonical encoding of `value`: sorted keys, no spaces, UTF-8."""
    _check(value, 0)
    return _dumps(value)


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


# What `decode` compares a parsed value with: the C encoder `json.dumps` above uses, built
# once (json.dumps builds an encoder per call, a third of the cost of checking a changeset
# body). Without a circular-reference check: a value that came out of the parser has no
# cycles. `_dumps` where the C encoder is missing (never on CPython).
_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_dumps_parsed: Callable[[JSONValue], bytes] = _dumps
if _ENCODER is not None:
    _encode_chunks = _ENCODER(
        None, None, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )

    def _dumps_parsed(value: JSONValue) -> bytes:
        return "".join(_encode_chunks(value, 0)).encode("utf-8")


def _int_in_range(text: str) -> int:
    value = int(text)
    if abs(value) >= 2**63:
        raise CanonicalError("integer out of range")
    return value


def decode(data: bytes, *, require_canonical: bool = True) -> JSONValue:
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
            encoded = _dumps_parsed(value)
        except UnicodeEncodeError:
            raise CanonicalError("text holds a lone surrogate (not Unicode)") from None
        if require_canonical and encoded != data:
            _parse(text, pairs_hook=True)  # raises when a duplicate key is the reason
            raise CanonicalError("not in canonical form")
    return value


# The strict parsers, built once (json.loads builds a decoder and its scanner per call).
_STRICT = json.JSONDecoder(
    parse_constant=_no_constant, parse_float=_no_float, parse_int=_int_in_range
)
_STRICT_NAMING_DUPLICATES = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_no_constant,
    parse_float=_no_float,
    parse_int=_int_in_range,
)


def _scanner(decoder: json.JSONDecoder) -> Callable[[str, int], tuple[JSONValue, int]]:
    """The scanner a decoder builds for itself (typeshed names its argument's type oddly)."""
    context: Any = decoder
    return json.scanner.make_scanner(context)


# Their scanners, called directly: JSONDecoder.decode less its two Python frames.
_SCANNERS = {False: _scanner(_STRICT), True: _scanner(_STRICT_NAMING_DUPLICATES)}


def _parse(text: str, *, pairs_hook: bool) -> JSONValue:
    # When the text is one value from its first character to its last (canonical text
    # always is), the scanner's answer is decode's; otherwise (white space around it,
    # trailing data, no value) decode parses it again and says why.
    try:
        value, end = _SCANNERS[pairs_hook](text, 0)
    except StopIteration:
        end = -1
    if end == len(text):
        return value
    return (_STRICT_NAMING_DUPLICATES if pairs_hook else _STRICT).decode(text)


# The plain parser (no hooks: every value a Python call cheaper) for text that `decode`
# accepted before and that we kept since, e.g. changeset bodies in the workspace or the
# staging spool.
_TRUSTED_SCANNER = _scanner(json.JSONDecoder())


def decode_trusted(data: bytes) -> JSONValue:
    """Parse `data` that `decode` accepted before (kept by us since, never taken from
    anyone's word): json.loads without its per-call steps (guessing the encoding, the white
    space before and after), which cost more than the parse of a changeset body."""
    try:
        text = data.decode("utf-8")
        value, end = _TRUSTED_SCANNER(text, 0)
        if end == len(text):
            return value
    except (UnicodeDecodeError, StopIteration):
        pass
    return json.loads(data)  # not what `decode` gives out: answer as json.loads does


# A JSON string (with its escapes) or one bracket. The closing quote is optional so that an
# unterminated string is consumed once, to the end: required, the scan would restart at
# each escaped quote inside it, quadratic in the input (64 KB took 97 s).
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _check_nesting(text: str) -> None:
    """Refuse deep nesting before the recursive parser sees it."""
    depth = 0
    for match in _STRUCTURE.finditer(text):
        found = match.group()
        if found in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise CanonicalError("nested too deeply")
        elif found in "]}":
            depth -= 1
