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
- a **user slot** (issue 13, one per named user; storage.users): Argon2id(passphrase) seals
  the user's own X25519 private key, and the database key is sealed to that user's public
  key (X25519 with an ephemeral key, HKDF-SHA256, AES-256-GCM). So a supervisor adds a user,
  and a rekey re-seals the new database key to every user, without anyone else's
  passphrase; only the passphrase opens the private key that opens the database key. The
  slot is found by a tag derived from the workspace id and the user's name (`user_tag`), so
  the file does not list the office's staff by name.
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
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from storage.atomic import atomic_write_bytes
from storage.errors import DamagedUserSlot, UserNeeded, WorkspaceFileError, WrongPassphrase
from storage.regular_files import NotARegularFile, open_regular

FORMAT = "valise-keyfile"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MAX_KEYFILE_BYTES = 65536  # version 1 files are about 400 bytes, a user slot about 600
MAX_SLOTS = 32
PASSPHRASE = "passphrase"  # noqa: S105 (a slot kind, not a secret)
RECOVERY = "recovery"
USER = "user"
USER_TAG_LABEL = b"valise user slot tag v1\n"
USER_KEY_LABEL = b"Valise user slot key v1"
SEALED_PRIVATE_BYTES = 48  # an X25519 private key and the GCM tag
RECOVERY_LABEL = b"Valise recovery slot key v1"
SEALED_KEY_BYTES = 48  # 32 bytes of key and the 16-byte GCM tag


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters; stored in the key file so they can grow over the years."""

    memory_kib: int = 393216
    iterations: int = 2
    lanes: int = 4

    def check(self) -> None:
        """Refuse parameters that are absurd (a damaged or hostile file): at most 4 GiB and
        64 passes, so a planted file cannot make an unlock exhaust the laptop."""
        if not (8 * self.lanes <= self.memory_kib <= 4 * 1024 * 1024):
            raise ValueError("memory out of range")
        if not (1 <= self.iterations <= 64 and 1 <= self.lanes <= 64):
            raise ValueError("iterations or lanes out of range")


# Issue 13: chosen for a laptop seized by a capable adversary, who guesses offline. RFC
# 9106's procedure: as much memory as the slowest laptop spares, then the passes that fill
# about a second. 384 MiB and 2 passes take about 1 s here (bench/kdf.py, a 2-core virtual
# machine); they cost a guess 6 times the memory of RFC 9106's second option (64 MiB, 3
# passes: Valise's standard until issue 13) and 4 times its memory-times-passes, and are far
# above OWASP's least (19 MiB, 2 passes). More memory rather than a third pass at 256 MiB:
# an attacker's cost grows with memory times time, i.e. with the square of the memory. 4
# lanes as RFC 9106 recommends: `cryptography` runs them one after the other, so they cost
# nothing here, and a threaded implementation would use them. storage.kdf_policy raises
# older slots to these costs and refuses slots below its floor.
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


@dataclass(frozen=True)
class UserSlot:
    """One named user's way in (see the module docstring). `tag` finds the slot from the
    name typed at unlock (`user_tag`); `generation` changes with every new passphrase.
    The first half (`kdf` to `public`) changes only with the passphrase; the second half
    (`ephemeral` to `sealed_key`) is rewritten by whoever holds the database key."""

    tag: str
    generation: str
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    sealed_private: bytes
    public: bytes
    ephemeral: bytes
    key_nonce: bytes
    sealed_key: bytes


Slot = PassphraseSlot | UserSlot | RecoverySlot


@dataclass(frozen=True)
class KeyFile:
    """The parsed key file: the workspace id and its slots, nothing secret in clear."""

    workspace_id: str
    slots: tuple[Slot, ...]

    @property
    def passphrase_slot(self) -> PassphraseSlot:
        """The one passphrase slot of a key file from before named users (check
        `legacy` first: a key file with user slots has none)."""
        return next(slot for slot in self.slots if isinstance(slot, PassphraseSlot))

    @property
    def legacy(self) -> bool:
        """True for a key file from before named users: one passphrase, no user slots."""
        return any(isinstance(slot, PassphraseSlot) for slot in self.slots)

    @property
    def user_slots(self) -> tuple[UserSlot, ...]:
        """The named users' slots, in the file's order."""
        return tuple(slot for slot in self.slots if isinstance(slot, UserSlot))

    def user_slot(self, tag: str) -> UserSlot | None:
        """The slot with `tag`, if the file holds one."""
        return next((slot for slot in self.user_slots if slot.tag == tag), None)

    def without_user(self, tag: str) -> KeyFile:
        """This key file without the user slot `tag` (removing the last one is refused)."""
        kept = tuple(s for s in self.slots if not (isinstance(s, UserSlot) and s.tag == tag))
        if not any(isinstance(s, UserSlot | PassphraseSlot) for s in kept):
            raise ValueError("the last way in by passphrase cannot be removed")
        return replace(self, slots=kept)

    @property
    def recovery_slots(self) -> tuple[RecoverySlot, ...]:
        """The slots paper shares open (at most one today; a list for later kinds)."""
        return tuple(slot for slot in self.slots if isinstance(slot, RecoverySlot))

    @property
    def generation(self) -> str:
        """An id of every passphrase wrapping in the file: it changes whenever a passphrase
        slot is added, removed or rewrapped (see PassphraseSlot)."""
        if self.legacy:
            return self.passphrase_slot.generation
        joined = "\n".join(sorted(f"{slot.tag}:{slot.generation}" for slot in self.user_slots))
        return hashlib.sha256(joined.encode()).hexdigest()[:16]

    @property
    def kdf(self) -> KdfParams:
        """The Argon2id parameters of the first passphrase or user slot (a new slot takes
        the costs of the file unless policy raises them)."""
        first = next(s for s in self.slots if isinstance(s, PassphraseSlot | UserSlot))
        return first.kdf

    def with_slot(self, slot: Slot) -> KeyFile:
        """This key file with `slot` in place of the slot it succeeds: for a user slot the
        one with its tag (or added) and a legacy passphrase slot; for a passphrase slot
        every passphrase and user slot (a legacy file); for a recovery slot the recovery
        slot."""

        def replaced(old: Slot) -> bool:
            if isinstance(slot, UserSlot):  # a legacy passphrase slot becomes a user's
                same_user = isinstance(old, UserSlot) and old.tag == slot.tag
                return same_user or isinstance(old, PassphraseSlot)
            if isinstance(slot, PassphraseSlot):
                return isinstance(old, PassphraseSlot | UserSlot)
            return isinstance(old, RecoverySlot)

        kept = tuple(s for s in self.slots if not replaced(s))
        if isinstance(slot, RecoverySlot):
            return replace(self, slots=(*kept, slot))
        ways_in = tuple(s for s in kept if not isinstance(s, RecoverySlot))
        rest = tuple(s for s in kept if isinstance(s, RecoverySlot))
        return replace(self, slots=(*ways_in, slot, *rest))

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


def _user_private_fields(slot: UserSlot) -> dict[str, Any]:
    """The fields bound to a user's sealed private key: the half a passphrase writes."""
    return {
        "kind": USER,
        "tag": slot.tag,
        "generation": slot.generation,
        "kdf": _kdf_document(slot.kdf),
        "salt": _b64(slot.salt),
        "nonce": _b64(slot.nonce),
        "public": _b64(slot.public),
    }


