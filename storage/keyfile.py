"""The key file: the database key, wrapped in one or more *slots*.

The database key is 32 random bytes. Each slot seals it with AES-256-GCM under a key of
its own, with the slot's fields (and the workspace id) bound to the ciphertext as
associated data, so no field can be changed or a slot moved to another workspace:

- a **passphrase slot**: the wrapping key is Argon2id(passphrase), its parameters and salt
  in the slot. A wrong passphrase fails the tag (told apart from a damaged file, which fails
  to parse), and a passphrase change rewraps 32 bytes instead of rewriting the database.
  Its associated data is exactly the header of a version 1 file (see `_passphrase_header`),
  so a version 1 wrapping carries into version 2 unchanged: adding a recovery slot to an
  old workspace needs neither the passphrase again nor a new Argon2id run.
- a **recovery slot** (storage.recovery): the wrapping key is HKDF-SHA256 of a random
  32-byte recovery secret, labelled for Valise recovery; the secret exists only split into
  paper shares, never on disk.

Version 1 (one passphrase wrapping, its fields at the top level) is still read, so an
existing workspace and its backups keep opening. Valise always writes version 2 (a list of
slots): one layout to write and test, and the later slots of issue 13 (one passphrase slot
per user) are more items in the same list. An older Valise refuses a version 2 file with a
sentence, as it refuses a database of a newer schema. Deleting the key file destroys access
unless a recovery slot's shares or an escrow (storage.recovery) survive elsewhere; the escrow
does not need the key file at all.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.atomic import atomic_write_bytes
from storage.errors import WorkspaceFileError, WrongPassphrase
from storage.regular_files import NotARegularFile, open_regular

FORMAT = "valise-keyfile"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_KEYFILE_BYTES = 16384  # version 1 files are about 400 bytes, a slot about 350
MAX_SLOTS = 32
PASSPHRASE = "passphrase"  # noqa: S105 (a slot kind, not a secret)
RECOVERY = "recovery"
RECOVERY_LABEL = b"Valise recovery slot key v1"
SEALED_KEY_BYTES = 48  # 32 bytes of key and the 16-byte GCM tag


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters; stored in the key file so they can grow over the years."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    def check(self) -> None:
        """Refuse parameters that are absurd (a damaged or hostile file)."""
        if not (8 * self.lanes <= self.memory_kib <= 4 * 1024 * 1024):
            raise ValueError("memory out of range")
        if not (1 <= self.iterations <= 64 and 1 <= self.lanes <= 64):
            raise ValueError("iterations or lanes out of range")


STANDARD_KDF = KdfParams()
# Only for tests and benchmarks that create many workspaces; never the default.
FAST_INSECURE_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)


@dataclass(frozen=True)
class PassphraseSlot:
    """The database key under Argon2id(passphrase). `generation` is a random id that
    changes with every new wrapping, so an unlock notices a passphrase changed behind
    Valise's back (workspace meta `key_generation`)."""

    generation: str
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    sealed_key: bytes


@dataclass(frozen=True)
class RecoverySlot:
    """The database key under HKDF(recovery secret): opened by K of N paper shares.
    `set_id` is printed on every share of the set, so a person can tell sets apart;
    `threshold` and `shares` say how many were made and are needed."""

    set_id: str
    threshold: int
    shares: int
    created_at: str
    nonce: bytes
    sealed_key: bytes


Slot = PassphraseSlot | RecoverySlot


@dataclass(frozen=True)
class KeyFile:
    """The parsed key file: the workspace id and its slots, nothing secret in clear."""

    workspace_id: str
    slots: tuple[Slot, ...]

    @property
    def passphrase_slot(self) -> PassphraseSlot:
        """The slot the passphrase opens (every key file has one)."""
        return next(slot for slot in self.slots if isinstance(slot, PassphraseSlot))

    @property
    def recovery_slots(self) -> tuple[RecoverySlot, ...]:
        """The slots paper shares open (at most one today; a list for later kinds)."""
        return tuple(slot for slot in self.slots if isinstance(slot, RecoverySlot))

    @property
    def generation(self) -> str:
        """The passphrase wrapping's id (see PassphraseSlot)."""
        return self.passphrase_slot.generation

    @property
    def kdf(self) -> KdfParams:
        """The Argon2id parameters of the passphrase slot."""
        return self.passphrase_slot.kdf

    def with_slot(self, slot: Slot) -> KeyFile:
        """This key file with `slot` in place of the slots of its kind (or added)."""
        kept = tuple(s for s in self.slots if type(s) is not type(slot))
        ordered = (slot, *kept) if isinstance(slot, PassphraseSlot) else (*kept, slot)
        return replace(self, slots=ordered)

    def to_bytes(self) -> bytes:
        """Serialize as JSON text (version 2): readable by a person years from now."""
        document = {
            "format": FORMAT,
            "version": VERSION,
            "workspace_id": self.workspace_id,
            "slots": [_slot_document(slot) for slot in self.slots],
        }
        return (json.dumps(document, sort_keys=True, indent=1) + "\n").encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _kdf_document(kdf: KdfParams) -> dict[str, Any]:
    return {
        "name": "argon2id",
        "memory_kib": kdf.memory_kib,
        "iterations": kdf.iterations,
        "lanes": kdf.lanes,
    }


