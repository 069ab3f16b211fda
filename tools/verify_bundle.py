#!/usr/bin/env python3
"""Verify a Valise bundle without Valise: one file, the standard library, `cryptography`
and the `age` tool.

A tribunal, an auditor or a court expert who holds a recipient's age key (written by
`valise identity age-key`) runs

    python3 verify_bundle.py --identity office.agekey STICK/Valise/XXXX.head.age

and learns who signed the bundle, to whom it was addressed, and whether every byte of it is
what the sender signed: the manifest's signature, the size and digest of the payload, every
changeset's signature, id and chain, every withheld value's commitment and every evidence
file's SHA-256. Files already opened with `age -d` are checked with

    python3 verify_bundle.py --decrypted HEAD.plain PART1.plain PART2.plain ...

(the parts in the order the manifest lists them). Decrypted bytes are never written to disk:
`age -d` writes into a pipe that is hashed as it is read. The format is specified in
docs/bundle-format.md; this file imports nothing of Valise, on purpose, so that it can be
read and run on its own. Exit status: 0 when everything verifies, 1 when anything does not,
2 when the command was used wrongly (no such file, no `age` tool, bad arguments).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "verify_bundle: the Python package `cryptography` is not installed; install it"
        " (Debian: apt install python3-cryptography; or pip install cryptography) and run"
        " again.\n"
    )
    sys.exit(2)

# -- the format's constants (docs/bundle-format.md; each is tested against the code) ------

HEAD_MAGIC = b"VALISE-BUNDLE-HEAD/1\n"
AGE_INTRO = b"age-encryption.org/v1\n"
MANIFEST_FORMAT = "valise.bundle"
MANIFEST_VERSION = 1
MANIFEST_DOMAIN = b"valise/bundle-manifest/v1\n"
CHANGESET_FORMAT = "valise.changeset"
CHANGESET_VERSION = 1
CHANGESET_DOMAIN = b"valise/changeset/v1\n"
SEAL_DOMAIN = b"valise/sealed-field/v1\n"
FINGERPRINT_DOMAIN = b"valise/fingerprint/v1\n"
CARD_FORMAT = "valise.card"
CARD_VERSION = 1
CARD_DOMAIN = b"valise/contact-card/v1\n"
ENDORSEMENT_DOMAIN = b"valise/key-rotation/v1\n"
HEAD_SUFFIX = ".head.age"
PART_SUFFIX = ".part.age"

MAX_HEAD_BYTES = 4 * 1024 * 1024
MAX_CHANGESET_FRAME = 20 * 1024 * 1024
MAX_BLOB_SIZE = 1 << 40
MAX_PARTS = 10_000
MAX_PART_BYTES = 2 * 1024**3
SIGNATURE_BYTES = 64
MAX_RECIPIENTS = 64
MAX_INTRODUCTIONS = 10_000
MAX_RECEIPTS = 100_000
MAX_HOLDING_RANGES = 1_000_000
CANONICAL_MAX_DEPTH = 16
CANONICAL_MAX_BYTES = 16 * 1024 * 1024
MAX_OPS = 10_000
MAX_PREV_REFS = 1_000
MAX_REVEAL_INDEX = 100_000
MAX_CARD_BYTES = 16 * 1024
OP_KINDS = ("create", "update", "withdraw")
PEER_ROLES = ("office", "liaison", "ngo", "defence")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Record kinds: their open fields | the fields that may be sealed (withheld). Kept equal to
# storage/entities.py by tests/sync/test_standalone_verifier.py.
_ENTITY_TABLE = """
case: reference title summary status categories jurisdiction location opened_on lead_office
    withdrawn |
person: case_id role pseudonym protection languages consent withdrawn |
    legal_name aliases birth_date contact home_location
incident: case_id title description date_from date_to location coordinates act_types status
    withdrawn |
element: case_id charge article element mode_of_liability withdrawn |
evidence: case_id ern title type description created_at collected_at collected_by
    collection_method collection_location source original_name media_type size sha256
    classification sensitivity custody_status current_holder withdrawn |
link: case_id evidence_id target_kind target_id strength status withdrawn |
note: case_id subject_id class withdrawn | text
custody: case_id evidence_id event at actor office location from_holder to_holder medium note
    hash_seen hash_expected result |
trust: statement subject epoch after_seq new_signing_public new_encryption_public office_name
    reason at retracts |
grant: case_id kind grantee signing_public encryption_public office_name role epoch after_seq
    at |
release: case_id evidence_id grantee_origin grantee_role grantee_name with_file_name at
    withdrawn |
consent: case_id person_id audience decision decided_on decided_by | note
"""


def _entity_fields(table: str) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    entries = re.split(r"\n(?=[a-z]+:)", table.strip())
    fields = {}
    for entry in entries:
        name, _, rest = entry.partition(":")
        open_part, _, sealable_part = rest.partition("|")
        fields[name] = (_words(open_part), _words(sealable_part))
    return fields


ENTITY_FIELDS = _entity_fields(_ENTITY_TABLE)

READ_BYTES = 1 << 20
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_HEX = re.compile(r"[0-9a-f]*")
_HLC = re.compile(r"[0-9]{15}\.[0-9]{6}")


class Unreadable(Exception):
    """Checking cannot go on (the bytes are not what the format says); a sentence."""


class UsageError(Exception):
    """The command was used wrongly; a sentence."""


# -- canonical JSON (storage/canonical.py) -------------------------------------------------


def canonical_encode(value: Any) -> bytes:
    """The one canonical encoding: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key appears twice in one object")
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _refuse_float(text: str) -> Any:
    raise ValueError("floating point numbers are not allowed")


