"""Changesets: the signed unit of history and sync, and their canonical encoding.

    changeset = {origin, epoch, seq, prev_hash, hlc, author, case_id, ops[]}   (+ sig)
    op        = {entity, entity_id, kind, fields, prev}

The body is canonical JSON; the signature covers it (domain-separated); the id is the
SHA-256 of the body, recomputed from the bytes, never taken from anyone's word.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from typing import Any, NewType

from storage import canonical
from storage.entities import ENTITIES
from storage.hlc import Stamp
from storage.sealing import sealable

ChangesetId = NewType("ChangesetId", str)
FORMAT = "valise.changeset"
VERSION = 1
OP_KINDS = ("create", "update", "withdraw")
MAX_OPS = 10_000
GENESIS = ""
MAX_PREV_REFS = 1_000  # a resolution names every value it settles
_OP_KEYS = {"entity", "entity_id", "kind", "fields", "prev"}


class MalformedChangeset(ValueError):
    """The bytes are not a changeset of the shape this version understands."""


@dataclass(frozen=True, slots=True)
class Op:
    """One change to one record. `sealed` maps protected or privileged fields to the
    commitment that stands for their value (storage.sealing); it is left out of the
    encoding when empty, so ops without sealed fields encode as they always have."""

    entity: str
    entity_id: str
    kind: str
    fields: dict[str, Any]
    prev: dict[str, str]
    sealed: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The op as a plain JSON object."""
        doc = {
            "entity": self.entity,
            "entity_id": self.entity_id,
            "kind": self.kind,
            "fields": self.fields,
            "prev": self.prev,
        }
        if self.sealed:
            doc["sealed"] = self.sealed
        return doc


@dataclass(frozen=True, slots=True)
class Changeset:
    """The decoded body of a changeset (the signature travels beside it)."""

    origin: str
    epoch: int
    seq: int
    prev_hash: str
    hlc: str
    author: str
    case_id: str
    ops: tuple[Op, ...]

    def encode(self) -> bytes:
        """The canonical body bytes that are signed and hashed."""
        return canonical.encode(
            {
                "format": FORMAT,
                "version": VERSION,
                "origin": self.origin,
                "epoch": self.epoch,
                "seq": self.seq,
                "prev_hash": self.prev_hash,
                "hlc": self.hlc,
                "author": self.author,
                "case_id": self.case_id,
                "ops": [op.to_json() for op in self.ops],
            }
        )


def changeset_id(body: bytes) -> ChangesetId:
    """The changeset id: SHA-256 of its exact body bytes."""
    return ChangesetId(hashlib.sha256(body).hexdigest())


def op_ref(cs_id: str, index: int) -> str:
    """The stable name of one op, used in `prev`."""
    return f"{cs_id}:{index}"


def _expect(condition: bool, why: str) -> None:
    if not condition:
        raise MalformedChangeset(why)


def _short_text(value: object, limit: int = 256) -> bool:
    return isinstance(value, str) and len(value) <= limit


def decode(body: bytes) -> Changeset:
    """Parse and shape-check a changeset body from anywhere; raise MalformedChangeset."""
    try:
        doc = canonical.decode(body)
    except canonical.CanonicalError as exc:
        raise MalformedChangeset(str(exc)) from None
    return _well_shaped(doc) or _checked(doc)


_CHANGESET_KEYS = frozenset(
    ("format", "version", "origin", "epoch", "seq", "prev_hash", "hlc", "author", "case_id", "ops")
)
_SEALED_OP_KEYS = frozenset(_OP_KEYS | {"sealed"})
_OP_KIND_NAMES = {kind: kind for kind in OP_KINDS}  # one string object for each