def _user_key_fields(slot: UserSlot) -> dict[str, Any]:
    """The fields bound to the database key sealed to a user: the half a key holder writes."""
    return {
        "kind": USER,
        "tag": slot.tag,
        "public": _b64(slot.public),
        "ephemeral": _b64(slot.ephemeral),
        "key_nonce": _b64(slot.key_nonce),
    }


def _slot_fields(slot: Slot) -> dict[str, Any]:
    """A slot's fields but the ciphertext: what its associated data binds."""
    if isinstance(slot, UserSlot):
        return {**_user_private_fields(slot), **_user_key_fields(slot)}
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
    document = {**_slot_fields(slot), "sealed_key": _b64(slot.sealed_key)}
    if isinstance(slot, UserSlot):
        document["sealed_private"] = _b64(slot.sealed_private)
    return document


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


def _user_header(workspace_id: str, fields: dict[str, Any]) -> bytes:
    """The associated data of either half of a user slot."""
    return _canonical({"format": FORMAT, "version": 2, "workspace_id": workspace_id, **fields})


def user_tag(workspace_id: str, name: str) -> str:
    """The tag of a user's slot: derived from the name as typed (casefolded, trimmed) and
    the workspace id, so the file does not list names and a tag means nothing elsewhere."""
    normal = " ".join(name.split()).casefold()
    digest = hashlib.sha256(USER_TAG_LABEL + workspace_id.encode() + b"\n" + normal.encode())
    return digest.hexdigest()[:24]