def _bounded_int(text: str) -> int:
    value = int(text)
    if abs(value) >= 2**63:
        raise ValueError("an integer is out of range")
    return value


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
            if depth > CANONICAL_MAX_DEPTH:
                raise ValueError("it is nested too deeply")
        elif found in "]}":
            depth -= 1


def canonical_decode(data: bytes) -> Any:
    """Parse canonical JSON strictly; ValueError (with a short reason) for anything else."""
    if len(data) > CANONICAL_MAX_BYTES:
        raise ValueError("it is too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8") from None
    if text.count("[") + text.count("{") > CANONICAL_MAX_DEPTH:  # else it cannot nest deeper
        _check_nesting(text)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_refuse_float,
            parse_int=_bounded_int,
        )
    except RecursionError:
        raise ValueError("it is nested too deeply") from None
    except ValueError as exc:
        reason = str(exc) if not isinstance(exc, json.JSONDecodeError) else "it is not JSON"
        raise ValueError(reason) from None
    try:
        again = canonical_encode(value)
    except UnicodeEncodeError:
        raise ValueError("it holds a lone surrogate (not Unicode)") from None
    if again != data:
        raise ValueError("it is not in canonical form")
    return value


# -- keys: origins, fingerprints, age's Bech32 (storage/identity.py, sync/agekeys.py) ------


def origin_of(signing_public: bytes) -> str:
    """An origin id: the hex SHA-256 of the raw Ed25519 public key."""
    return hashlib.sha256(signing_public).hexdigest()