def _well_shaped(doc: object) -> Changeset | None:
    """The changeset when `doc` passes every check of `_checked`, else None (then
    `_checked` says which check it fails). The same checks, asked at once without naming
    the first that fails: a bundle carries hundreds of thousands of changesets, nearly all
    well shaped. Stricter nowhere and looser nowhere than `_checked` (a differential
    property test in tests/storage/test_changesets.py holds them to it); where it is
    unsure, it leaves the answer to `_checked`."""
    if type(doc) is not dict or doc.keys() != _CHANGESET_KEYS:
        return None
    origin, epoch, seq, hlc, ops = doc["origin"], doc["epoch"], doc["seq"], doc["hlc"], doc["ops"]
    prev_hash, author, case_id = doc["prev_hash"], doc["author"], doc["case_id"]
    shaped = (
        doc["format"] == FORMAT
        and doc["version"] == VERSION
        and type(origin) is str
        and len(origin) == 64
        and type(epoch) is int
        and epoch >= 0
        and type(seq) is int
        and seq >= 1
        and type(prev_hash) is str
        and len(prev_hash) <= 64
        and type(author) is str
        and len(author) <= 256
        and type(case_id) is str
        and len(case_id) <= 64
        and type(hlc) is str
        and len(hlc) == 22
        and hlc[15] == "."
        and hlc.isascii()
        and hlc[:15].isdigit()
        and hlc[16:].isdigit()
        and type(ops) is list
        and 1 <= len(ops) <= MAX_OPS
    )
    if not shaped:
        return None
    decoded = []
    for op in ops:
        one = _well_shaped_op(op)
        if one is None:
            return None
        decoded.append(one)
    return _changeset(doc, tuple(decoded))


def _well_shaped_op(doc: Any) -> Op | None:
    """`_decode_op` for an op that passes all its checks, else None (see `_well_shaped`)."""
    if type(doc) is not dict:
        return None
    keys = doc.keys()
    if keys == _OP_KEYS:
        sealed: Any = {}
    elif keys == _SEALED_OP_KEYS:
        sealed = doc["sealed"]
        if type(sealed) is not dict or not sealed:
            return None
    else:
        return None
    entity_name, entity_id, fields, prev = (
        doc["entity"],
        doc["entity_id"],
        doc["fields"],
        doc["prev"],
    )
    kind = ENTITIES.get(entity_name) if type(entity_name) is str else None
    op_kind = _OP_KIND_NAMES.get(doc["kind"]) if type(doc["kind"]) is str else None
    if kind is None or op_kind is None:
        return None
    shaped = (
        type(entity_id) is str
        and 0 < len(entity_id) <= 64
        and type(fields) is dict
        and type(prev) is dict
        and fields.keys() <= kind.fields.keys()
    )
    if not shaped:
        return None
    known = kind.fields
    for name, ref in prev.items():
        if name not in known or not _good_prev(ref):
            return None
    for name, digest in sealed.items():
        if not sealable(kind, name) or name in fields or not _is_hex_digest(digest):
            return None
    return Op(kind.name, entity_id, op_kind, fields, prev, sealed)


def _checked(doc: object) -> Changeset:
    """The checks of a changeset's shape one by one, raising MalformedChangeset with the
    first that fails."""
    _expect(isinstance(doc, dict), "not an object")
    assert isinstance(doc, dict)
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


def decode_verified(body: bytes) -> Changeset:
    """Rebuild a changeset that `decode` already checked (kept by us since, in encrypted
    storage): the same result without checking the shape a second time, parsed by the
    plain scanner (canonical.decode_trusted): the import reads every changeset of a bundle
    back from its spool, and json.loads' own steps cost more than the parse."""
    doc = canonical.decode_trusted(body)
    ops = [
        Op(
            op["entity"],
            op["entity_id"],
            op["kind"],
            op["fields"],
            op["prev"],
            op.get("sealed", {}),
        )
        for op in doc["ops"]
    ]
    return _changeset(doc, tuple(ops))


def _changeset(doc: dict[str, Any], ops: tuple[Op, ...]) -> Changeset:
    # By position: once per changeset in a bundle, keywords cost a third. The texts that
    # repeat from changeset to changeset are kept once (sys.intern): an import holds up to
    # 100,000 decoded changesets (sync.spool), and a copy of each cost 260 bytes apiece.
    return Changeset(
        sys.intern(doc["origin"]),
        doc["epoch"],
        doc["seq"],
        doc["prev_hash"],
        doc["hlc"],
        sys.intern(doc["author"]),
        sys.intern(doc["case_id"]),
        ops,
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


def _good_prev(value: object) -> bool:
    """One op reference, or up to MAX_PREV_REFS separated by spaces (a resolution)."""
    if not isinstance(value, str) or len(value) > 81 * MAX_PREV_REFS:
        return False
    if not value:
        return True
    refs = value.split(" ")
    return len(refs) <= MAX_PREV_REFS and all(0 < len(ref) <= 80 for ref in refs)


_LOWER_HEX = re.compile(r"[0-9a-f]{64}")


def _is_hex_digest(value: object) -> bool:
    return isinstance(value, str) and _LOWER_HEX.fullmatch(value) is not None