def _user_wrapping_key(shared: bytes, ephemeral: bytes, public: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=USER_KEY_LABEL + ephemeral + public
    ).derive(shared)


def _sealed_to_user(draft: UserSlot, database_key: bytes, workspace_id: str) -> UserSlot:
    """`draft` with the database key sealed afresh to its public key (a new ephemeral
    key and nonce): how a key holder writes the second half of any user's slot."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(draft.public))
    slot = replace(draft, ephemeral=ephemeral_public, key_nonce=os.urandom(12))
    key = _user_wrapping_key(shared, slot.ephemeral, slot.public)
    header = _user_header(workspace_id, _user_key_fields(slot))
    return replace(slot, sealed_key=AESGCM(key).encrypt(slot.key_nonce, database_key, header))


def user_slot(
    database_key: bytes, workspace_id: str, name: str, passphrase: bytes, kdf: KdfParams
) -> UserSlot:
    """A new slot for the user `name`: a fresh key pair whose private key only
    `passphrase` opens, and the database key sealed to it."""
    kdf.check()
    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    draft = UserSlot(
        tag=user_tag(workspace_id, name),
        generation=secrets.token_hex(8),
        kdf=kdf,
        salt=os.urandom(16),
        nonce=os.urandom(12),
        sealed_private=b"",
        public=public,
        ephemeral=b"",
        key_nonce=b"",
        sealed_key=b"",
    )
    wrapping_key = _derive(passphrase, draft.salt, kdf)
    header = _user_header(workspace_id, _user_private_fields(draft))
    sealed_private = AESGCM(wrapping_key).encrypt(draft.nonce, raw_private, header)
    return _sealed_to_user(
        replace(draft, sealed_private=sealed_private), database_key, workspace_id
    )


def resealed(keyfile: KeyFile, database_key: bytes) -> KeyFile:
    """The key file with `database_key` sealed to every user (after a rekey): no passphrase
    is needed. A legacy passphrase slot and a recovery slot cannot be rewritten without
    their secrets, so a legacy file is refused and the recovery slot is left out."""
    if keyfile.legacy:
        raise ValueError("a key file from before named users needs the passphrase")
    slots = tuple(
        _sealed_to_user(slot, database_key, keyfile.workspace_id) for slot in keyfile.user_slots
    )
    return replace(keyfile, slots=slots)


def _unseal_user(keyfile: KeyFile, slot: UserSlot, passphrase: bytes) -> bytes:
    wrapping_key = _derive(passphrase, slot.salt, slot.kdf)
    private_header = _user_header(keyfile.workspace_id, _user_private_fields(slot))
    try:
        raw_private = AESGCM(wrapping_key).decrypt(slot.nonce, slot.sealed_private, private_header)
    except InvalidTag:
        raise WrongPassphrase() from None
    private = X25519PrivateKey.from_private_bytes(raw_private)
    shared = private.exchange(X25519PublicKey.from_public_bytes(slot.ephemeral))
    key = _user_wrapping_key(shared, slot.ephemeral, slot.public)
    key_header = _user_header(keyfile.workspace_id, _user_key_fields(slot))
    try:
        return AESGCM(key).decrypt(slot.key_nonce, slot.sealed_key, key_header)
    except InvalidTag:  # the passphrase was right: the other half was tampered with
        raise DamagedUserSlot() from None


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


def seal_for_user(
    database_key: bytes,
    name: str,
    passphrase: bytes,
    workspace_id: str,
    kdf: KdfParams = STANDARD_KDF,
) -> KeyFile:
    """A new key file holding one user's slot (a new workspace's first user)."""
    slot = user_slot(database_key, workspace_id, name, passphrase, kdf)
    return KeyFile(workspace_id, (slot,))


def opening_slot(keyfile: KeyFile, user: str | None) -> UserSlot | PassphraseSlot | None:
    """The slot an unlock by `user` (a name, or None) tries: the legacy passphrase slot;
    the named user's; the only user's when none is named. None when the name has no slot
    (the caller says "wrong user or passphrase", as for a wrong passphrase). Raises
    UserNeeded when several users share the file and none is named."""
    if keyfile.legacy:
        return keyfile.passphrase_slot
    if user is None or not user.strip():
        if len(keyfile.user_slots) == 1:
            return keyfile.user_slots[0]
        raise UserNeeded()
    return keyfile.user_slot(user_tag(keyfile.workspace_id, user))


def unseal(keyfile: KeyFile, passphrase: bytes, user: str | None = None) -> bytes:
    """Return the database key, or raise WrongPassphrase when the tag does not verify (or
    the named user has no slot here: the two are not told apart)."""
    found = opening_slot(keyfile, user)
    named = not keyfile.legacy and user is not None and bool(user.strip())
    if found is None:
        _derive(passphrase, os.urandom(16), keyfile.kdf)  # the same wait as a wrong passphrase
        raise WrongPassphrase(named_user=True)
    if isinstance(found, UserSlot):
        try:
            return _unseal_user(keyfile, found, passphrase)
        except WrongPassphrase:
            raise WrongPassphrase(named_user=named) from None
    slot = found
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


def passphrase_unwrap(passphrase: bytes, user: str | None = None) -> Unwrap:
    """An Unwrap that opens `user`'s slot, or the only one (WrongPassphrase when not)."""
    return lambda sealed: unseal(sealed, passphrase, user)


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
    legacy = sum(isinstance(slot, PassphraseSlot) for slot in slots)
    users = [slot.tag for slot in slots if isinstance(slot, UserSlot)]
    if legacy + bool(users) != 1 or legacy > 1:
        raise bad("it must hold one passphrase slot or user slots, not both")
    if len(set(users)) != len(users):
        raise bad("two user slots have the same tag")
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
    if kind == USER:
        return _parse_user_slot(item, bad)
    raise bad(f"unknown slot kind {_shown(kind)}")