def _slot_fields(slot: Slot) -> dict[str, Any]:
    """A slot's fields but the ciphertext: what its associated data binds."""
    if isinstance(slot, PassphraseSlot):
        return {
            "kind": PASSPHRASE,
            "generation": slot.generation,
            "kdf": _kdf_document(slot.kdf),
            "salt": _b64(slot.salt),
            "nonce": _b64(slot.nonce),
        }
    return {
        "kind": RECOVERY,
        "set_id": slot.set_id,
        "threshold": slot.threshold,
        "shares": slot.shares,
        "created_at": slot.created_at,
        "nonce": _b64(slot.nonce),
    }


def _slot_document(slot: Slot) -> dict[str, Any]:
    return {**_slot_fields(slot), "sealed_key": _b64(slot.sealed_key)}


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _passphrase_header(workspace_id: str, slot: PassphraseSlot) -> bytes:
    """The associated data of a passphrase slot: the version 1 header, byte for byte (its
    "version" is the slot's wrapping version, 1), so old wrappings stay valid in a list."""
    return _canonical(
        {
            "format": FORMAT,
            "version": 1,
            "workspace_id": workspace_id,
            "generation": slot.generation,
            "kdf": _kdf_document(slot.kdf),
            "salt": _b64(slot.salt),
            "nonce": _b64(slot.nonce),
        }
    )


def _recovery_header(workspace_id: str, slot: RecoverySlot) -> bytes:
    """The associated data of a recovery slot: the file's format and version, the
    workspace id and every field of the slot but the ciphertext."""
    fields = _slot_fields(slot)
    return _canonical(
        {"format": FORMAT, "version": 2, "workspace_id": workspace_id, "slot": fields}
    )


def _derive(passphrase: bytes, salt: bytes, kdf: KdfParams) -> bytes:
    return Argon2id(
        salt=salt,
        length=32,
        iterations=kdf.iterations,
        lanes=kdf.lanes,
        memory_cost=kdf.memory_kib,
    ).derive(passphrase)