def fingerprint(signing_public: bytes, encryption_public: bytes) -> str:
    """The forty digits people compare aloud, in eight groups of five."""
    digest = hashlib.sha256(FINGERPRINT_DOMAIN + signing_public + encryption_public).digest()
    digits = f"{int.from_bytes(digest[:17], 'big') % 10**40:040d}"
    return " ".join(digits[i : i + 5] for i in range(0, 40, 5))


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_BECH32_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_encode(hrp: str, data: bytes) -> str:
    """Bech32 (BIP 173, no length limit) as age writes its keys."""
    accumulator, bits, words = 0, 0, []
    for byte in data:
        accumulator = (accumulator << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            words.append((accumulator >> bits) & 31)
    if bits:
        words.append((accumulator << (5 - bits)) & 31)
    polymod = _polymod([*_hrp_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[w] for w in words + checksum)


def bech32_decode(text: str) -> tuple[str, bytes] | None:
    """(prefix, bytes) of a Bech32 string, or None when it is not one."""
    if text != text.lower() and text != text.upper():
        return None
    hrp, separator, data = text.lower().rpartition("1")
    if not separator or not hrp or len(data) < 6 or any(c not in _BECH32 for c in data):
        return None
    words = [_BECH32.index(c) for c in data]
    if _polymod(_hrp_expand(hrp) + words) != 1:
        return None
    accumulator, bits, out = 0, 0, bytearray()
    for word in words[:-6]:
        accumulator = (accumulator << 5) | word
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
    return hrp, bytes(out)


def identity_publics(path: Path) -> list[bytes]:
    """The X25519 public keys of the age identities in a key file (others are skipped)."""
    publics = []
    for line in path.read_text("utf-8", errors="replace").splitlines():
        decoded = bech32_decode(line.strip())
        if decoded and decoded[0] == "age-secret-key-" and len(decoded[1]) == 32:
            private = X25519PrivateKey.from_private_bytes(decoded[1])
            raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            publics.append(raw)
    return publics


def _is_encrypted_identity(path: Path) -> bool:
    """True for an identity file that age itself encrypted with a passphrase."""
    with path.open("rb") as handle:
        return handle.read(len(AGE_INTRO)) == AGE_INTRO


def signature_holds(public: bytes, signature: bytes, message: bytes) -> bool:
    """True when `signature` is the Ed25519 signature of `message` by `public`."""
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# -- shapes --------------------------------------------------------------------------------


def is_hex(value: object, length: int) -> bool:
    """Lower-case hex of exactly `length` characters."""
    return isinstance(value, str) and len(value) == length and _HEX.fullmatch(value) is not None


def is_count(value: object, limit: int = 1 << 62) -> bool:
    """A whole number from 0 to `limit` (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise Unreadable(f"The bundle's manifest is damaged: {what}.")


def _check_party(party: object, keys: set[str]) -> None:
    _require(isinstance(party, dict) and set(party) == keys, "a party entry has the wrong keys")
    assert isinstance(party, dict)
    _require(is_hex(party["origin"], 64), "an origin is malformed")
    for key in keys - {"origin", "office_name"}:
        _require(is_hex(party[key], 64), f"the {key.replace('_', ' ')} key is malformed")
    if "office_name" in keys:
        name = party["office_name"]
        _require(isinstance(name, str) and 0 < len(name) <= 200, "an office name is malformed")


def _check_holdings(holdings: object) -> None:
    _require(isinstance(holdings, dict), "its record of what the sender holds is not an object")
    assert isinstance(holdings, dict)
    count = 0
    for origin, ranges in holdings.items():
        _require(is_hex(origin, 64) and isinstance(ranges, list), "a holdings origin is bad")
        for item in ranges:
            count += 1
            _require(
                isinstance(item, list)
                and len(item) == 3
                and all(is_count(n) for n in item)
                and item[1] <= item[2]
                and count <= MAX_HOLDING_RANGES,
                "its holdings are malformed",
            )


MANIFEST_KEYS = _words(
    "format version bundle_id created sender recipients holdings receipts introductions"
    " endorsement parts payload"
)


def check_manifest(doc: object) -> dict[str, Any]:
    """The manifest after the checks sync/bundle_format.py makes; Unreadable otherwise."""
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        raise Unreadable("The head's manifest is not a Valise bundle manifest.")
    if doc.get("version") != MANIFEST_VERSION or set(doc) != MANIFEST_KEYS:
        raise Unreadable(
            f"The bundle's manifest is of version {doc.get('version')!r}; this verifier reads"
            f" version {MANIFEST_VERSION} only (a newer verifier is needed)."
        )
    _require(is_hex(doc["bundle_id"], 32), "the bundle id is malformed")
    _require(isinstance(doc["created"], str) and len(doc["created"]) <= 64, "bad time")
    _check_party(doc["sender"], {"origin", "office_name", "signing_public", "encryption_public"})
    recipients = doc["recipients"]
    _require(
        isinstance(recipients, list) and 0 < len(recipients) <= MAX_RECIPIENTS,
        "bad recipient list",
    )
    for party in recipients:
        _check_party(party, {"origin", "office_name", "encryption_public"})
    introductions = doc["introductions"]
    _require(
        isinstance(introductions, list) and len(introductions) <= MAX_INTRODUCTIONS,
        "bad introductions",
    )
    for party in introductions:
        _check_party(party, {"origin", "office_name", "signing_public"})
    receipts = doc["receipts"]
    _require(isinstance(receipts, list) and len(receipts) <= MAX_RECEIPTS, "bad receipts")
    for receipt in receipts:
        _require(isinstance(receipt, dict) and is_hex(receipt.get("bundle_id"), 32), "receipt")
    _check_holdings(doc["holdings"])
    endorsement = doc["endorsement"]
    _require(isinstance(endorsement, dict), "bad endorsement")
    if endorsement:
        _require(
            set(endorsement) == {"old_origin", "old_signing_public", "signature"}
            and is_hex(endorsement["old_origin"], 64)
            and is_hex(endorsement["old_signing_public"], 64)
            and is_hex(endorsement["signature"], 128),
            "a malformed key endorsement",
        )
    parts = doc["parts"]
    _require(isinstance(parts, list) and 0 < len(parts) <= MAX_PARTS, "bad part list")
    for part in parts:
        _require(isinstance(part, dict) and set(part) == {"name", "size"}, "part keys")
        _require(is_hex(part["name"], 32), "a part name is malformed")
        _require(is_count(part["size"], MAX_PART_BYTES), "a part size is out of range")
    payload = doc["payload"]
    _require(
        isinstance(payload, dict)
        and set(payload) == {"size", "sha256", "changesets", "blobs", "blob_bytes"},
        "payload keys",
    )
    _require(is_hex(payload["sha256"], 64), "the payload digest is malformed")
    for key in ("size", "changesets", "blobs", "blob_bytes"):
        _require(is_count(payload[key]), f"the payload {key} is out of range")
    return doc


def split_head(plain: bytes) -> tuple[bytes, bytes]:
    """Manifest bytes and signature of a decrypted head (sync/bundle_format.py)."""
    if not plain.startswith(HEAD_MAGIC):
        raise Unreadable("The decrypted head does not begin with VALISE-BUNDLE-HEAD/1.")
    rest = plain[len(HEAD_MAGIC) :]
    if len(rest) < 4:
        raise Unreadable("The bundle's head is cut short.")
    (length,) = _U32.unpack_from(rest)
    if len(rest) != 4 + length + SIGNATURE_BYTES:
        raise Unreadable("The bundle's head has the wrong length (cut short or padded).")
    return rest[4 : 4 + length], rest[4 + length :]


# -- changesets (storage/changesets.py, storage/sealing.py) --------------------------------

CHANGESET_KEYS = _words("format version origin epoch seq prev_hash hlc author case_id ops")
OP_KEYS = {"entity", "entity_id", "kind", "fields", "prev"}


def _short_text(value: object, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _good_prev(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 81 * MAX_PREV_REFS:
        return False
    if not value:
        return True
    refs = value.split(" ")
    return len(refs) <= MAX_PREV_REFS and all(0 < len(ref) <= 80 for ref in refs)


def changeset_shape_problem(doc: object) -> str:
    """What is wrong with a decoded changeset body, or "" when its shape is right."""
    if not isinstance(doc, dict) or set(doc) != CHANGESET_KEYS:
        return "unexpected or missing keys"
    if doc["format"] != CHANGESET_FORMAT or doc["version"] != CHANGESET_VERSION:
        return f"it is of format {doc['format']!r} version {doc['version']!r}, not version 1"
    checks = (
        (is_hex(doc["origin"], 64), "its origin is malformed"),
        (is_count(doc["epoch"]) and is_count(doc["seq"]) and doc["seq"] >= 1, "bad epoch/seq"),
        (doc["prev_hash"] == "" or is_hex(doc["prev_hash"], 64), "its prev_hash is malformed"),
        (isinstance(doc["hlc"], str) and _HLC.fullmatch(doc["hlc"]) is not None, "bad hlc"),
        (_short_text(doc["author"], 256), "its author is malformed"),
        (_short_text(doc["case_id"], 64), "its case id is malformed"),
        (isinstance(doc["ops"], list) and 1 <= len(doc["ops"]) <= MAX_OPS, "bad ops list"),
    )
    for good, why in checks:
        if not good:
            return why
    for index, op in enumerate(doc["ops"]):
        problem = _op_problem(op)
        if problem:
            return f"op {index}: {problem}"
    return ""


def _op_problem(op: object) -> str:
    if not isinstance(op, dict) or set(op) not in (OP_KEYS, OP_KEYS | {"sealed"}):
        return "its keys are wrong"
    if op["entity"] not in ENTITY_FIELDS:
        return f"unknown record kind {str(op['entity'])[:40]!r}"
    open_fields, sealable = ENTITY_FIELDS[op["entity"]]
    known = open_fields | sealable
    fields, prev, sealed = op["fields"], op["prev"], op.get("sealed", {})
    problems = (
        (isinstance(op["entity_id"], str) and 0 < len(op["entity_id"]) <= 64, "bad entity id"),
        (op["kind"] in OP_KINDS, "unknown op kind"),
        (isinstance(fields, dict) and isinstance(prev, dict), "fields or prev not objects"),
        (isinstance(sealed, dict) and (bool(sealed) or "sealed" not in op), "bad sealed"),
    )
    for good, why in problems:
        if not good:
            return why
    if any(name not in known for name in fields):
        return "an unknown field"
    if any(name not in known or not _good_prev(ref) for name, ref in prev.items()):
        return "a bad prev"
    for name, digest in sealed.items():
        if name not in sealable or name in fields or not is_hex(digest, 64):
            return "a bad sealed field"
    return ""


def commitment(salt: bytes, value: object) -> str:
    """The salted commitment that stands for a withheld value in a signed changeset."""
    return hashlib.sha256(SEAL_DOMAIN + salt + canonical_encode(value)).hexdigest()


def sidecar_problem(meta: object) -> str:
    """What is wrong with a changeset frame's sidecar, or ""."""
    if not isinstance(meta, dict) or set(meta) != {"case_prev", "reveals"}:
        return "the wrong keys"
    if not (meta["case_prev"] == "" or is_hex(meta["case_prev"], 64)):
        return "case_prev is malformed"
    if not isinstance(meta["reveals"], list):
        return "reveals is not a list"
    for item in meta["reveals"]:
        if not (
            isinstance(item, list)
            and len(item) == 4
            and is_count(item[0], MAX_REVEAL_INDEX)
            and isinstance(item[1], str)
            and is_hex(item[2], 32)
        ):
            return "a revealed value is malformed"
    return ""


# -- the report ----------------------------------------------------------------------------


@dataclass
class Report:
    """What was found, in lines for a person; failures are counted."""

    out: Callable[[str], None]
    failures: int = 0

    def say(self, text: str) -> None:
        """A plain line of the report."""
        self.out(text)

    def fail(self, text: str) -> None:
        """A line naming something that does not verify."""
        self.failures += 1
        self.out(f"FAILED: {text}")


@dataclass
class SeenChangeset:
    """What the chain checks need of one changeset."""

    number: int
    cs_id: str
    origin: str
    epoch: int
    seq: int
    prev_hash: str
    case_id: str
    case_prev: str


@dataclass
class PayloadChecker:
    """Reads the payload's frames as bytes arrive, verifying each (sync/bundle_format.py)."""

    report: Report
    keys: dict[str, bytes]
    digest: Any = field(default_factory=hashlib.sha256)
    size: int = 0
    changesets: int = 0
    changesets_verified: int = 0
    blobs: int = 0
    blobs_verified: int = 0
    blob_bytes: int = 0
    seen: list[SeenChangeset] = field(default_factory=list)
    evidence_ops: dict[str, object] = field(default_factory=dict)  # sha256 -> signed size
    carried: dict[str, int] = field(default_factory=dict)  # sha256 -> size in a frame
    _buffer: bytearray = field(default_factory=bytearray)
    _state: str = "kind"
    _need: int = 1
    _blob_hash: Any = None
    _blob_left: int = 0
    _blob_sha: str = ""
    _blob_size: int = 0

    def feed(self, data: bytes) -> None:
        """The next decrypted payload bytes; Unreadable when the frames break."""
        view = memoryview(data)
        self.size += len(view)
        while view:
            if self._blob_hash is not None:
                take = min(self._blob_left, len(view))
                self._blob_hash.update(view[:take])
                self._blob_left -= take
                view = view[take:]
                if self._blob_left == 0:
                    self._end_blob()
                continue
            take = min(self._need - len(self._buffer), len(view))
            self.digest.update(view[:take])
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == self._need:
                chunk = bytes(self._buffer)
                self._buffer.clear()
                self._step(chunk)

    def _step(self, chunk: bytes) -> None:
        if self._state == "kind":
            if chunk == b"C":
                self._state, self._need = "changeset length", 4
            elif chunk == b"B":
                self._state, self._need = "evidence header", 8 + 32
            else:
                raise Unreadable(
                    f"The payload holds a record of unknown kind {chunk!r} at byte"
                    f" {self.size:,} or before (damaged, or not a Valise payload)."
                )
        elif self._state == "changeset length":
            (length,) = _U32.unpack(chunk)
            if not 4 + SIGNATURE_BYTES < length <= MAX_CHANGESET_FRAME:
                raise Unreadable(
                    f"The payload declares a changeset of impossible size ({length:,})."
                )
            self._state, self._need = "changeset", length
        elif self._state == "changeset":
            self.changesets += 1
            self._check_changeset(chunk)
            self._state, self._need = "kind", 1
        else:
            (size,) = _U64.unpack_from(chunk)
            if not 0 < size <= MAX_BLOB_SIZE:
                raise Unreadable(
                    f"The payload declares an evidence file of impossible size ({size:,})."
                )
            self.blobs += 1
            self._blob_sha = chunk[8:].hex()
            self._blob_hash = hashlib.sha256()
            self._blob_left = self._blob_size = size
            self.blob_bytes += size

    def _end_blob(self) -> None:
        found = self._blob_hash.hexdigest()
        if found == self._blob_sha:
            self.blobs_verified += 1
            self.carried[self._blob_sha] = self._blob_size
        else:
            self.report.fail(
                f"evidence file {self.blobs} ({self._blob_size:,} bytes) does not match the"
                f" SHA-256 its frame declares ({self._blob_sha}); its bytes hash to {found}."
            )
        self._blob_hash = None
        self._state, self._need = "kind", 1

    def finish(self) -> None:
        """The payload ended: it must end between frames."""
        if self._blob_hash is not None or self._buffer or self._state != "kind":
            raise Unreadable("The payload ends in the middle of a record (cut short).")

    def _check_changeset(self, content: bytes) -> None:
        number = self.changesets
        (body_len,) = _U32.unpack_from(content)
        if body_len > len(content) - 4 - SIGNATURE_BYTES:
            raise Unreadable(f"Changeset {number}'s frame declares a body longer than itself.")
        body = content[4 : 4 + body_len]
        sig = content[4 + body_len : 4 + body_len + SIGNATURE_BYTES]
        cs_id = hashlib.sha256(body).hexdigest()
        name = f"changeset {number} (id {cs_id[:16]})"
        sidecar = content[4 + body_len + SIGNATURE_BYTES :]
        meta = self._decoded(name, "sidecar", sidecar, sidecar_problem)
        doc = self._decoded(name, "body", body, changeset_shape_problem) if meta else None
        if meta is None or doc is None:
            return
        if not self._signed(name, doc, body, sig) or not self._reveals_hold(
            name, doc["ops"], meta["reveals"]
        ):
            return
        self.changesets_verified += 1
        self.seen.append(
            SeenChangeset(
                number,
                cs_id,
                doc["origin"],
                doc["epoch"],
                doc["seq"],
                doc["prev_hash"],
                doc["case_id"],
                meta["case_prev"],
            )
        )
        for op in doc["ops"]:
            fields = op["fields"]
            if op["entity"] == "evidence" and op["kind"] == "create" and "sha256" in fields:
                self.evidence_ops[str(fields["sha256"])] = fields.get("size")

    def _decoded(
        self, name: str, what: str, data: bytes, problem_of: Callable[[Any], str]
    ) -> Any | None:
        """A changeset's body or sidecar, parsed and shape-checked; None (reported) if bad."""
        try:
            value = canonical_decode(data)
        except ValueError as exc:
            self.report.fail(f"{name}: its {what} is not canonical JSON ({exc}).")
            return None
        problem = problem_of(value)
        if problem:
            self.report.fail(f"{name}: its {what} is malformed: {problem}.")
            return None
        return value

    def _signed(self, name: str, doc: dict[str, Any], body: bytes, sig: bytes) -> bool:
        """The origin's signature over the body, with the key the manifest vouches for."""
        key = self.keys.get(doc["origin"])
        if key is None:
            self.report.fail(
                f"{name} is signed by origin {doc['origin'][:16]}, which the manifest neither"
                " names as its sender nor introduces."
            )
            return False
        if not signature_holds(key, sig, CHANGESET_DOMAIN + body):
            self.report.fail(
                f"{name} (origin {doc['origin'][:16]}, seq {doc['seq']}): its signature does"
                " not verify; it was altered or forged."
            )
            return False
        return True

    def _reveals_hold(self, name: str, ops: list[Any], reveals: list[Any]) -> bool:
        for index, field_name, salt, value in reveals:
            sealed = ops[index].get("sealed", {}) if index < len(ops) else {}
            if field_name not in sealed:
                self.report.fail(f"{name} reveals a value for a field it never sealed.")
                return False
            if commitment(bytes.fromhex(salt), value) != sealed[field_name]:
                self.report.fail(
                    f"{name}: the withheld value of op {index}'s {field_name!r} does not match"
                    " its signed commitment (altered)."
                )
                return False
        return True


def check_chains(report: Report, seen: list[SeenChangeset]) -> None:
    """Within the bundle: one changeset per (origin, epoch, seq), each linked by prev_hash
    to the one before it when that one is here too (storage/apply.py, storage/workspace.py)."""
    slots: dict[tuple[str, int, int], SeenChangeset] = {}
    by_id: dict[str, SeenChangeset] = {}
    for item in seen:
        slot = (item.origin, item.epoch, item.seq)
        other = slots.get(slot)
        if other is not None:
            what = (
                "twice" if other.cs_id == item.cs_id else "with two different changesets (a fork)"
            )
            report.fail(
                f"origin {item.origin[:16]} epoch {item.epoch} seq {item.seq} appears {what}:"
                f" changesets {other.number} and {item.number}."
            )
            continue
        slots[slot] = item
        by_id[item.cs_id] = item
    for (origin, epoch, seq), item in slots.items():
        before = slots.get((origin, epoch, seq - 1))
        if before is not None and item.prev_hash != before.cs_id:
            report.fail(
                f"changeset {item.number} (origin {origin[:16]} seq {seq}) does not link to"
                f" seq {seq - 1} in the same bundle: its prev_hash names"
                f" {item.prev_hash[:16] or 'nothing'}, not {before.cs_id[:16]}."
            )
        if epoch == 0 and seq == 1 and item.prev_hash:
            report.fail(
                f"changeset {item.number} is the first of its origin but names a prev_hash."
            )
        case_prev = by_id.get(item.case_prev) if item.case_prev else None
        if case_prev is not None and (case_prev.origin, case_prev.case_id) != (
            origin,
            item.case_id,
        ):
            report.fail(
                f"changeset {item.number}'s case_prev names changeset {case_prev.number}, of"
                " another origin or case."
            )


# -- reading the files ---------------------------------------------------------------------


def _age_sentence(stderr: bytes) -> str:
    """age's own complaint, without its advice on where to report it."""
    lines = stderr.decode("utf-8", errors="replace").splitlines()
    kept = [line.strip() for line in lines if line.strip() and "report unexpected" not in line]
    text = " ".join(kept).removeprefix("age: ").removeprefix("error: ")
    return text[:300] or "no reason given"


def decrypt_head(age: str, identity: Path, head: Path) -> bytes:
    """The head's plaintext, opened by `age -d`; Unreadable with a sentence on failure."""
    with head.open("rb") as handle:
        start = handle.read(len(AGE_INTRO))
    if start != AGE_INTRO:
        raise Unreadable(
            f"{head.name} is not an age-encrypted file, so it is not a Valise bundle head."
        )
    if head.stat().st_size > MAX_HEAD_BYTES:
        raise Unreadable(f"{head.name} is too large to be a bundle head.")
    done = subprocess.run(
        [age, "-d", "-i", str(identity), str(head)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        reason = _age_sentence(done.stderr)
        if "no identity matched" in reason:
            raise Unreadable(
                f"The key in {identity.name} does not open {head.name}: the bundle is addressed"
                " to other keys."
            )
        raise Unreadable(
            f"age could not decrypt {head.name} ({reason}): it is damaged or cut short."
        )
    return done.stdout


def read_plain_head(path: Path) -> bytes:
    """A head already decrypted by age."""
    with path.open("rb") as handle:
        data = handle.read(MAX_HEAD_BYTES + 1)
    if data.startswith(AGE_INTRO):
        raise Unreadable(
            f"{path.name} is still age-encrypted; decrypt it first, or use --identity instead"
            " of --decrypted."
        )
    if len(data) > MAX_HEAD_BYTES:
        raise Unreadable(f"{path.name} is too large to be a bundle head.")
    return data


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(READ_BYTES):
        yield chunk


def walk_encrypted_parts(
    report: Report,
    checker: PayloadChecker,
    age: str,
    identity: Path,
    folder: Path,
    parts: list[Any],
) -> bool:
    """Decrypt each part with `age -d` into the checker, in order; False when the walk
    stopped early (a part missing or undecryptable)."""
    count = len(parts)
    for number, part in enumerate(parts, start=1):
        path = folder / f"{part['name']}{PART_SUFFIX}"
        label = f"part {number} of {count} ({path.name})"
        if not path.is_file():
            report.fail(f"{label} is missing beside the head; the payload from it on is unchecked.")
            return False
        size = path.stat().st_size
        if size != part["size"]:
            report.fail(
                f"{label} is {size:,} bytes where the signed manifest says {part['size']:,}"
                " (cut short, padded, or a part of another bundle)."
            )
        process = subprocess.Popen(
            [age, "-d", "-i", str(identity), str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        try:
            for chunk in _chunks(process.stdout):
                checker.feed(chunk)
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            process.stdout.close()
        stderr = process.stderr.read()
        process.stderr.close()
        if process.wait() != 0:
            report.fail(
                f"{label} could not be decrypted by age ({_age_sentence(stderr)}): it is"
                " damaged, altered or cut short; the payload from it on is unchecked."
            )
            return False
    return True


def walk_plain_parts(
    report: Report, checker: PayloadChecker, paths: list[Path], parts: list[Any]
) -> bool:
    """Feed decrypted part files to the checker in the order given."""
    if len(paths) != len(parts):
        report.fail(
            f"{len(paths)} decrypted part files were given where the manifest names"
            f" {len(parts)}; give them all, in the manifest's order."
        )
    for path in paths:
        with path.open("rb") as handle:
            if handle.read(len(AGE_INTRO)) == AGE_INTRO:
                raise Unreadable(f"{path.name} is still age-encrypted; decrypt it first.")
            handle.seek(0)
            for chunk in _chunks(handle):
                checker.feed(chunk)
    return len(paths) == len(parts)


# -- the whole check -----------------------------------------------------------------------


def _party_line(party: dict[str, Any]) -> str:
    return f"{party['office_name']} (origin {party['origin'][:16]})"


CARD_KEYS = _words(
    "format version office_name role signing_public encryption_public age_recipient"
    " created signature"
)


def card_problem(card: object) -> str:
    """What is wrong with a decoded contact card (sync/cards.py), or "" when it holds."""
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        return "it is not a Valise contact card"
    if card.get("version") != CARD_VERSION or set(card) != CARD_KEYS:
        return "it is a contact card of a version this verifier does not read"
    texts = ("office_name", "role", "created", "age_recipient", "signature")
    if not (
        all(isinstance(card[k], str) and 0 < len(card[k]) <= 200 for k in texts)
        and is_hex(card["signing_public"], 64)
        and is_hex(card["encryption_public"], 64)
        and is_hex(card["signature"], 128)
        and card["role"] in PEER_ROLES
    ):
        return "it is a damaged contact card"
    signing = bytes.fromhex(card["signing_public"])
    unsigned = {k: v for k, v in card.items() if k != "signature"}
    message = CARD_DOMAIN + canonical_encode(unsigned)
    if not signature_holds(signing, bytes.fromhex(card["signature"]), message):
        return "its self-signature does not match its keys (damaged or altered)"
    if card["age_recipient"] != bech32_encode("age", bytes.fromhex(card["encryption_public"])):
        return "its age recipient does not match its encryption key"
    return ""


def endorsed_by(endorsement: dict[str, Any], sender: dict[str, Any]) -> str:
    """The old signing key (hex) that endorsed the sender's keys, or "" when none did."""
    if not endorsement:
        return ""
    old = bytes.fromhex(endorsement["old_signing_public"])
    new_keys = bytes.fromhex(sender["signing_public"] + sender["encryption_public"])
    holds = origin_of(old) == endorsement["old_origin"] and signature_holds(
        old, bytes.fromhex(endorsement["signature"]), ENDORSEMENT_DOMAIN + new_keys
    )
    return endorsement["old_signing_public"] if holds else ""


def check_card(
    report: Report, path: Path, sender: dict[str, Any], endorsement: dict[str, Any]
) -> None:
    """Compare the sender's keys with a contact card (sync/cards.py)."""
    with path.open("rb") as handle:
        data = handle.read(MAX_CARD_BYTES + 1)
    try:
        if len(data) > MAX_CARD_BYTES:
            raise ValueError("it is too large")
        card = canonical_decode(data.rstrip(b"\n"))
    except ValueError as exc:
        report.fail(f"{path.name} is not a Valise contact card ({exc}).")
        return
    problem = card_problem(card)
    if problem:
        report.fail(f"{path.name}: {problem}.")
        return
    signing, encryption = card["signing_public"], card["encryption_public"]
    shown = fingerprint(bytes.fromhex(signing), bytes.fromhex(encryption))
    report.say(f"Card: {card['office_name']} ({card['role']}), fingerprint {shown}")
    if (signing, encryption) == (sender["signing_public"], sender["encryption_public"]):
        report.say("Card: the bundle's sender keys are the keys on the card.")
    elif endorsed_by(endorsement, sender) == signing:
        report.say(
            "Card: the sender replaced the card's keys; the card's key endorsed the new ones."
        )
    else:
        report.fail(f"the bundle's sender keys are not the keys on {path.name}.")


def check_head(
    report: Report, manifest: dict[str, Any], manifest_bytes: bytes, signature: bytes
) -> None:
    """Sender key, manifest signature, endorsement and introductions."""
    sender = manifest["sender"]
    signing = bytes.fromhex(sender["signing_public"])
    encryption = bytes.fromhex(sender["encryption_public"])
    report.say(f"Bundle {manifest['bundle_id']}, written {manifest['created']}")
    report.say(f"Sender: {_party_line(sender)}")
    report.say(f"  fingerprint {fingerprint(signing, encryption)} (compare with the sender's card)")
    names = ", ".join(_party_line(r) for r in manifest["recipients"])
    report.say(f"Recipients: {names}; and the sender's own key")
    if origin_of(signing) != sender["origin"]:
        report.fail("the sender's origin is not the SHA-256 of its signing key.")
    if signature_holds(signing, signature, MANIFEST_DOMAIN + manifest_bytes):
        report.say("Manifest signature: verified with the sender's key.")
    else:
        report.fail(
            "the manifest's signature does not verify with the sender key it names: the head"
            " was altered or signed by another key."
        )
    endorsement = manifest["endorsement"]
    if endorsement:
        if endorsed_by(endorsement, sender):
            report.say(
                "Key rotation: the sender's keys are endorsed by its old key"
                f" {endorsement['old_origin'][:16]}."
            )
        else:
            report.fail("the sender's key endorsement (after a key rotation) does not verify.")
    for intro in manifest["introductions"]:
        if origin_of(bytes.fromhex(intro["signing_public"])) != intro["origin"]:
            report.fail(
                f"the manifest introduces origin {intro['origin'][:16]} with a key that is not"
                " its own."
            )


def check_opener(
    report: Report, manifest: dict[str, Any], publics: list[bytes], identity: Path
) -> None:
    """The key that opened the bundle must be a named recipient's (or the sender's)."""
    if not publics:
        report.say(
            f"Opened with {identity.name}; its public key could not be read, so the recipient"
            " check was skipped."
        )
        return
    named = {bytes.fromhex(r["encryption_public"]): r for r in manifest["recipients"]}
    for public in publics:
        if public in named:
            report.say(f"Opened with the key of {named[public]['office_name']}, a named recipient.")
            return
        if public.hex() == manifest["sender"]["encryption_public"]:
            report.say("Opened with the sender's own key.")
            return
    report.fail(
        f"the key in {identity.name} opened the bundle but belongs to none of the recipients the"
        " sender signed for: someone re-encrypted it to a third party."
    )


def verify(args: argparse.Namespace, report: Report) -> None:
    """Everything, reporting as it goes; Unreadable stops it with a sentence."""
    age = ""
    publics: list[bytes] = []
    if args.identity is not None:
        age = shutil.which("age") or ""
        if not age:
            raise UsageError("The age tool is not installed (Debian: apt install age).")
        publics = identity_publics(args.identity)
        if not publics and not _is_encrypted_identity(args.identity):
            raise UsageError(
                f"{args.identity} holds no age identity (a line AGE-SECRET-KEY-1...);"
                " `valise identity age-key --out FILE` writes one."
            )
        plain = decrypt_head(age, args.identity, args.head)
    else:
        plain = read_plain_head(args.head)
    manifest_bytes, signature = split_head(plain)
    try:
        doc = canonical_decode(manifest_bytes)
    except ValueError as exc:
        raise Unreadable(f"The bundle's manifest is not canonical JSON ({exc}).") from None
    manifest = check_manifest(doc)
    check_head(report, manifest, manifest_bytes, signature)
    if args.identity is not None:
        check_opener(report, manifest, publics, args.identity)
    if args.card is not None:
        check_card(report, args.card, manifest["sender"], manifest["endorsement"])
    keys = {
        intro["origin"]: bytes.fromhex(intro["signing_public"])
        for intro in manifest["introductions"]
    }
    keys[manifest["sender"]["origin"]] = bytes.fromhex(manifest["sender"]["signing_public"])
    parts = manifest["parts"]
    total = sum(int(part["size"]) for part in parts)
    report.say(f"Parts: {len(parts)}, {total:,} bytes on the stick")
    checker = PayloadChecker(report, keys)
    try:
        if args.identity is not None:
            folder = args.head.parent
            whole = walk_encrypted_parts(report, checker, age, args.identity, folder, parts)
        else:
            whole = walk_plain_parts(report, checker, args.parts, parts)
        if whole:
            checker.finish()
    except Unreadable as exc:
        report.fail(f"{exc} The rest of the payload is unchecked.")
        whole = False
    if whole:
        compare_payload(report, checker, manifest["payload"])
    check_chains(report, checker.seen)
    summarize(report, checker, manifest)


def compare_payload(report: Report, checker: PayloadChecker, payload: dict[str, Any]) -> None:
    """The payload as read against the payload the manifest signs."""
    if checker.size != payload["size"]:
        report.fail(
            f"the payload is {checker.size:,} bytes where the manifest says {payload['size']:,}."
        )
    if checker.digest.hexdigest() != payload["sha256"]:
        report.fail(
            "the payload's digest does not match the signed manifest (altered or mixed parts)."
        )
    else:
        report.say("Payload digest: matches the signed manifest.")
    for what, found, said in (
        ("changesets", checker.changesets, payload["changesets"]),
        ("evidence files", checker.blobs, payload["blobs"]),
        ("evidence bytes", checker.blob_bytes, payload["blob_bytes"]),
    ):
        if found != said:
            report.fail(f"the payload holds {found:,} {what} where the manifest says {said:,}.")


def summarize(report: Report, checker: PayloadChecker, manifest: dict[str, Any]) -> None:
    """Counts, evidence cross-references, and the receipts the bundle carries."""
    for sha, size in checker.carried.items():
        signed = checker.evidence_ops.get(sha)
        if isinstance(signed, int) and signed != size:
            report.fail(
                f"evidence {sha[:16]} is {size:,} bytes but its signed record says {signed:,}."
            )
    registered = sum(1 for sha in checker.carried if sha in checker.evidence_ops)
    origins = len({item.origin for item in checker.seen})
    if manifest["receipts"]:
        report.say(
            f"Receipts carried: {len(manifest['receipts'])} (answers to bundles the recipients"
            " sent)"
        )
    report.say(
        f"Verified: {checker.changesets_verified} of {checker.changesets} changesets (from"
        f" {origins} {'origin' if origins == 1 else 'origins'}),"
        f" {checker.blobs_verified} of {checker.blobs} evidence files"
        f" ({checker.blob_bytes:,} bytes; {registered} registered by a changeset in this bundle)."
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; argparse exits 2 on a usage error."""
    parser = argparse.ArgumentParser(
        prog="verify_bundle.py",
        description="Verify a Valise bundle (docs/bundle-format.md) without Valise.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--identity", type=Path, metavar="AGEKEY", help="age key file of a recipient"
    )
    source.add_argument(
        "--decrypted", action="store_true", help="HEAD and PARTs are already decrypted"
    )
    parser.add_argument("--card", type=Path, metavar="CARD", help="the sender's contact card")
    parser.add_argument("head", type=Path, metavar="HEAD")
    parser.add_argument("parts", type=Path, nargs="*", metavar="PART")
    args = parser.parse_args(argv)
    if args.identity is not None and args.parts:
        parser.error("with --identity give only the .head.age file; its parts are found beside it")
    for path in [args.head, *args.parts, *(p for p in (args.identity, args.card) if p)]:
        if not path.is_file():
            raise UsageError(f"There is no file at {path}.")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the check; 0 verified, 1 not verified, 2 used wrongly."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        print(f"verify_bundle: {exc}", file=sys.stderr)
        return 2
    report = Report(print)
    try:
        verify(args, report)
    except UsageError as exc:
        print(f"verify_bundle: {exc}", file=sys.stderr)
        return 2
    except Unreadable as exc:
        report.fail(str(exc))
    except OSError as exc:
        report.fail(f"reading {exc.filename or 'a file'} failed ({exc.strerror or exc}).")
    except Exception as exc:  # a bug here must still say the bundle is not verified
        report.fail(f"the check stopped on an unexpected error ({type(exc).__name__}: {exc}).")
    if report.failures:
        report.say(
            f"RESULT: NOT VERIFIED ({report.failures} problem{'s' * (report.failures > 1)} above)."
        )
        return 1
    report.say("RESULT: VERIFIED. Every signature, digest and evidence hash holds.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