def _parse_kdf(kdf_doc: Any, bad: Callable[[str], WorkspaceFileError]) -> KdfParams:
    if kdf_doc["name"] != "argon2id":
        raise bad("unknown key derivation")
    numbers = [kdf_doc[name] for name in ("memory_kib", "iterations", "lanes")]
    if not all(type(number) is int for number in numbers):
        raise ValueError("a cost is not a whole number")
    kdf = KdfParams(*numbers)
    kdf.check()
    return kdf


def _parse_user_slot(item: dict[str, Any], bad: Callable[[str], WorkspaceFileError]) -> UserSlot:
    tag = _text(item["tag"])
    if len(tag) != 24 or any(c not in "0123456789abcdef" for c in tag):
        raise ValueError("not a user tag")
    return UserSlot(
        tag=tag,
        generation=_text(item["generation"]),
        kdf=_parse_kdf(item["kdf"], bad),
        salt=_b64_field(item["salt"], 16),
        nonce=_b64_field(item["nonce"], 12),
        sealed_private=_b64_field(item["sealed_private"], SEALED_PRIVATE_BYTES),
        public=_b64_field(item["public"], 32),
        ephemeral=_b64_field(item["ephemeral"], 32),
        key_nonce=_b64_field(item["key_nonce"], 12),
        sealed_key=_b64_field(item["sealed_key"], SEALED_KEY_BYTES),
    )


def _parse_passphrase_slot(
    item: dict[str, Any], bad: Callable[[str], WorkspaceFileError]
) -> PassphraseSlot:
    return PassphraseSlot(
        generation=_text(item["generation"]),
        kdf=_parse_kdf(item["kdf"], bad),
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