def recovery_slot_key(recovery_secret: bytes) -> bytes:
    """The recovery slot's wrapping key: HKDF-SHA256 of the 32-byte secret, labelled so
    the same secret used anywhere else gives another key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=RECOVERY_LABEL).derive(
        recovery_secret
    )


def passphrase_slot(
    database_key: bytes, workspace_id: str, passphrase: bytes, kdf: KdfParams
) -> PassphraseSlot:
    """A new passphrase slot: fresh salt, nonce and generation."""
    kdf.check()
    draft = PassphraseSlot(secrets.token_hex(8), kdf, os.urandom(16), os.urandom(12), b"")
    wrapping_key = _derive(passphrase, draft.salt, kdf)
    header = _passphrase_header(workspace_id, draft)
    sealed = AESGCM(wrapping_key).encrypt(draft.nonce, database_key, header)
    return replace(draft, sealed_key=sealed)


def recovery_slot(
    database_key: bytes,
    workspace_id: str,
    recovery_secret: bytes,
    *,
    set_id: str,
    threshold: int,
    shares: int,
    created_at: str,
) -> RecoverySlot:
    """A new recovery slot for one set of shares of `recovery_secret`."""
    draft = RecoverySlot(set_id, threshold, shares, created_at, os.urandom(12), b"")
    header = _recovery_header(workspace_id, draft)
    key = recovery_slot_key(recovery_secret)
    return replace(draft, sealed_key=AESGCM(key).encrypt(draft.nonce, database_key, header))


def seal(
    database_key: bytes, passphrase: bytes, workspace_id: str, kdf: KdfParams = STANDARD_KDF
) -> KeyFile:
    """A new key file holding one passphrase slot."""
    return KeyFile(workspace_id, (passphrase_slot(database_key, workspace_id, passphrase, kdf),))


def unseal(keyfile: KeyFile, passphrase: bytes) -> bytes:
    """Return the database key, or raise WrongPassphrase when the tag does not verify."""
    slot = keyfile.passphrase_slot
    wrapping_key = _derive(passphrase, slot.salt, slot.kdf)
    header = _passphrase_header(keyfile.workspace_id, slot)
    try:
        return AESGCM(wrapping_key).decrypt(slot.nonce, slot.sealed_key, header)
    except InvalidTag:
        raise WrongPassphrase() from None


def unseal_recovery(keyfile: KeyFile, recovery_secret: bytes) -> bytes | None:
    """The database key from the recovery slot `recovery_secret` opens, or None when no
    recovery slot of this key file opens with it."""
    key = recovery_slot_key(recovery_secret)
    for slot in keyfile.recovery_slots:
        try:
            header = _recovery_header(keyfile.workspace_id, slot)
            return AESGCM(key).decrypt(slot.nonce, slot.sealed_key, header)
        except InvalidTag:
            continue
    return None


Unwrap = Callable[[KeyFile], bytes]
"""How a caller gets the database key out of a key file (a passphrase, shares, escrow)."""


def passphrase_unwrap(passphrase: bytes) -> Unwrap:
    """An Unwrap that opens the passphrase slot (WrongPassphrase when it does not)."""
    return lambda sealed: unseal(sealed, passphrase)


def parse(data: bytes, path: Path) -> KeyFile:
    """Parse key file bytes strictly; any flaw is reported as a damaged file naming `path`."""

    def bad(why: str) -> WorkspaceFileError:
        return WorkspaceFileError(path, f"The key file is damaged or not a Valise key file: {why}")

    if not data:
        raise bad("it is empty")
    if len(data) > MAX_KEYFILE_BYTES:
        raise bad("it is too large")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad("it is not readable (truncated or overwritten?)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise bad("it is not a Valise key file")
    version = document.get("version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise bad(f"unknown key file version {_shown(version)}")
    try:
        workspace_id = _text(document["workspace_id"])
        if version == 1:
            slots: list[Slot] = [_parse_passphrase_slot(document, bad)]
        else:
            listed = document["slots"]
            if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_SLOTS:
                raise bad(f"it must list 1 to {MAX_SLOTS} slots")
            slots = [_parse_slot(item, bad) for item in listed]
    except WorkspaceFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError):
        raise bad("a field is missing or malformed") from None
    if sum(isinstance(slot, PassphraseSlot) for slot in slots) != 1:
        raise bad("it must hold exactly one passphrase slot")
    if sum(isinstance(slot, RecoverySlot) for slot in slots) > 1:
        raise bad("it holds more than one recovery slot")
    return KeyFile(workspace_id, tuple(slots))


def _shown(value: object) -> str:
    """A value from a hostile file, short and printable, for a message."""
    return ascii(value)[:40]


def _text(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 100 or not value.isprintable():
        raise ValueError("not a short text")
    return value


def _b64_field(value: object, length: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not base64 text")
    data = base64.b64decode(value, validate=True)
    if len(data) != length:
        raise ValueError("wrong length")
    return data


def _parse_slot(item: object, bad: Callable[[str], WorkspaceFileError]) -> Slot:
    if not isinstance(item, dict):
        raise bad("a slot is not a set of fields")
    kind = item.get("kind")
    if kind == PASSPHRASE:
        return _parse_passphrase_slot(item, bad)
    if kind == RECOVERY:
        return _parse_recovery_slot(item)
    raise bad(f"unknown slot kind {_shown(kind)}")


def _parse_passphrase_slot(
    item: dict[str, Any], bad: Callable[[str], WorkspaceFileError]
) -> PassphraseSlot:
    kdf_doc = item["kdf"]
    if kdf_doc["name"] != "argon2id":
        raise bad("unknown key derivation")
    numbers = [kdf_doc[name] for name in ("memory_kib", "iterations", "lanes")]
    if not all(type(number) is int for number in numbers):
        raise ValueError("a cost is not a whole number")
    kdf = KdfParams(*numbers)
    kdf.check()
    return PassphraseSlot(
        generation=_text(item["generation"]),
        kdf=kdf,
        salt=_b64_field(item["salt"], 16),
        nonce=_b64_field(item["nonce"], 12),
        sealed_key=_b64_field(item["sealed_key"], SEALED_KEY_BYTES),
    )


def _parse_recovery_slot(item: dict[str, Any]) -> RecoverySlot:
    threshold, shares = item["threshold"], item["shares"]
    if type(threshold) is not int or type(shares) is not int or not 2 <= threshold <= shares <= 16:
        raise ValueError("threshold or share count out of range")
    return RecoverySlot(
        set_id=_text(item["set_id"]),
        threshold=threshold,
        shares=shares,
        created_at=_text(item["created_at"]),
        nonce=_b64_field(item["nonce"], 12),
        sealed_key=_b64_field(item["sealed_key"], SEALED_KEY_BYTES),
    )


def read(path: Path) -> KeyFile:
    """Read and parse the key file at `path`."""
    try:  # never a link or a pipe (a planted pipe would hang the unlock)
        with open_regular(path) as handle:
            data = handle.read(MAX_KEYFILE_BYTES + 1)
    except FileNotFoundError:
        raise WorkspaceFileError(path, "The key file is missing") from None
    except NotARegularFile as exc:
        raise WorkspaceFileError(path, f"The key file is {exc.kind}, not a file") from None
    except PermissionError:
        raise WorkspaceFileError(path, "The key file cannot be read (permission denied)") from None
    return parse(data, path)


def write(path: Path, keyfile: KeyFile) -> None:
    """Replace the key file atomically: a crash leaves the old or the new one, whole."""
    atomic_write_bytes(path, keyfile.to_bytes())
